//! The built frontend: SPA fallback, cache headers, compression, and nothing outside `dist`.

use std::path::Path;

use crate::support::{client, closed_url, Gateway};

const INDEX: &str =
    "<!doctype html><title>ferrocast</title><script src=\"/assets/app-abc123.js\"></script>";
const SECRET: &str = "TOP-SECRET-OUTSIDE-DIST";

/// A dist folder like Vite's, and a secret file beside it that must never be served.
struct Site {
    _parent: tempfile::TempDir,
    dist: std::path::PathBuf,
}

fn site() -> Site {
    let parent = tempfile::tempdir().expect("tempdir");
    let dist = parent.path().join("dist");
    let write = |path: &str, contents: &[u8]| {
        let full = dist.join(path);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        std::fs::write(full, contents).expect("write");
    };
    write("index.html", INDEX.as_bytes());
    write(
        "assets/app-abc123.js",
        "console.log('ferrocast');\n".repeat(100).as_bytes(),
    );
    write(
        "assets/pre-1.css",
        "body { color: black; }\n".repeat(50).as_bytes(),
    );
    write("assets/pre-1.css.gz", b"PRECOMPRESSED-GZIP");
    write(
        "favicon.svg",
        b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
    );
    write(".env", SECRET.as_bytes());
    std::fs::write(parent.path().join("secret.txt"), SECRET).expect("secret");
    symlink(&parent.path().join("secret.txt"), &dist.join("leak.txt"));
    symlink(parent.path(), &dist.join("assets/escape"));
    Site {
        _parent: parent,
        dist,
    }
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) {
    std::os::unix::fs::symlink(target, link).expect("symlink");
}

async fn gateway(site: &Site) -> Gateway {
    Gateway::with(&closed_url(), &closed_url(), &site.dist).await
}

#[tokio::test]
async fn browser_routes_get_index_html_revalidated_every_time() {
    let site = site();
    let gateway = gateway(&site).await;
    for path in [
        "/",
        "/login",
        "/signup",
        "/dashboard",
        "/watch/alice",
        "/index.html",
    ] {
        let response = client().get(gateway.at(path)).send().await.expect("send");
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["cache-control"], "no-cache", "{path}");
        assert!(response.headers()["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("text/html")));
        assert_eq!(response.text().await.expect("text"), INDEX, "{path}");
    }
}

#[tokio::test]
async fn hashed_assets_are_immutable_and_missing_files_are_404_not_html() {
    let site = site();
    let gateway = gateway(&site).await;
    let asset = client()
        .get(gateway.at("/assets/app-abc123.js"))
        .send()
        .await
        .expect("send");
    assert_eq!(asset.status(), 200);
    assert_eq!(
        asset.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(asset.headers()["content-type"]
        .to_str()
        .is_ok_and(|t| t.contains("javascript")));

    let favicon = client()
        .get(gateway.at("/favicon.svg"))
        .send()
        .await
        .expect("send");
    assert_eq!(favicon.status(), 200);
    assert_eq!(favicon.headers()["cache-control"], "no-cache");

    for path in ["/assets/missing-999.js", "/missing.png", "/assets/chunks"] {
        let response = client().get(gateway.at(path)).send().await.expect("send");
        assert_eq!(response.status(), 404, "{path}");
        let body = response.text().await.expect("text");
        assert!(
            !body.contains("<title>ferrocast"),
            "{path} answered with the SPA"
        );
    }
}

#[tokio::test]
async fn assets_are_compressed_on_the_fly_or_served_precompressed() {
    let site = site();
    let gateway = gateway(&site).await;
    let brotli = client()
        .get(gateway.at("/assets/app-abc123.js"))
        .header("accept-encoding", "br")
        .send()
        .await
        .expect("send");
    assert_eq!(brotli.headers()["content-encoding"], "br");
    assert_eq!(
        brotli.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let compressed = brotli.bytes().await.expect("bytes");
    assert!(
        compressed.len() < 2600 / 4,
        "compressed to {} bytes",
        compressed.len()
    );

    let gzip = client()
        .get(gateway.at("/assets/pre-1.css"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("send");
    assert_eq!(gzip.headers()["content-encoding"], "gzip");
    assert_eq!(
        gzip.text().await.expect("body"),
        "PRECOMPRESSED-GZIP",
        "the .gz sibling is served as is"
    );

    let identity = client()
        .get(gateway.at("/assets/pre-1.css"))
        .send()
        .await
        .expect("send");
    assert!(identity.headers().get("content-encoding").is_none());
    assert!(identity.text().await.expect("body").starts_with("body {"));
}

#[tokio::test]
async fn traversal_and_odd_static_paths_never_serve_a_file_outside_dist() {
    let site = site();
    let gateway = gateway(&site).await;
    for path in [
        "/../secret.txt",
        "/assets/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/assets/%2e%2e/%2e%2e/secret.txt",
        "/assets/..%2f..%2fsecret.txt",
        "/..\\secret.txt",
        "/leak.txt",
        "/assets/escape/secret.txt",
        "/.env",
        "/assets/%00.js",
        "//etc/passwd",
    ] {
        let (status, text) = gateway.raw_get(path).await;
        assert!(
            status == 400 || status == 404,
            "{path} answered {status}: {text}"
        );
        assert!(
            !text.contains(SECRET) && !text.contains("root:"),
            "{path} leaked: {text}"
        );
    }
    // An extensionless path is a browser route: the SPA, never the file of that name.
    let (status, text) = gateway.raw_get("/etc/passwd").await;
    assert_eq!(status, 200);
    assert!(
        text.contains("<title>ferrocast") && !text.contains("root:"),
        "{text}"
    );

    let post = client()
        .post(gateway.at("/login"))
        .send()
        .await
        .expect("send");
    assert_eq!(post.status(), 405);
}

//! The drop-in case: Debian's nginx with the RTMP module, configured from
//! `deploy/nginx-rtmp/nginx.conf.template`, drives rooms through its callbacks while ffmpeg
//! publishes. HLS output must be named by the username, never by the key.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use ferrocast_testkit::{
    eventually, free_port,
    platform::rooms::{config, Rooms},
    publisher, workspace_root,
};
use tokio::{net::TcpStream, process::Child};

use crate::start_users;

const NGINX: &str = "/usr/sbin/nginx";
const RTMP_MODULE: &str = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

/// One nginx-rtmp process in a temporary prefix, stopped (SIGKILL, single process) on drop.
struct NginxRtmp {
    dir: tempfile::TempDir,
    rtmp_port: u16,
    http_port: u16,
    _process: Child,
}

impl NginxRtmp {
    async fn start(callback_url: &str, rtmp_port: u16, http_port: u16) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let prefix = dir.path();
        for sub in ["hls", "tmp"] {
            std::fs::create_dir_all(prefix.join(sub)).expect("dirs");
        }
        let template =
            std::fs::read_to_string(workspace_root().join("deploy/nginx-rtmp/nginx.conf.template"))
                .expect("the deploy template");
        let values = [
            ("MODULE_PATH", RTMP_MODULE.to_owned()),
            // Tests run as root; HLS is written by the (only) nginx process.
            ("USER", "root".to_owned()),
            ("MASTER_PROCESS", "off".to_owned()),
            ("PREFIX", prefix.display().to_string()),
            ("RTMP_LISTEN", format!("127.0.0.1:{rtmp_port}")),
            ("HTTP_LISTEN", format!("127.0.0.1:{http_port}")),
            ("HLS_DIR", prefix.join("hls").display().to_string()),
            ("CALLBACK_URL", callback_url.to_owned()),
            ("UPDATE_INTERVAL", "1s".to_owned()),
        ];
        let mut config = template;
        for (name, value) in values {
            config = config.replace(&format!("{{{{{name}}}}}"), &value);
        }
        assert!(!config.contains("{{"), "every placeholder is filled");
        let config_path = prefix.join("nginx.conf");
        std::fs::write(&config_path, config).expect("write config");

        let process = tokio::process::Command::new(NGINX)
            .arg("-p")
            .arg(prefix)
            .arg("-e")
            .arg(prefix.join("error.log"))
            .arg("-c")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("nginx starts");
        let listening = eventually(Duration::from_secs(10), || async move {
            TcpStream::connect(("127.0.0.1", rtmp_port)).await.is_ok()
        })
        .await;
        let nginx = Self {
            dir,
            rtmp_port,
            http_port,
            _process: process,
        };
        assert!(
            listening,
            "nginx listens; error log:\n{}",
            nginx.error_log()
        );
        nginx
    }

    fn hls_dir(&self) -> PathBuf {
        self.dir.path().join("hls")
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    /// ffmpeg publishing the test kit's test pattern to `live/<key>`.
    fn publish(&self, key: &str) -> Child {
        publisher::publish(&format!("rtmp://127.0.0.1:{}/live/{key}", self.rtmp_port))
    }
}

/// Every path below `dir`, relative to it.
fn entries(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).into_iter().flatten().flatten() {
            let path = entry.path();
            found.push(path.strip_prefix(dir).unwrap().display().to_string());
            if path.is_dir() {
                pending.push(path);
            }
        }
    }
    found
}

#[tokio::test]
async fn stock_nginx_rtmp_drives_rooms_and_names_hls_by_username() {
    let users = start_users().await;
    let rtmp_port = free_port();
    let http_port = free_port();
    let mut config = config(&users);
    config.nginx.hls_app = Some("hls".into());
    config.nginx.push_url = format!("rtmp://127.0.0.1:{rtmp_port}");
    config.origins.default_origin = Some(format!("http://127.0.0.1:{http_port}"));
    config.leases.lease = std::time::Duration::from_secs(3);
    let rooms = Rooms::start(config).await;
    let nginx = NginxRtmp::start(&rooms.url("/callbacks/rtmp"), rtmp_port, http_port).await;
    let alice = users.streamer().await;

    // A bad key: ffmpeg's publish fails and no room appears.
    let mut refused = nginx.publish("live_this_key_does_not_exist_0000");
    let exit = tokio::time::timeout(Duration::from_secs(15), refused.wait())
        .await
        .expect("ffmpeg gives up on a refused publish")
        .unwrap();
    assert!(!exit.success(), "publish with a bad key must fail");
    assert!(rooms.live().await.is_empty());

    // The good key: the room appears under the username.
    let mut ffmpeg = nginx.publish(&alice.key);
    assert!(
        eventually(Duration::from_secs(15), || async {
            rooms.is_live(&alice.username).await
        })
        .await,
        "room appears; nginx error log:\n{}",
        nginx.error_log()
    );
    let room = rooms.internal(&alice.username).await.expect("live");
    assert_eq!(room["origin"], format!("http://127.0.0.1:{http_port}"));

    // HLS is written under the username only.
    let playlist = nginx.hls_dir().join(&alice.username).join("index.m3u8");
    assert!(
        eventually(Duration::from_secs(20), || {
            let playlist = playlist.clone();
            async move { playlist.exists() }
        })
        .await,
        "HLS playlist under the username; entries {:?}; error log:\n{}",
        entries(&nginx.hls_dir()),
        nginx.error_log()
    );
    let found = entries(&nginx.hls_dir());
    assert!(
        found.iter().all(|e| !e.contains(&alice.key)),
        "key in HLS paths: {found:?}"
    );
    let top: Vec<&String> = found.iter().filter(|e| !e.contains('/')).collect();
    assert_eq!(
        top,
        vec![&alice.username],
        "only the username's folder: {found:?}"
    );

    // The origin serves it at the URL rooms advertises.
    let master = reqwest::get(format!(
        "http://127.0.0.1:{}/hls/{}/master.m3u8",
        nginx.http_port, alice.username
    ))
    .await
    .unwrap();
    assert_eq!(master.status(), 200);
    assert!(master.text().await.unwrap().starts_with("#EXTM3U"));

    // nginx's on_update keeps the room past its 3 s lease.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        rooms.is_live(&alice.username).await,
        "updates renew the lease"
    );

    // Stopping the publisher ends the room (on_publish_done).
    ffmpeg.kill().await.unwrap();
    assert!(
        eventually(Duration::from_secs(3), || async {
            !rooms.is_live(&alice.username).await
        })
        .await,
        "room ends with the stream"
    );
    assert!(
        !nginx.error_log().contains(&alice.key),
        "key in nginx's error log"
    );
}

//! Search: ranked words with prefixes and typos forgiven, tag filters, owners, newest-first
//! pages, hostile query text, the tag list, and searches that cannot starve uploads.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::{mp4_bytes, World};

fn titles(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["title"].as_str().expect("title").to_owned())
        .collect()
}

async fn search(world: &World, query: &str, token: Option<&str>) -> Value {
    let (status, page) = world
        .json(Method::GET, &format!("/api/media?{query}"), token, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{query}: {page}");
    page
}

#[tokio::test]
async fn words_prefixes_typos_tags_and_owners_find_the_right_items() {
    let world = World::start().await;
    let alice = world.account().await;
    let bob = world.account().await;
    world
        .upload(
            &alice.token,
            "Speedrun practice",
            &["games", "speedrun"],
            &mp4_bytes(3000, 1),
        )
        .await;
    let pasta = world
        .upload(
            &alice.token,
            "Cooking pasta at home",
            &["food"],
            &mp4_bytes(3000, 2),
        )
        .await;
    world
        .upload(
            &bob.token,
            "Streaming setup tour",
            &["obs", "games"],
            &mp4_bytes(3000, 3),
        )
        .await;
    // Created but never uploaded: nobody else finds it.
    world
        .create(
            &bob.token,
            crate::support::video("Speedrun secrets", &[], b"x"),
        )
        .await;

    assert_eq!(
        titles(&search(&world, "q=speedrun", None).await),
        ["Speedrun practice"]
    );
    assert_eq!(
        titles(&search(&world, "q=spee", None).await),
        ["Speedrun practice"],
        "prefix"
    );
    assert_eq!(
        titles(&search(&world, "q=paSTA%20cook", None).await),
        ["Cooking pasta at home"]
    );
    assert_eq!(
        titles(&search(&world, "q=streming", None).await),
        ["Streaming setup tour"],
        "typo"
    );
    assert_eq!(
        titles(&search(&world, "q=speedrun%20practis", None).await),
        ["Speedrun practice"],
        "one word right, one misspelt"
    );
    assert_eq!(
        titles(&search(&world, "q=streming&tags=food", None).await),
        Vec::<String>::new(),
        "a typo still honours the tag filter"
    );
    assert_eq!(
        titles(&search(&world, "q=xyzzyq", None).await),
        Vec::<String>::new(),
        "nothing similar"
    );
    assert_eq!(
        titles(&search(&world, "tags=games,nosuchtag", None).await),
        Vec::<String>::new(),
        "a tag on no item matches nothing"
    );
    // An edit's title words and tags are searched from then on.
    let (status, edited) = world
        .json(
            Method::PATCH,
            &format!("/api/media/{}", pasta["id"].as_str().expect("id")),
            Some(&alice.token),
            Some(
                serde_json::json!({"title": "Cooking lasagne at home", "tags": ["dinner", "food"]}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["tags"], serde_json::json!(["dinner", "food"]));
    assert_eq!(
        titles(&search(&world, "q=lasagna&tags=dinner", None).await),
        ["Cooking lasagne at home"],
        "typo of a word an edit brought"
    );
    let games: BTreeSet<String> = titles(&search(&world, "tags=Games", None).await)
        .into_iter()
        .collect();
    assert_eq!(
        games,
        ["Speedrun practice", "Streaming setup tour"]
            .map(String::from)
            .into()
    );
    assert_eq!(
        titles(&search(&world, "tags=games,obs", None).await),
        ["Streaming setup tour"]
    );
    assert_eq!(
        titles(&search(&world, &format!("owner={}", alice.username), None).await),
        ["Cooking lasagne at home", "Speedrun practice"],
        "newest first"
    );
    // Bob sees his own unfinished item when he lists his own.
    let own = titles(&search(&world, &format!("owner={}", bob.username), Some(&bob.token)).await);
    assert_eq!(own, ["Speedrun secrets", "Streaming setup tour"]);

    // Query syntax of SQL and tsquery is only text.
    for hostile in [
        "'",
        "%27%20OR%201%3D1--",
        "%26",
        "%7C",
        "!",
        ":*",
        "%5C",
        "a%26%7C!b:*",
        "%00",
    ] {
        let (status, page) = world
            .json(Method::GET, &format!("/api/media?q={hostile}"), None, None)
            .await;
        assert_eq!(status, StatusCode::OK, "{hostile}: {page}");
    }
    let (status, _) = world
        .json(
            Method::GET,
            &format!("/api/media?q={}", "a".repeat(201)),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Tags with counts of public items, by prefix.
    let (status, tags) = world
        .json(Method::GET, "/api/tags?prefix=G", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tags["tags"][0]["tag"], "games");
    assert_eq!(tags["tags"][0]["count"], 2);
    let (_, none) = world
        .json(Method::GET, "/api/tags?prefix=%25", None, None)
        .await;
    assert_eq!(
        none["tags"],
        serde_json::json!([]),
        "% is a character, not a wildcard"
    );
}

#[tokio::test]
async fn pages_follow_their_cursor_without_repeats_or_gaps() {
    let world = World::start().await;
    let owner = world.account().await;
    for n in 0..7 {
        world
            .upload(
                &owner.token,
                &format!("Episode {n}"),
                &["series"],
                &mp4_bytes(500, n),
            )
            .await;
    }
    for query in ["tags=series&limit=3", "q=episode&limit=3"] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("{query}&cursor={c}"),
                None => query.to_owned(),
            };
            let page = search(&world, &path, None).await;
            seen.extend(titles(&page));
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        let unique: BTreeSet<&String> = seen.iter().collect();
        assert_eq!((seen.len(), unique.len()), (7, 7), "{query}: {seen:?}");
    }
    let (status, _) = world
        .json(Method::GET, "/api/media?cursor=garbage", None, None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_searches_at_once_do_not_starve_an_upload() {
    let _heavy = ferrocast_testkit::heavy().await;
    let world = World::start_with(|config| {
        config.clients.max_connections_per_address = 10_000;
    })
    .await;
    let owner = world.account().await;
    world
        .upload(
            &owner.token,
            "Needle in the haystack",
            &["needle"],
            &mp4_bytes(800, 9),
        )
        .await;
    // Clients that speak HTTP/2 carry many searches on few connections, as a browser fleet
    // behind the gateway would. They run on a runtime of their own, as a real fleet runs on
    // other machines: on the services' runtime the flood would starve the services' own tasks
    // (the users service among them) instead of testing the catalogue's shedding.
    let url = world.catalog.url("/api/media?q=needle%20hay");
    let (sent, all_sent) = tokio::sync::oneshot::channel();
    let flood = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let clients: Vec<reqwest::Client> = (0..20)
                .map(|_| {
                    reqwest::Client::builder()
                        .http2_prior_knowledge()
                        .build()
                        .expect("client")
                })
                .collect();
            // Each connection is open and past its first request before the flood, as a
            // browser's is; a listener closes a connection whose first request is late.
            let warm = url.replace("/api/media?q=needle%20hay", "/api/tags");
            for client in &clients {
                client.get(&warm).send().await.expect("warm-up answered");
            }
            let searches: Vec<_> = (0..10_000)
                .map(|i| {
                    let request = clients[i % clients.len()].get(&url);
                    tokio::spawn(async move {
                        request
                            .send()
                            .await
                            .map(|r| r.status())
                            .map_err(|e| format!("{e:?}"))
                    })
                })
                .collect();
            let _ = sent.send(());
            let mut statuses = Vec::with_capacity(searches.len());
            for search in searches {
                statuses.push(search.await.expect("task"));
            }
            statuses
        })
    });
    // While they run, an upload goes through.
    all_sent.await.expect("the flood started");
    let item = world
        .upload(
            &owner.token,
            "Uploaded under load",
            &[],
            &mp4_bytes(4000, 10),
        )
        .await;
    assert_eq!(item["status"], "uploaded");
    let (mut ok, mut busy, mut lost) = (0, 0, Vec::new());
    for status in flood.join().expect("the flood ran") {
        match status {
            Ok(StatusCode::OK) => ok += 1,
            Ok(StatusCode::SERVICE_UNAVAILABLE) => busy += 1,
            Ok(other) => panic!("a search was answered {other}"),
            // The flood's own client (one thread, 10 000 requests, a loaded machine) may fail
            // to send a few; more than 1 % would mean the catalogue drops connections.
            Err(error) => lost.push(error),
        }
    }
    assert!(
        lost.len() < 100,
        "{} searches got no answer, e.g. {:?}",
        lost.len(),
        lost.first()
    );
    assert!(ok > 0, "searches are served: {ok} ok, {busy} busy");
    eprintln!(
        "10 000 searches: {ok} answered, {busy} shed with 503 busy, {} lost by the client; \
         the upload finalized",
        lost.len()
    );
}

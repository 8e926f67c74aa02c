//! D1 signups under load survive a store restart with unique constraints held; L7 the store
//! goes away and comes back: 503 during the outage, everything intact afterwards.
#![allow(clippy::unwrap_used)]

use std::{collections::HashSet, time::Duration};

use ferrocast_proto::client::{UsersAuth, UsersAuthConfig};
use ferrocast_testkit::http::Fetch;
use ferrocast_testkit::{eventually, unique_name};
use ferrocast_testkit::{
    heavy,
    platform::{PASSWORD, SERVICE_TOKEN},
    Options, Platform,
};
use futures::StreamExt;
use serde_json::{json, Value};
use tokio::time::Instant;

async fn signup(client: &reqwest::Client, platform: &Platform, name: &str, email: &str) -> u16 {
    client
        .post(platform.gateway_url("/api/users"))
        .json(&json!({ "username": name, "email": email, "password": PASSWORD }))
        .send()
        .await
        .map_or(0, |r| r.status().as_u16())
}

fn users_auth(platform: &Platform) -> UsersAuth {
    UsersAuth::connect_lazy(&UsersAuthConfig::new(
        format!("http://{}", platform.users_grpc),
        SERVICE_TOKEN,
    ))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn d1_a_thousand_signups_under_load_survive_a_store_restart_with_unique_names_and_emails() {
    let _heavy = heavy().await;
    let mut platform = Platform::start(Options {
        persistent_store: true,
        ..Options::without_ingest()
    })
    .await
    .unwrap();
    let client = ferrocast_testkit::http::client(Duration::from_secs(60));
    let run = unique_name("d");
    let names: Vec<String> = (0..1000).map(|i| format!("{run}_{i:04}")).collect();

    // Background load while signing up: room listings and wrong-password logins.
    let loading = tokio_util::sync::CancellationToken::new();
    let load = {
        let (client, loading) = (client.clone(), loading.clone());
        let rooms = platform.gateway_url("/api/rooms");
        let login = platform.gateway_url("/api/users/login");
        tokio::spawn(async move {
            let mut requests = 0u32;
            while !loading.is_cancelled() && requests < 20_000 {
                let _ = client.get(&rooms).send().await;
                if requests.is_multiple_of(10) {
                    let _ = client
                        .post(&login)
                        .json(&json!({ "login": "nobody_here", "password": "x".repeat(12) }))
                        .send()
                        .await;
                }
                requests += 1;
            }
            requests
        })
    };

    // Each signup races (every 10th) a second signup of the same name and (every 10th, others)
    // one of the same email: exactly one of each pair may win.
    let started = Instant::now();
    let outcomes: Vec<(usize, u16, Option<u16>)> = futures::stream::iter(names.iter().enumerate())
        .map(|(i, name)| {
            let client = client.clone();
            let platform = &platform;
            async move {
                let email = format!("{name}@example.com");
                let main = signup(&client, platform, name, &email);
                if i % 10 == 0 {
                    let rival = format!("rival_{name}@example.com");
                    let rival_name = signup(&client, platform, name, &rival);
                    let (a, b) = tokio::join!(main, rival_name);
                    (i, a, Some(b))
                } else if i % 10 == 5 {
                    let rival = format!("{name}_r");
                    let rival_email = signup(&client, platform, &rival, &email);
                    let (a, b) = tokio::join!(main, rival_email);
                    (i, a, Some(b))
                } else {
                    (i, main.await, None)
                }
            }
        })
        .buffer_unordered(50)
        .collect()
        .await;
    loading.cancel();
    let background = load.await.unwrap();
    eprintln!(
        "D1: 1000 signups (+200 racing duplicates) in {:?} next to {background} background requests",
        started.elapsed()
    );
    let mut winners: HashSet<String> = HashSet::new();
    for (i, a, b) in &outcomes {
        match b {
            None => {
                assert_eq!(*a, 201, "signup {i}");
                winners.insert(names[*i].clone());
            }
            Some(b) => {
                let mut pair = [*a, *b];
                pair.sort_unstable();
                assert_eq!(pair, [201, 409], "racing pair {i}: exactly one 201");
                if *i % 10 == 0 || *a == 201 {
                    winners.insert(names[*i].clone());
                } else {
                    winners.insert(format!("{}_r", names[*i]));
                }
            }
        }
    }
    assert_eq!(winners.len(), 1000);

    platform.store.restart().await.unwrap();
    let auth = users_auth(&platform);
    // The driver reconnects on its own; give it the store's start-up time.
    let probe = winners.iter().next().unwrap().clone();
    assert!(
        eventually(Duration::from_secs(30), || async {
            auth.get_user_by_name(&probe, None).await.is_ok()
        })
        .await,
        "users did not recover after the store restart"
    );
    let missing: Vec<String> = futures::stream::iter(winners.iter().cloned())
        .map(|name| {
            let auth = auth.clone();
            async move {
                match auth.get_user_by_name(&name, None).await {
                    Ok(user) if user.username == name => None,
                    _ => Some(name),
                }
            }
        })
        .buffer_unordered(20)
        .filter_map(|m| async move { m })
        .collect()
        .await;
    assert!(
        missing.is_empty(),
        "{} accounts lost: {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    // Constraints still hold after the restart (the unique indexes came back with the data).
    assert_eq!(
        signup(&client, &platform, &names[1], "fresh_email_1@example.com").await,
        409
    );
    assert_eq!(
        signup(
            &client,
            &platform,
            &unique_name("fresh"),
            &format!("{}@example.com", names[2])
        )
        .await,
        409
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn d1_fifty_parallel_signups_of_one_name_give_exactly_one_201() {
    let platform = Platform::start(Options::without_ingest()).await.unwrap();
    let client = ferrocast_testkit::http::client(Duration::from_secs(60));
    let name = unique_name("race_");
    let statuses = futures::future::join_all((0..50).map(|i| {
        let client = client.clone();
        let platform = &platform;
        let name = name.clone();
        async move { signup(&client, platform, &name, &format!("{name}_{i}@example.com")).await }
    }))
    .await;
    let created = statuses.iter().filter(|s| **s == 201).count();
    let conflicts = statuses.iter().filter(|s| **s == 409).count();
    assert_eq!((created, conflicts), (1, 49), "{statuses:?}");
    // The same email under fifty names: one account too.
    let email = format!("{}@example.com", unique_name("e"));
    let statuses = futures::future::join_all((0..50).map(|i| {
        let client = client.clone();
        let platform = &platform;
        let email = email.clone();
        async move {
            signup(
                &client,
                platform,
                &format!("{}_{i}", unique_name("m")),
                &email,
            )
            .await
        }
    }))
    .await;
    let created = statuses.iter().filter(|s| **s == 201).count();
    assert_eq!(created, 1, "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l7_store_outage_answers_503_quickly_and_recovers_with_data_intact() {
    let mut platform = Platform::start(Options {
        persistent_store: true,
        ..Options::without_ingest()
    })
    .await
    .unwrap();
    let streamer = platform.streamer().await;
    let client = &platform.http;
    let auth = users_auth(&platform);

    platform.store.stop().await.unwrap();
    let mut outage = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let response = client
            .post(platform.gateway_url("/api/users/login"))
            .json(&json!({ "login": streamer.username, "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        outage.push((status, body["error"]["code"].clone(), started.elapsed()));
    }
    let signup_during = client
        .post(platform.gateway_url("/api/users"))
        .json(&json!({ "username": unique_name("o_"), "email": format!("{}@example.com", unique_name("o")), "password": PASSWORD }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    let key_during = auth.authenticate_stream_key(&streamer.key, None).await;
    // Rooms does not need the store: listing keeps working.
    let rooms_during = client
        .fetch(&platform.gateway_url("/api/rooms"))
        .await
        .status()
        .as_u16();
    let readyz = client
        .fetch(&platform.users_url("/readyz"))
        .await
        .status()
        .as_u16();
    eprintln!("L7 outage: logins {outage:?}, signup {signup_during}, key auth ok: {}, rooms {rooms_during}, users /readyz {readyz}", key_during.is_ok());
    for (status, code, took) in &outage {
        assert_eq!(*status, 503, "login during the outage");
        assert_eq!(code, "unavailable");
        assert!(
            *took < Duration::from_secs(5),
            "a login took {took:?} to fail"
        );
    }
    assert_eq!(signup_during, 503);
    assert!(
        key_during.is_err(),
        "a stream key was vouched for without the store"
    );
    assert_eq!(rooms_during, 200);
    assert_eq!(
        readyz, 503,
        "users must report not ready while its store is down"
    );

    platform.store.restart().await.unwrap();
    let recovered = eventually(Duration::from_secs(30), || async {
        client
            .post(platform.gateway_url("/api/users/login"))
            .json(&json!({ "login": streamer.username, "password": PASSWORD }))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    assert!(
        recovered,
        "logins did not recover within 30 s of the store's return"
    );
    let user = auth
        .authenticate_stream_key(&streamer.key, None)
        .await
        .expect("the stream key survived");
    assert_eq!(user.username, streamer.username);
}

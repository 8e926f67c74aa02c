//! The kit's PostgreSQL, S3 and NATS dependencies work as the catalogue's and the worker's tests
//! rely on: every test gets a database of its own that takes queries, the object storage answers
//! requests signed the way the services sign them (aws-sdk-s3, SigV4, path-style), and a NATS
//! server or a SeaweedFS of a test's own comes back where it was after a kill.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use ferrocast_testkit::{nats::Nats, ObjectStorage, Postgres};
use sqlx::{Connection, PgConnection};

async fn current_database(url: &str) -> String {
    let mut connection = PgConnection::connect(url).await.unwrap();
    sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&mut connection)
        .await
        .unwrap()
}

#[tokio::test]
async fn each_postgres_is_a_fresh_database_that_takes_queries() {
    let first = Postgres::start().await.unwrap();
    let second = Postgres::start().await.unwrap();

    assert_ne!(first.database(), second.database());
    assert_ne!(first.url(), second.url());
    assert_eq!(current_database(first.url()).await, first.database());
    assert_eq!(current_database(second.url()).await, second.database());
}

#[tokio::test]
async fn a_dropped_postgres_takes_its_database_along() {
    let kept = Postgres::start().await.unwrap();
    let dropped = Postgres::start().await.unwrap();
    let name = dropped.database().to_owned();
    drop(dropped);

    let mut connection = PgConnection::connect(kept.url()).await.unwrap();
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn a_postgres_of_its_own_has_full_text_and_trigram_search() {
    let postgres = Postgres::start_own_server().await.unwrap();
    let mut connection = PgConnection::connect(postgres.url()).await.unwrap();

    sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        .execute(&mut connection)
        .await
        .unwrap();
    let (similar, matches): (f32, bool) = sqlx::query_as(
        "SELECT similarity('ferrocast', 'ferocast'), \
                to_tsvector('english', 'live streams') @@ to_tsquery('english', 'stream')",
    )
    .fetch_one(&mut connection)
    .await
    .unwrap();
    assert!(similar > 0.5, "trigram similarity {similar}");
    assert!(matches);
}

fn s3_client(storage: &ObjectStorage) -> aws_sdk_s3::Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(storage.region().to_owned()))
        .endpoint_url(storage.endpoint())
        .force_path_style(true)
        .credentials_provider(Credentials::new(
            storage.access_key(),
            storage.secret_key(),
            None,
            None,
            "test",
        ))
        .http_client(http)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

async fn bucket_round_trip(storage: &ObjectStorage) {
    let client = s3_client(storage);
    client.list_buckets().send().await.unwrap();

    let bucket = storage.fresh_bucket_name();
    assert_ne!(bucket, storage.fresh_bucket_name());
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let listed = client.list_buckets().send().await.unwrap();
    assert!(listed.buckets().iter().any(|b| b.name() == Some(&bucket)));
    client.delete_bucket().bucket(&bucket).send().await.unwrap();
}

#[tokio::test]
async fn object_storage_answers_signed_requests() {
    let storage = ObjectStorage::start().await.unwrap();
    bucket_round_trip(&storage).await;
}

#[tokio::test]
async fn object_storage_of_its_own_answers_signed_requests_and_refuses_wrong_keys() {
    let storage = ObjectStorage::start_own_server().await.unwrap();
    bucket_round_trip(&storage).await;

    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let impostor = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(storage.region().to_owned()))
            .endpoint_url(storage.endpoint())
            .force_path_style(true)
            .credentials_provider(Credentials::new(
                storage.access_key(),
                "not-the-secret",
                None,
                None,
                "test",
            ))
            .http_client(http)
            .build(),
    );
    assert!(impostor.list_buckets().send().await.is_err());
}

/// Every bucket is a collection of its own and takes volume slots when first written to: a
/// test run makes a few hundred. At one volume per collection 40 buckets fit in the 200 slots
/// of a server of a test's own (at SeaweedFS's default of seven, 28 would).
#[tokio::test]
async fn object_storage_takes_data_in_many_buckets() {
    let storage = ObjectStorage::start_own_server().await.unwrap();
    let client = s3_client(&storage);
    for n in 0..40 {
        let bucket = storage.fresh_bucket_name();
        client.create_bucket().bucket(&bucket).send().await.unwrap();
        let put = client
            .put_object()
            .bucket(&bucket)
            .key("object")
            .body(b"data".to_vec().into())
            .send()
            .await;
        assert!(put.is_ok(), "bucket {n}: {put:?}");
    }
}

#[tokio::test]
async fn a_killed_object_storage_restarts_on_the_same_port_with_its_objects() {
    let mut storage = ObjectStorage::start_own_server().await.unwrap();
    let endpoint = storage.endpoint().to_owned();
    let client = s3_client(&storage);
    let bucket = storage.fresh_bucket_name();
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    client
        .put_object()
        .bucket(&bucket)
        .key("kept")
        .body(b"still here".to_vec().into())
        .send()
        .await
        .unwrap();

    storage.kill().unwrap();
    let address = endpoint.strip_prefix("http://").unwrap();
    assert!(
        tokio::net::TcpStream::connect(address).await.is_err(),
        "{endpoint} still listens after the kill"
    );

    storage.restart().await.unwrap();
    assert_eq!(storage.endpoint(), endpoint);
    let kept = client
        .get_object()
        .bucket(&bucket)
        .key("kept")
        .send()
        .await
        .unwrap();
    assert_eq!(
        kept.body.collect().await.unwrap().into_bytes().as_ref(),
        b"still here"
    );
}

#[tokio::test]
async fn a_killed_nats_restarts_on_the_same_port_with_jetstream() {
    let mut nats = Nats::start().await.unwrap();
    let url = nats.url();
    let address = url.strip_prefix("nats://").unwrap().to_owned();
    assert!(nats.answers().await, "{url} greets with JetStream");

    nats.kill().await.unwrap();
    assert!(
        tokio::net::TcpStream::connect(&address).await.is_err(),
        "{url} still listens after the kill"
    );

    nats.restart().await.unwrap();
    assert_eq!(nats.url(), url);
    assert!(nats.answers().await, "{url} greets with JetStream again");
}

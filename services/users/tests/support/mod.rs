//! Shared setup of the users integration tests: a real document store, the service started
//! in-process on port 0, HTTP clients with their own cookie jars, and gRPC clients with or
//! without the service token.
#![allow(dead_code)]

use std::{net::SocketAddr, time::Duration};

use ferrocast_kit::config::TEST_SERVICE_TOKEN;
use ferrocast_proto::{
    client::{UsersAuth, UsersAuthConfig},
    users_v1::auth_client::AuthClient,
    SERVICE_TOKEN_HEADER,
};
use ferrocast_testkit::{unique_name, DocumentStore};
use ferrocast_users::{Config, Running};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use tonic::{
    service::{interceptor::InterceptedService, Interceptor},
    transport::{Channel, Endpoint},
    Request, Status,
};

pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub store: DocumentStore,
    pub http_addr: SocketAddr,
    pub grpc_addr: SocketAddr,
    /// A client with its own cookie jar (a "browser").
    pub client: reqwest::Client,
    shutdown: CancellationToken,
    running: Option<Running>,
}

/// A signed-up, logged-in user.
pub struct TestUser {
    pub username: String,
    pub email: String,
    pub password: String,
    pub id: String,
    pub token: String,
}

impl TestApp {
    /// Service on a throw-away store.
    pub async fn start() -> Self {
        Self::on(DocumentStore::start().await.expect("document store starts")).await
    }

    /// Service on `store` (e.g. a persistent one the test will restart).
    pub async fn on(store: DocumentStore) -> Self {
        Self::configured(store, |_| {}).await
    }

    /// Service on `store` with the test config changed by `adjust`.
    pub async fn configured(store: DocumentStore, adjust: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::for_tests(store.url(), store.database());
        adjust(&mut config);
        let shutdown = CancellationToken::new();
        let running = ferrocast_users::start(config, shutdown.clone())
            .await
            .expect("users service starts");
        Self {
            http_addr: running.http_addr,
            grpc_addr: running.grpc_addr,
            client: browser(),
            store,
            shutdown,
            running: Some(running),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http_addr)
    }

    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.grpc_addr)
    }

    pub async fn signup(&self, username: &str, email: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url("/api/users"))
            .json(&json!({ "username": username, "email": email, "password": password }))
            .send()
            .await
            .expect("signup request")
    }

    pub async fn login(
        &self,
        client: &reqwest::Client,
        login: &str,
        password: &str,
    ) -> reqwest::Response {
        client
            .post(self.url("/api/users/login"))
            .json(&json!({ "login": login, "password": password }))
            .send()
            .await
            .expect("login request")
    }

    /// Signs a fresh, unique user up and logs them in with a client of their own.
    pub async fn new_user(&self) -> TestUser {
        let username = unique_name("u_");
        let email = format!("{username}@example.com");
        let response = self.signup(&username, &email, PASSWORD).await;
        assert_eq!(
            response.status(),
            201,
            "{}",
            response.text().await.unwrap_or_default()
        );
        let id = response.json::<Value>().await.expect("user json")["id"]
            .as_str()
            .expect("id")
            .to_owned();
        // A client without a cookie store: the cookie_store crate debug-logs cookie values,
        // which would pollute the no-secrets-in-logs capture with the test's own logging.
        let response = self
            .login(&reqwest::Client::new(), &username, PASSWORD)
            .await;
        assert_eq!(response.status(), 200);
        let token = response.json::<Value>().await.expect("login json")["access_token"]
            .as_str()
            .expect("access token")
            .to_owned();
        TestUser {
            username,
            email,
            password: PASSWORD.to_owned(),
            id,
            token,
        }
    }

    pub async fn get_with_token(&self, path: &str, token: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// Creates or rotates the user's stream key and returns it in full.
    pub async fn rotate_stream_key(&self, user: &TestUser) -> String {
        let response = reqwest::Client::new()
            .post(self.url("/api/users/me/stream-key"))
            .bearer_auth(&user.token)
            .send()
            .await
            .expect("stream key request");
        assert_eq!(response.status(), 201);
        response.json::<Value>().await.expect("key json")["stream_key"]
            .as_str()
            .expect("stream_key")
            .to_owned()
    }

    /// The typed client other services use (service token, deadline).
    pub fn users_auth(&self) -> UsersAuth {
        UsersAuth::connect_lazy(&UsersAuthConfig::new(self.grpc_url(), TEST_SERVICE_TOKEN))
            .expect("users auth client")
    }

    /// A raw client presenting `token` (or nothing) as the service token.
    pub fn raw_grpc(
        &self,
        token: Option<&str>,
    ) -> AuthClient<InterceptedService<Channel, PresentToken>> {
        AuthClient::with_interceptor(self.channel(), PresentToken(token.map(str::to_owned)))
    }

    pub fn channel(&self) -> Channel {
        Endpoint::from_shared(self.grpc_url())
            .expect("grpc url")
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(5))
            .connect_lazy()
    }

    /// Stops the service and waits until both servers have closed.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(running) = self.running.take() {
            running.wait().await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// An HTTP client with its own cookie jar, like one browser.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .timeout(Duration::from_secs(15))
        .build()
        .expect("http client")
}

#[derive(Clone)]
pub struct PresentToken(Option<String>);

impl Interceptor for PresentToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(token) = &self.0 {
            request
                .metadata_mut()
                .insert(SERVICE_TOKEN_HEADER, token.parse().expect("ascii token"));
        }
        Ok(request)
    }
}

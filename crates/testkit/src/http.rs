//! HTTP for tests. [`Fetch`]: a `GET` through reqwest in one call, for the many checks that only
//! read an answer (`/metrics`, `/readyz`, a list). Raw HTTP/1.1 over TCP ([`raw_get`],
//! [`exchange`]), for request targets a client library would normalise or refuse (`..`,
//! `%2e%2e`, NUL, 10 kB segments): the server must see exactly what an attacker sends.

use std::{future::Future, net::SocketAddr, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// A plain client whose every request gives up after `timeout`.
pub fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .expect("http client")
}

/// `GET url` with a reqwest client in one call: the answer, its status, its body as text or as
/// JSON. A request that gets no answer at all panics, naming the URL (a test's failure report).
pub trait Fetch {
    fn fetch(&self, url: &str) -> impl Future<Output = reqwest::Response> + Send;

    fn fetch_status(&self, url: &str) -> impl Future<Output = reqwest::StatusCode> + Send;

    fn fetch_text(&self, url: &str) -> impl Future<Output = String> + Send;

    /// The body as JSON (with the service features, which bring `serde_json`).
    #[cfg(feature = "users")]
    fn fetch_json(&self, url: &str) -> impl Future<Output = serde_json::Value> + Send;
}

impl Fetch for reqwest::Client {
    async fn fetch(&self, url: &str) -> reqwest::Response {
        self.get(url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"))
    }

    async fn fetch_status(&self, url: &str) -> reqwest::StatusCode {
        self.fetch(url).await.status()
    }

    async fn fetch_text(&self, url: &str) -> String {
        self.fetch(url)
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: body: {e}"))
    }

    #[cfg(feature = "users")]
    async fn fetch_json(&self, url: &str) -> serde_json::Value {
        self.fetch(url)
            .await
            .json()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: JSON body: {e}"))
    }
}

/// A raw answer: status (0 if the server closed without a status line) and the whole text.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub text: String,
}

impl RawResponse {
    pub fn body(&self) -> &str {
        self.text.split_once("\r\n\r\n").map_or("", |(_, b)| b)
    }
}

/// Sends `GET {target}` byte for byte and reads until the server closes (5 s at most).
pub async fn raw_get(addr: SocketAddr, target: &[u8]) -> RawResponse {
    let mut request = b"GET ".to_vec();
    request.extend_from_slice(target);
    request.extend_from_slice(b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    raw_request(addr, &request).await
}

/// Sends `request` byte for byte and reads until the server closes (5 s at most); whatever
/// arrived by then is the answer.
pub async fn raw_request(addr: SocketAddr, request: &[u8]) -> RawResponse {
    match exchange(addr, request, Duration::from_secs(5)).await {
        Ok(response) | Err(Unanswered { response, .. }) => response,
    }
}

/// Why [`exchange`] got no complete answer: the connection failed or the server did not close
/// within the limit. `response` holds what arrived.
#[derive(Debug)]
pub struct Unanswered {
    pub response: RawResponse,
    pub error: std::io::Error,
}

/// Sends `request` byte for byte and reads until the server closes, within `limit`.
pub async fn exchange(
    addr: SocketAddr,
    request: &[u8],
    limit: Duration,
) -> Result<RawResponse, Unanswered> {
    let mut answer = Vec::new();
    let talk = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(request).await?;
        stream.read_to_end(&mut answer).await?;
        std::io::Result::Ok(())
    };
    let outcome = match tokio::time::timeout(limit, talk).await {
        Ok(result) => result,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no complete answer within {limit:?}"),
        )),
    };
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let response = RawResponse { status, text };
    match outcome {
        Ok(()) => Ok(response),
        Err(error) => Err(Unanswered { response, error }),
    }
}

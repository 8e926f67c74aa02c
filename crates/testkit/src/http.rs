//! Raw HTTP/1.1 over TCP, for request targets a client library would normalise or refuse
//! (`..`, `%2e%2e`, NUL, 10 kB segments): the server must see exactly what an attacker sends.

use std::{net::SocketAddr, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

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

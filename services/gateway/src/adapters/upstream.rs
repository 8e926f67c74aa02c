//! The pooled HTTP client the gateway forwards requests with.
//!
//! Two pools share the settings but not the timeouts. Ordinary requests get a deadline for the
//! response head and an idle limit between body chunks (a stalled upstream frees the socket, a slow
//! viewer downloading a big segment is not cut). Streams (SSE) get the head deadline only: they
//! may be quiet for minutes and end when either side leaves. Response bodies are passed on chunk
//! by chunk, never collected, so events and segments reach the browser as they arrive.

use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, Method, Response};

use crate::domain::headers;

/// How the answer is delivered to the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// A response that ends: head deadline and idle-read limit.
    Bounded,
    /// A long-lived stream (SSE): head deadline only.
    Streaming,
}

/// One request to forward.
pub struct Outgoing {
    pub method: Method,
    pub url: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("upstream unreachable: {0}")]
    Unreachable(String),
    #[error("upstream did not answer in time")]
    Timeout,
    #[error("upstream request failed: {0}")]
    Failed(String),
}

#[derive(Debug, Clone, Copy)]
pub struct UpstreamTimeouts {
    pub connect: Duration,
    /// Until the response head arrives.
    pub response: Duration,
    /// Longest silence between body chunks of a bounded response.
    pub idle_read: Duration,
}

#[derive(Clone)]
pub struct UpstreamClient {
    bounded: reqwest::Client,
    streaming: reqwest::Client,
    response_timeout: Duration,
}

impl UpstreamClient {
    pub fn new(timeouts: UpstreamTimeouts) -> Result<Self, reqwest::Error> {
        let builder = || {
            reqwest::Client::builder()
                .connect_timeout(timeouts.connect)
                .pool_idle_timeout(ferrocast_kit::http::CLIENT_POOL_IDLE_TIMEOUT)
                .tcp_nodelay(true)
                // A redirect is the browser's business: pass 3xx through untouched.
                .redirect(reqwest::redirect::Policy::none())
        };
        Ok(Self {
            bounded: builder().read_timeout(timeouts.idle_read).build()?,
            streaming: builder().build()?,
            response_timeout: timeouts.response,
        })
    }

    /// The bounded pool, for the gateway's own calls (room lookups, readiness checks).
    pub fn client(&self) -> &reqwest::Client {
        &self.bounded
    }

    /// Sends `outgoing` and turns the answer into a response whose body streams from upstream.
    pub async fn forward(
        &self,
        outgoing: Outgoing,
        delivery: Delivery,
    ) -> Result<Response<Body>, UpstreamError> {
        let client = match delivery {
            Delivery::Bounded => &self.bounded,
            Delivery::Streaming => &self.streaming,
        };
        let mut request = client
            .request(outgoing.method.clone(), &outgoing.url)
            .headers(outgoing.headers);
        if !matches!(outgoing.method, Method::GET | Method::HEAD) || !outgoing.body.is_empty() {
            request = request.body(outgoing.body);
        }
        let answer = tokio::time::timeout(self.response_timeout, request.send())
            .await
            .map_err(|_| UpstreamError::Timeout)?
            .map_err(classify)?;

        let mut response = Response::new(Body::empty());
        *response.status_mut() = answer.status();
        *response.headers_mut() = headers::response_headers(answer.headers());
        *response.body_mut() = Body::from_stream(answer.bytes_stream());
        Ok(response)
    }
}

fn classify(error: reqwest::Error) -> UpstreamError {
    if error.is_timeout() {
        UpstreamError::Timeout
    } else if error.is_connect() {
        UpstreamError::Unreachable(describe(error))
    } else {
        UpstreamError::Failed(describe(error))
    }
}

/// The error and its causes on one line ("error sending request: connection refused"), without
/// the URL: query strings may carry secrets, and this text ends up in logs.
pub fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(&error);
    while let Some(current) = cause {
        text.push_str(": ");
        text.push_str(&current.to_string());
        cause = current.source();
    }
    text
}

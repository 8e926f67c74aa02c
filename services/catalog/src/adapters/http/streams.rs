//! What the catalogue's event streams (processing progress, playback decisions) share: a cap per
//! replica and per client (the address behind trusted proxies; an IPv6 /64 is one), the answer
//! to a client over its share, and the replica's shutdown, which ends every stream.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    extract::ConnectInfo,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Extension, Json,
};
use ferrocast_kit::{
    admission::{Admission, Permit, Refused},
    client::TrustedProxies,
};
use tokio_util::sync::CancellationToken;

/// What a refused client is told to wait before it tries again.
const RETRY_AFTER_SECONDS: &str = "5";

/// The slots of one kind of stream on one replica.
#[derive(Clone)]
pub struct Slots {
    admission: Arc<Admission>,
    trusted_proxies: TrustedProxies,
    shutdown: CancellationToken,
    /// The streams, as refusals and metrics name them: `progress`, `playback`.
    kind: &'static str,
}

impl Slots {
    pub fn new(
        kind: &'static str,
        total: usize,
        per_address: usize,
        trusted_proxies: TrustedProxies,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            admission: Admission::new(total, per_address),
            trusted_proxies,
            shutdown,
            kind,
        }
    }

    /// A slot for one more stream of the client behind `peer`.
    pub fn admit(
        &self,
        peer: Option<Extension<ConnectInfo<SocketAddr>>>,
        headers: &HeaderMap,
    ) -> Result<Permit, NoSlot> {
        let Some(Extension(ConnectInfo(peer))) = peer else {
            return Err(NoSlot {
                kind: self.kind,
                refused: None,
            });
        };
        let client = self.trusted_proxies.client(peer.ip(), headers);
        self.admission
            .admit(ferrocast_kit::client::subscriber(client))
            .map_err(|refused| {
                metrics::counter!("catalog_streams_refused_total",
                    "stream" => self.kind, "reason" => refused.label())
                .increment(1);
                NoSlot {
                    kind: self.kind,
                    refused: Some(refused),
                }
            })
    }

    /// Fires when the replica stops.
    pub fn shutdown(&self) -> CancellationToken {
        self.shutdown.clone()
    }
}

/// Why a stream got no slot; as an answer, when to try again.
#[derive(Debug)]
pub struct NoSlot {
    kind: &'static str,
    /// `None`: the request came without a peer address (a server set up wrong).
    refused: Option<Refused>,
}

impl IntoResponse for NoSlot {
    fn into_response(self) -> Response {
        let kind = self.kind;
        let Some(refused) = self.refused else {
            return refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "request without a peer address",
            );
        };
        refused_stream(refused, kind)
    }
}

/// The answer to a `kind` stream that got no slot: wait and try again.
fn refused_stream(refused: Refused, kind: &str) -> Response {
    let (status, code, message) = match refused {
        Refused::PerAddress => (
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_streams",
            format!("this address holds as many {kind} streams as it may; close one"),
        ),
        Refused::Total => (
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            format!("too many {kind} streams right now; retry in a moment"),
        ),
    };
    let mut response = refusal(status, code, &message);
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_static(RETRY_AFTER_SECONDS),
    );
    response
}

pub(super) fn refusal(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(ferrocast_kit::http::error_body(code, message))).into_response()
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;

    fn from(ip: &str) -> Option<Extension<ConnectInfo<SocketAddr>>> {
        let ip: IpAddr = ip.parse().expect("ip");
        Some(Extension(ConnectInfo(SocketAddr::new(ip, 40_000))))
    }

    #[test]
    fn a_client_address_gets_its_share_of_streams_and_an_answer_saying_so() {
        let slots = Slots::new(
            "progress",
            16,
            2,
            TrustedProxies::default(),
            CancellationToken::new(),
        );
        let headers = HeaderMap::new();
        let held: Vec<_> = (0..2)
            .map(|_| slots.admit(from("2001:db8::1"), &headers).expect("a slot"))
            .collect();
        // Another address of the same /64 is the same subscriber.
        let answer = slots
            .admit(from("2001:db8::2"), &headers)
            .expect_err("over the share")
            .into_response();
        assert_eq!(answer.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(answer.headers()[header::RETRY_AFTER], RETRY_AFTER_SECONDS);
        assert!(slots.admit(from("192.0.2.1"), &headers).is_ok());
        drop(held);
        assert!(slots.admit(from("2001:db8::2"), &headers).is_ok());
        assert_eq!(
            slots
                .admit(None, &headers)
                .expect_err("no peer")
                .into_response()
                .status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn a_full_replica_says_so_and_asks_to_retry() {
        let slots = Slots::new(
            "playback",
            1,
            1,
            TrustedProxies::default(),
            CancellationToken::new(),
        );
        let headers = HeaderMap::new();
        let _held = slots.admit(from("192.0.2.1"), &headers).expect("a slot");
        let answer = slots
            .admit(from("192.0.2.2"), &headers)
            .expect_err("full")
            .into_response();
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(answer.headers()[header::RETRY_AFTER], RETRY_AFTER_SECONDS);
    }
}

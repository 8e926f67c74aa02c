//! Security headers on every answer of the gateway, proxied ones included.
//!
//! The CSP allows only this origin, plus `blob:` where hls.js needs it (media source buffers and
//! its transmuxing worker), `data:` images, and connections to the object storage, which
//! browsers upload to straight. Framing is refused (clickjacking), forms may only
//! post here and `<base>` is refused (an injected one would re-point every relative URL), MIME
//! sniffing is off so a segment or upload is never run as script, and referrers leave only as an
//! origin.
//!
//! HSTS is sent only when the browser reached us over TLS. The gateway itself speaks plain HTTP,
//! so that is known only from a TLS-terminating proxy in front saying `X-Forwarded-Proto: https`,
//! and only a configured trusted proxy is believed: anyone can send the header.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    extract::{ConnectInfo, Request, State},
    middleware::{self, Next},
    response::Response,
    Router,
};
use ferrocast_kit::client::TrustedProxies;
use http::{header, HeaderMap, HeaderValue};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::domain::headers::X_FORWARDED_PROTO;

/// The policy for pages of a platform whose storage browsers reach at `storage_origin`.
pub fn content_security_policy(storage_origin: &str) -> String {
    format!(
        "default-src 'self'; media-src 'self' blob:; img-src 'self' data: blob:; \
         connect-src 'self' {storage_origin}; worker-src 'self' blob:; style-src 'self'; \
         script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )
}

/// One year, subdomains included: the value HSTS preload lists ask for.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000; includeSubDomains";

pub fn headers(router: Router, proxies: TrustedProxies, csp: HeaderValue) -> Router {
    let set = |name, value: &'static str| {
        SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
    };
    router
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            csp,
        ))
        .layer(set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(set(
            header::REFERRER_POLICY,
            "strict-origin-when-cross-origin",
        ))
        .layer(set(header::X_FRAME_OPTIONS, "DENY"))
        .layer(middleware::from_fn_with_state(Arc::new(proxies), hsts))
}

async fn hsts(
    State(proxies): State<Arc<TrustedProxies>>,
    request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| *peer);
    let secure = peer.is_some_and(|peer| reached_over_tls(&proxies, peer, request.headers()));
    let mut response = next.run(request).await;
    if secure {
        response.headers_mut().insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(STRICT_TRANSPORT_SECURITY),
        );
    }
    response
}

/// Whether the client's connection was TLS: `peer` is a trusted proxy and the scheme it reports
/// is https. Proxies that append rather than overwrite leave a list; the last entry is the one
/// the trusted peer wrote, earlier ones may come from the client.
pub fn reached_over_tls(proxies: &TrustedProxies, peer: SocketAddr, headers: &HeaderMap) -> bool {
    if !proxies.contains(peer.ip()) {
        return false;
    }
    headers
        .get_all(&X_FORWARDED_PROTO)
        .iter()
        .next_back()
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.rsplit(',').next())
        .is_some_and(|scheme| scheme.trim().eq_ignore_ascii_case("https"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(&X_FORWARDED_PROTO, line.parse().expect("header"));
        }
        headers
    }

    fn peer(ip: &str) -> SocketAddr {
        SocketAddr::new(ip.parse().expect("ip"), 40000)
    }

    #[test]
    fn the_csp_restricts_forms_and_base_and_keeps_the_rest() {
        let policy = content_security_policy("http://127.0.0.1:8333");
        let directives: Vec<&str> = policy.split("; ").collect();
        for expected in [
            "connect-src 'self' http://127.0.0.1:8333",
            "form-action 'self'",
            "base-uri 'none'",
            "default-src 'self'",
            "script-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(directives.contains(&expected), "{expected}: {directives:?}");
        }
    }

    #[test]
    fn https_counts_only_when_a_trusted_proxy_says_so() {
        let proxies: TrustedProxies = "10.0.0.0/8".parse().expect("valid");
        let https = forwarded(&["https"]);
        assert!(reached_over_tls(&proxies, peer("10.1.2.3"), &https));
        assert!(reached_over_tls(
            &proxies,
            peer("10.1.2.3"),
            &forwarded(&["HTTPS"])
        ));
        // A client claiming https directly, or no proxies configured at all.
        assert!(!reached_over_tls(&proxies, peer("203.0.113.9"), &https));
        assert!(!reached_over_tls(
            &TrustedProxies::none(),
            peer("10.1.2.3"),
            &https
        ));
        // The trusted proxy saw plain http or said nothing.
        assert!(!reached_over_tls(
            &proxies,
            peer("10.1.2.3"),
            &forwarded(&["http"])
        ));
        assert!(!reached_over_tls(
            &proxies,
            peer("10.1.2.3"),
            &HeaderMap::new()
        ));
    }

    #[test]
    fn the_entry_the_trusted_proxy_appended_decides() {
        let proxies = TrustedProxies::loopback();
        // The client forged "https"; the proxy appended what it really saw.
        assert!(!reached_over_tls(
            &proxies,
            peer("127.0.0.1"),
            &forwarded(&["https, http"])
        ));
        assert!(!reached_over_tls(
            &proxies,
            peer("127.0.0.1"),
            &forwarded(&["https", "http"])
        ));
        assert!(reached_over_tls(
            &proxies,
            peer("127.0.0.1"),
            &forwarded(&["http", "https"])
        ));
    }
}

//! Security headers on every answer of the gateway, proxied ones included.
//!
//! The CSP allows only this origin, plus `blob:` where hls.js needs it (media source buffers and
//! its transmuxing worker) and `data:` images. Framing is refused (clickjacking), MIME sniffing is
//! off so a segment or upload is never run as script, and referrers leave only as an origin.

use axum::Router;
use http::{header, HeaderValue};
use tower_http::set_header::SetResponseHeaderLayer;

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; media-src 'self' blob:; \
img-src 'self' data: blob:; connect-src 'self'; worker-src 'self' blob:; style-src 'self'; \
script-src 'self'; frame-ancestors 'none'";

pub fn headers(router: Router) -> Router {
    let set = |name, value: &'static str| {
        SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
    };
    router
        .layer(set(
            header::CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY,
        ))
        .layer(set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(set(
            header::REFERRER_POLICY,
            "strict-origin-when-cross-origin",
        ))
        .layer(set(header::X_FRAME_OPTIONS, "DENY"))
}

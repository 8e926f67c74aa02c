//! Which headers cross the proxy.
//!
//! Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection and must not be forwarded, nor
//! any header the `Connection` header names. Everything end-to-end passes: cookies, authorization,
//! content type, caching validators and the request id. Requests to ingest origins lose the
//! browser's credentials: media origins need none, so they never see a session cookie.

use std::net::IpAddr;

use ferrocast_kit::http::SERVICE_TOKEN_HEADER;
use http::{header, HeaderMap, HeaderName, HeaderValue};

const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Whether the browser's credentials go along with the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials {
    Forward,
    Strip,
}

/// `X-Forwarded-Proto`: what a TLS-terminating proxy in front says the browser spoke.
pub const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// Headers only ferrocast services (and the trusted proxies in front) may send: a browser's copy
/// never goes upstream, whatever it hopes an upstream does with it.
const INTERNAL_REQUEST_HEADERS: [HeaderName; 2] = [SERVICE_TOKEN_HEADER, X_FORWARDED_PROTO];

/// The end-to-end headers of `headers`, without `Host` (the client sets the upstream's) and the
/// service-to-service headers.
pub fn request_headers(headers: &HeaderMap, credentials: Credentials) -> HeaderMap {
    let mut out = end_to_end(headers);
    out.remove(header::HOST);
    for name in &INTERNAL_REQUEST_HEADERS {
        out.remove(name);
    }
    if credentials == Credentials::Strip {
        out.remove(header::COOKIE);
        out.remove(header::AUTHORIZATION);
    }
    out
}

/// The end-to-end headers of an upstream response.
pub fn response_headers(headers: &HeaderMap) -> HeaderMap {
    end_to_end(headers)
}

/// Response headers an ingest origin may pass to viewers: caching and ranges, nothing else. An
/// origin is another machine; whatever it says, a viewer of the site's origin never gets a cookie,
/// a redirect target or a content type chosen by it.
const MEDIA_RESPONSE_HEADERS: &[header::HeaderName] = &[
    header::CACHE_CONTROL,
    header::ETAG,
    header::LAST_MODIFIED,
    header::EXPIRES,
    header::AGE,
    header::CONTENT_LENGTH,
    header::CONTENT_RANGE,
    header::ACCEPT_RANGES,
];

/// The headers of an origin's media answer that reach the browser, with `content_type` (chosen
/// from the requested file's extension) as its Content-Type.
pub fn media_response_headers(headers: &HeaderMap, content_type: &'static str) -> HeaderMap {
    let mut out = HeaderMap::with_capacity(MEDIA_RESPONSE_HEADERS.len() + 1);
    for name in MEDIA_RESPONSE_HEADERS {
        if let Some(value) = headers.get(name) {
            out.insert(name.clone(), value.clone());
        }
    }
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    out
}

/// Appends the peer to `X-Forwarded-For`, keeping what earlier proxies recorded.
pub fn append_forwarded_for(headers: &mut HeaderMap, peer: IpAddr) {
    let chain = match headers.get(&X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        Some(earlier) if !earlier.trim().is_empty() => format!("{earlier}, {peer}"),
        _ => peer.to_string(),
    };
    headers.remove(&X_FORWARDED_FOR);
    if let Ok(value) = HeaderValue::from_str(&chain) {
        headers.insert(X_FORWARDED_FOR, value);
    }
}

fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    let named_by_connection: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .collect();
    let mut out = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let name_str = name.as_str();
        if HOP_BY_HOP.contains(&name_str) || named_by_connection.iter().any(|n| n == name_str) {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn hop_by_hop_and_connection_named_headers_are_dropped() {
        let input = map(&[
            ("connection", "keep-alive, x-secret-hop"),
            ("x-secret-hop", "1"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("host", "gateway"),
            ("content-type", "application/json"),
            ("x-request-id", "abc"),
        ]);
        let out = request_headers(&input, Credentials::Forward);
        let mut names: Vec<_> = out.keys().map(|k| k.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["content-type", "x-request-id"]);
    }

    #[test]
    fn credentials_and_every_set_cookie_pass_unless_stripped() {
        let input = map(&[("cookie", "s=1"), ("authorization", "Bearer t")]);
        assert_eq!(request_headers(&input, Credentials::Forward).len(), 2);
        assert!(request_headers(&input, Credentials::Strip).is_empty());
        let response = map(&[("set-cookie", "a=1"), ("set-cookie", "b=2")]);
        assert_eq!(
            response_headers(&response)
                .get_all("set-cookie")
                .iter()
                .count(),
            2
        );
    }

    #[test]
    fn a_browsers_service_headers_never_go_upstream() {
        let input = map(&[
            ("x-service-token", "guess"),
            ("x-forwarded-proto", "https"),
            ("accept", "*/*"),
        ]);
        let out = request_headers(&input, Credentials::Forward);
        let names: Vec<_> = out.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["accept"]);
    }

    #[test]
    fn media_answers_keep_only_caching_and_range_headers() {
        let origin = map(&[
            ("content-type", "text/html"),
            ("set-cookie", "session=evil"),
            ("location", "https://evil.example/"),
            ("content-security-policy", "script-src *"),
            ("cache-control", "max-age=1"),
            ("etag", "\"v1\""),
            ("content-length", "12"),
        ]);
        let out = media_response_headers(&origin, "video/mp2t");
        let mut names: Vec<_> = out.keys().map(|k| k.as_str()).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            ["cache-control", "content-length", "content-type", "etag"]
        );
        assert_eq!(out[header::CONTENT_TYPE], "video/mp2t");
    }

    #[test]
    fn forwarded_for_chain_is_extended() {
        let mut headers = map(&[("x-forwarded-for", "203.0.113.7")]);
        append_forwarded_for(&mut headers, "10.1.2.3".parse().expect("ip"));
        assert_eq!(headers[&X_FORWARDED_FOR], "203.0.113.7, 10.1.2.3");
        let mut fresh = HeaderMap::new();
        append_forwarded_for(&mut fresh, "::1".parse().expect("ip"));
        assert_eq!(fresh[&X_FORWARDED_FOR], "::1");
    }
}

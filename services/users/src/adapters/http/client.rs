//! The client a request comes from, for the per-address rate limits: the peer, or behind a
//! trusted proxy (the gateway) the address that proxy appended to `X-Forwarded-For`. Entries a
//! client wrote into the header itself are never believed.

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::request::Parts,
};

use super::{error::ApiError, AppState};

pub struct ClientAddress(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // `ferrocast_kit::http::serve` puts the peer on every request; without it no limit
        // could be keyed, so the request is refused rather than counted under a shared key.
        let ConnectInfo(peer) = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .copied()
            .ok_or_else(|| ApiError::Internal("request without a peer address".into()))?;
        Ok(Self(
            state.trusted_proxies.client(peer.ip(), &parts.headers),
        ))
    }
}

//! Who is calling: the access token from `Authorization: Bearer` (API clients) or the
//! `ferrocast_session` cookie (browsers), and the cookie that login sets and logout clears.

use axum::{extract::FromRequestParts, http::request::Parts};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use http::header::AUTHORIZATION;

use super::{error::ApiError, AppState};
use crate::domain::{AccessToken, VerifiedToken};

pub const SESSION_COOKIE: &str = "ferrocast_session";

/// A caller with a valid access token.
pub struct Caller(pub VerifiedToken);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let bearer = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim().to_owned());
        let token = bearer.or_else(|| {
            CookieJar::from_headers(&parts.headers)
                .get(SESSION_COOKIE)
                .map(|cookie| cookie.value().to_owned())
        });
        let token = token.ok_or(ApiError::Unauthorized("not logged in"))?;
        Ok(Self(state.accounts.authenticate(&token)?))
    }
}

fn base_cookie(value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/")
        .build()
}

/// The session cookie carrying `token` (a browser-session cookie; the token inside expires).
pub fn session_cookie(token: &AccessToken, secure: bool) -> Cookie<'static> {
    base_cookie(token.expose_secret().to_owned(), secure)
}

/// A cookie that makes the browser drop the session (same name, path and flags, expired).
pub fn cleared_cookie(secure: bool) -> Cookie<'static> {
    let mut cookie = base_cookie(String::new(), secure);
    cookie.make_removal();
    cookie
}

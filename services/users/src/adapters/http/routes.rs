//! REST handlers under `/api/users` (contract in docs/api.md), each documented for the OpenAPI
//! document served at `/api/users/openapi.json`.

use axum::{
    extract::{FromRequest, Path, Request, State},
    http::StatusCode,
    Json,
};
use axum_extra::extract::cookie::CookieJar;
use chrono::{DateTime, Utc};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    auth::{cleared_cookie, session_cookie, Caller},
    client::ClientAddress,
    error::ApiError,
    AppState,
};
use crate::domain::{FieldErrors, NewUser, User};

/// `Json<T>` whose rejections use the error envelope.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let Json(value) = Json::<T>::from_request(request, state).await?;
        Ok(Self(value))
    }
}

/// A user as everyone may see it (no password hash, no stream key).
#[derive(Serialize, ToSchema)]
pub struct UserBody {
    id: String,
    username: String,
    email: String,
    created_at: DateTime<Utc>,
}

impl From<User> for UserBody {
    fn from(user: User) -> Self {
        Self {
            id: user.id.as_str().to_owned(),
            username: user.username.as_str().to_owned(),
            email: user.email.as_str().to_owned(),
            created_at: user.created_at,
        }
    }
}

/// Fields are optional here so a missing one is reported per field (422), not as bad JSON.
#[derive(Deserialize, ToSchema)]
pub struct SignupRequest {
    username: Option<String>,
    email: Option<String>,
    password: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Username or email.
    login: Option<String>,
    password: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    access_token: String,
    token_type: &'static str,
    /// Seconds until the token expires.
    expires_in: u64,
    user: UserBody,
}

#[derive(Serialize, ToSchema)]
pub struct NewStreamKeyResponse {
    /// The full key: shown this once, never again.
    stream_key: String,
    prefix: String,
    created_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct StreamKeyResponse {
    prefix: String,
    created_at: DateTime<Utc>,
}

/// `{"error": {"code", "message", "fields"?}}`
#[derive(Serialize, ToSchema)]
pub struct ErrorEnvelope {
    error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    code: String,
    message: String,
    fields: Option<std::collections::BTreeMap<String, String>>,
}

#[utoipa::path(post, path = "/api/users", tag = "users", request_body = SignupRequest,
    responses((status = 201, body = UserBody), (status = 409, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope),
              (status = 429, body = ErrorEnvelope, description = "`rate_limited`: too many signups from this address; `Retry-After` says when to retry"),
              (status = 503, body = ErrorEnvelope)))]
pub async fn signup(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    JsonBody(body): JsonBody<SignupRequest>,
) -> Result<(StatusCode, Json<UserBody>), ApiError> {
    let form =
        NewUser::parse(body.username, body.email, body.password).map_err(ApiError::Validation)?;
    let user = state.accounts.signup(form, client).await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

#[utoipa::path(post, path = "/api/users/login", tag = "users", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse, description = "also sets the ferrocast_session cookie"),
              (status = 401, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope),
              (status = 429, body = ErrorEnvelope, description = "`rate_limited`: too many attempts from this address or for this login; `Retry-After` says when to retry"),
              (status = 503, body = ErrorEnvelope, description = "`unavailable` (store down) or `busy` (too many sign-ins at once; `Retry-After` says when to retry)")))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    jar: CookieJar,
    JsonBody(body): JsonBody<LoginRequest>,
) -> Result<(CookieJar, Json<LoginResponse>), ApiError> {
    let mut missing = FieldErrors::new();
    if body.login.is_none() {
        missing.insert("login", "is required".into());
    }
    if body.password.is_none() {
        missing.insert("password", "is required".into());
    }
    let (Some(login), Some(password)) = (body.login, body.password) else {
        return Err(ApiError::Validation(missing));
    };
    let (user, token) = state.accounts.login(&login, password, client).await?;
    let jar = jar.add(session_cookie(&token, state.cookie_secure));
    Ok((
        jar,
        Json(LoginResponse {
            access_token: token.expose_secret().to_owned(),
            token_type: "Bearer",
            expires_in: state.accounts.token_lifetime_seconds(),
            user: user.into(),
        }),
    ))
}

#[utoipa::path(post, path = "/api/users/logout", tag = "users",
    responses((status = 204, description = "session cookie cleared")))]
pub async fn logout(State(state): State<AppState>, jar: CookieJar) -> (StatusCode, CookieJar) {
    (
        StatusCode::NO_CONTENT,
        jar.add(cleared_cookie(state.cookie_secure)),
    )
}

#[utoipa::path(get, path = "/api/users/me", tag = "users",
    responses((status = 200, body = UserBody), (status = 401, body = ErrorEnvelope)))]
pub async fn me(
    State(state): State<AppState>,
    Caller(token): Caller,
) -> Result<Json<UserBody>, ApiError> {
    Ok(Json(state.accounts.current_user(&token).await?.into()))
}

#[utoipa::path(post, path = "/api/users/me/stream-key", tag = "stream key",
    responses((status = 201, body = NewStreamKeyResponse), (status = 401, body = ErrorEnvelope),
              (status = 429, body = ErrorEnvelope, description = "`rate_limited`: too many rotations for this account or from this address; `Retry-After` says when to retry")))]
pub async fn rotate_stream_key(
    State(state): State<AppState>,
    Caller(token): Caller,
    ClientAddress(client): ClientAddress,
) -> Result<(StatusCode, Json<NewStreamKeyResponse>), ApiError> {
    let (key, info) = state
        .accounts
        .rotate_stream_key(&token.user_id, client)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(NewStreamKeyResponse {
            stream_key: key.expose_secret().to_owned(),
            prefix: info.prefix,
            created_at: info.created_at,
        }),
    ))
}

#[utoipa::path(get, path = "/api/users/me/stream-key", tag = "stream key",
    responses((status = 200, body = StreamKeyResponse), (status = 401, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope, description = "no key created yet")))]
pub async fn stream_key_info(
    State(state): State<AppState>,
    Caller(token): Caller,
) -> Result<Json<StreamKeyResponse>, ApiError> {
    let info = state.accounts.stream_key_info(&token.user_id).await?;
    Ok(Json(StreamKeyResponse {
        prefix: info.prefix,
        created_at: info.created_at,
    }))
}

/// What anyone may know of a user: the name their channel goes by, and since when.
#[derive(Serialize, ToSchema)]
pub struct ProfileBody {
    username: String,
    created_at: DateTime<Utc>,
}

/// A user's public profile, for their channel page (`/c/{username}`): its 404 is how the page
/// tells an unknown name from a user with nothing to show. No email, no id.
#[utoipa::path(get, path = "/api/users/profiles/{username}", tag = "users",
    params(("username" = String, Path, description = "the channel's username (case-insensitive)")),
    responses((status = 200, body = ProfileBody), (status = 404, body = ErrorEnvelope)))]
pub async fn profile(
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> Result<Json<ProfileBody>, ApiError> {
    // A name that is not a valid username is answered as unknown, without a store read.
    let user = state.accounts.user_by_username(&username).await?;
    Ok(Json(ProfileBody {
        username: user.username.as_str().to_owned(),
        created_at: user.created_at,
    }))
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such route")
}

//! The use cases: signup, login, who-am-I, stream key rotation and the lookups other services
//! make. Both edges (REST and gRPC) call these and map [`AccountError`] once to their statuses.
//! Signup, login and rotation are rate limited first ([`Throttle`]), before any hashing.
//! Everything they touch comes through a port (store, hasher, token issuer, rate-limit
//! counters); `startup` picks the adapters.

mod throttle;

use std::{net::IpAddr, sync::Arc};

use chrono::Utc;

pub use self::throttle::Throttle;
use crate::{
    domain::{
        AccessToken, FieldErrors, Login, NewUser, Password, StreamKey, StreamKeyInfo, User, UserId,
        Username, VerifiedToken,
    },
    ports::{
        HashError, PasswordHasher, StoreError, TokenError, TokenIssuer, UniqueField, UserStore,
    },
};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("invalid input")]
    Validation(FieldErrors),
    #[error("{} already taken", .0.name())]
    Conflict(UniqueField),
    /// Login failed; deliberately silent on whether the user exists.
    #[error("invalid login or password")]
    InvalidCredentials,
    /// A token, stream key or session that does not (or no longer) identify anyone.
    #[error("not authenticated")]
    Unauthenticated,
    #[error("not found")]
    NotFound,
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Too many password checks at once (a login flood): retry in a moment. Says nothing about
    /// whether the user exists; the store lookup and the wait are the same either way.
    #[error("too busy")]
    Busy,
    /// Over a rate limit: retry after this many seconds. The same for unknown and existing
    /// accounts.
    #[error("rate limited")]
    RateLimited { retry_after_seconds: u64 },
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for AccountError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(field) => Self::Conflict(field),
            StoreError::Unavailable(reason) => Self::Unavailable(reason),
            StoreError::Internal(reason) => Self::Internal(reason),
        }
    }
}

impl From<HashError> for AccountError {
    fn from(error: HashError) -> Self {
        match error {
            HashError::Busy => Self::Busy,
            HashError::Internal(reason) => Self::Internal(reason),
        }
    }
}

impl From<TokenError> for AccountError {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::Invalid => Self::Unauthenticated,
            TokenError::Signing(reason) => Self::Internal(reason),
        }
    }
}

pub type AccountResult<T> = Result<T, AccountError>;

/// Counts an authentication failure by kind (login, token, stream_key, service_token).
pub fn auth_failure(kind: &'static str) {
    metrics::counter!("users_auth_failures_total", "kind" => kind).increment(1);
}

pub struct Accounts {
    store: Arc<dyn UserStore>,
    hasher: Arc<dyn PasswordHasher>,
    tokens: Arc<dyn TokenIssuer>,
    throttle: Throttle,
}

impl Accounts {
    pub fn new(
        store: Arc<dyn UserStore>,
        hasher: Arc<dyn PasswordHasher>,
        tokens: Arc<dyn TokenIssuer>,
        throttle: Throttle,
    ) -> Self {
        Self {
            store,
            hasher,
            tokens,
            throttle,
        }
    }

    pub fn token_lifetime_seconds(&self) -> u64 {
        self.tokens.lifetime().as_secs()
    }

    /// Signs up a user for a request from `client`.
    pub async fn signup(&self, form: NewUser, client: IpAddr) -> AccountResult<User> {
        self.throttle.signup(client).await?;
        let hash = self.hasher.hash(form.password).await?;
        let user = User {
            id: UserId::generate(),
            username: form.username,
            email: form.email,
            created_at: truncate_to_millis(Utc::now()),
        };
        self.store.insert(&user, &hash).await?;
        tracing::info!(user_id = user.id.as_str(), username = %user.username, "user signed up");
        Ok(user)
    }

    /// Checks the password and issues an access token. Unknown user, malformed login and wrong
    /// password all cost one argon2 verification and give the same error; a rate-limited
    /// attempt costs none.
    pub async fn login(
        &self,
        login: &str,
        password: String,
        client: IpAddr,
    ) -> AccountResult<(User, AccessToken)> {
        let result = self.limited_check(login, password, client).await;
        let outcome = match &result {
            Ok(_) => "success",
            Err(AccountError::InvalidCredentials) => "invalid_credentials",
            Err(AccountError::Busy) => "busy",
            Err(AccountError::RateLimited { .. }) => "rate_limited",
            Err(_) => "error",
        };
        metrics::counter!("users_logins_total", "result" => outcome).increment(1);
        if matches!(result, Err(AccountError::InvalidCredentials)) {
            auth_failure("login");
        }
        let user = result?;
        let token = self.tokens.issue(&user)?;
        tracing::info!(user_id = user.id.as_str(), "user logged in");
        Ok((user, token))
    }

    /// The password check behind the login limits. Only a wrong password keeps its count on
    /// the login name: a right one, or a check that never ran (shed, store down), gives it back.
    async fn limited_check(
        &self,
        login: &str,
        password: String,
        client: IpAddr,
    ) -> AccountResult<User> {
        let counted = self.throttle.login(client, login).await?;
        let result = self.check_credentials(login, password).await;
        if !matches!(result, Err(AccountError::InvalidCredentials)) {
            self.throttle.hand_back(counted).await;
        }
        result
    }

    async fn check_credentials(&self, login: &str, password: String) -> AccountResult<User> {
        let Some(password) = Password::for_login(password) else {
            return Err(AccountError::InvalidCredentials);
        };
        let found = match Login::parse(login) {
            Some(login) => self.store.credentials(&login).await?,
            None => None,
        };
        let (user, hash) = match found {
            Some((user, hash)) => (Some(user), Some(hash)),
            None => (None, None),
        };
        match (self.hasher.verify(password, hash).await?, user) {
            (true, Some(user)) => Ok(user),
            _ => Err(AccountError::InvalidCredentials),
        }
    }

    /// Verifies an access token without touching the store.
    pub fn authenticate(&self, token: &str) -> AccountResult<VerifiedToken> {
        self.tokens.verify(token).map_err(|error| {
            auth_failure("token");
            error.into()
        })
    }

    /// The user a verified token names; a token for a user that no longer exists is refused.
    pub async fn current_user(&self, token: &VerifiedToken) -> AccountResult<User> {
        self.store
            .by_id(&token.user_id)
            .await?
            .ok_or(AccountError::Unauthenticated)
    }

    /// Creates or replaces the user's stream key; the old key stops working at once. The new
    /// key is returned in full: this is the only time anyone sees it.
    pub async fn rotate_stream_key(
        &self,
        user_id: &UserId,
        client: IpAddr,
    ) -> AccountResult<(StreamKey, StreamKeyInfo)> {
        self.throttle.key_rotation(client, user_id).await?;
        let key = StreamKey::generate();
        let info = StreamKeyInfo {
            prefix: key.display_prefix(),
            created_at: truncate_to_millis(Utc::now()),
        };
        if !self
            .store
            .set_stream_key(user_id, &key.hash(), &info.prefix, info.created_at)
            .await?
        {
            return Err(AccountError::Unauthenticated);
        }
        tracing::info!(user_id = user_id.as_str(), prefix = %info.prefix, "stream key rotated");
        Ok((key, info))
    }

    pub async fn stream_key_info(&self, user_id: &UserId) -> AccountResult<StreamKeyInfo> {
        self.store
            .stream_key_info(user_id)
            .await?
            .ok_or(AccountError::NotFound)
    }

    /// The owner of a stream key, for ingest and rooms deciding whether a publish may start.
    pub async fn user_for_stream_key(&self, raw: &str) -> AccountResult<User> {
        let found = match StreamKey::parse(raw) {
            Some(key) => self.store.by_stream_key(&key.hash()).await?,
            None => None,
        };
        found.ok_or_else(|| {
            auth_failure("stream_key");
            AccountError::Unauthenticated
        })
    }

    pub async fn user_by_id(&self, id: UserId) -> AccountResult<User> {
        self.store.by_id(&id).await?.ok_or(AccountError::NotFound)
    }

    pub async fn user_by_username(&self, raw: &str) -> AccountResult<User> {
        let Ok(username) = Username::parse(raw) else {
            return Err(AccountError::NotFound);
        };
        self.store
            .by_username(&username)
            .await?
            .ok_or(AccountError::NotFound)
    }

    pub async fn ping_store(&self) -> AccountResult<()> {
        Ok(self.store.ping().await?)
    }
}

/// The store keeps milliseconds; truncating first makes what we return equal what we read back.
fn truncate_to_millis(time: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
    chrono::DateTime::from_timestamp_millis(time.timestamp_millis()).unwrap_or(time)
}

#[cfg(test)]
mod tests;

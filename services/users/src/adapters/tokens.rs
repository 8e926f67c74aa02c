//! The `TokenIssuer` port on HS256 JWTs with iss, aud, sub, exp, nbf, iat and jti, validated
//! strictly.
//!
//! jsonwebtoken validates only what it is told to, so validation is spelled out: the algorithm
//! is pinned (no `alg: none`, no algorithm confusion), issuer and audience must match, every
//! time claim must be present, `nbf` is checked, and the leeway is a few seconds of clock skew.
//! Tokens live about an hour; there is no revocation list (logout clears the cookie).

use std::time::Duration;

use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::{
    domain::{AccessToken, User, UserId, Username, VerifiedToken},
    ports::{TokenError, TokenIssuer},
};

pub const ISSUER: &str = "ferrocast-users";
pub const AUDIENCE: &str = "ferrocast";
const LEEWAY_SECONDS: u64 = 5;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    exp: i64,
    nbf: i64,
    iat: i64,
    jti: String,
    /// The username, so other services can name the caller without a lookup.
    name: String,
}

#[derive(Clone)]
pub struct JwtIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    lifetime: Duration,
}

impl JwtIssuer {
    pub fn new(secret: &[u8], lifetime: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "sub", "iss", "aud"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            lifetime,
        }
    }
}

impl TokenIssuer for JwtIssuer {
    fn lifetime(&self) -> Duration {
        self.lifetime
    }

    fn issue(&self, user: &User) -> Result<AccessToken, TokenError> {
        let now = Utc::now().timestamp();
        let lifetime = i64::try_from(self.lifetime.as_secs()).unwrap_or(3600);
        let claims = Claims {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: user.id.as_str().to_owned(),
            exp: now + lifetime,
            nbf: now,
            iat: now,
            jti: uuid::Uuid::new_v4().to_string(),
            name: user.username.as_str().to_owned(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map(AccessToken::new)
            .map_err(|e| TokenError::Signing(e.to_string()))
    }

    fn verify(&self, token: &str) -> Result<VerifiedToken, TokenError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| TokenError::Invalid)?;
        let claims = data.claims;
        // jsonwebtoken does not check `iat`; a token "issued" in the future was not issued by us.
        let skew = i64::try_from(LEEWAY_SECONDS).unwrap_or(0);
        if claims.iat > Utc::now().timestamp() + skew
            || claims.jti.is_empty()
            || claims.sub.is_empty()
        {
            return Err(TokenError::Invalid);
        }
        Ok(VerifiedToken {
            user_id: UserId::from_string(claims.sub),
            username: Username::parse(&claims.name).map_err(|_| TokenError::Invalid)?,
            issued_at: claims.iat,
            expires_at: claims.exp,
            token_id: claims.jti,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Email;

    fn user() -> User {
        User {
            id: UserId::generate(),
            username: Username::parse("alice").unwrap(),
            email: Email::parse("alice@example.com").unwrap(),
            created_at: Utc::now(),
        }
    }

    #[test]
    fn an_issued_token_verifies_with_its_claims() {
        let issuer = JwtIssuer::new(&[7; 32], Duration::from_secs(3600));
        let user = user();
        let token = issuer.issue(&user).unwrap();
        let verified = issuer.verify(token.expose_secret()).unwrap();
        assert_eq!(verified.user_id, user.id);
        assert_eq!(verified.username.as_str(), "alice");
        assert_eq!(verified.expires_at - verified.issued_at, 3600);
        assert!(!verified.token_id.is_empty());
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let token = JwtIssuer::new(&[1; 32], Duration::from_secs(60))
            .issue(&user())
            .unwrap();
        let other = JwtIssuer::new(&[2; 32], Duration::from_secs(60));
        assert!(other.verify(token.expose_secret()).is_err());
    }

    #[test]
    fn debug_never_shows_the_token() {
        let token = JwtIssuer::new(&[1; 32], Duration::from_secs(60))
            .issue(&user())
            .unwrap();
        assert!(!format!("{token:?}").contains(token.expose_secret()));
    }
}

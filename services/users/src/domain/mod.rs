//! Pure types and rules of the users service: values that can only be built valid (parse, don't
//! validate) and the per-field errors a signup form shows. No I/O lives here.

mod email;
mod password;
mod rate_limit;
mod stream_key;
mod token;
mod user;
mod username;

pub use email::Email;
pub use password::{Password, PasswordHash};
pub use rate_limit::{Action, CounterKey, RateLimit, RateLimits, Verdict, Window};
pub use stream_key::{StreamKey, StreamKeyHash};
pub use token::{AccessToken, VerifiedToken};
pub use user::{Login, NewUser, StreamKeyInfo, User, UserId};
pub use username::Username;

use std::collections::BTreeMap;

/// One message per offending input field, e.g. `{"username": "3 to 24 characters ..."}`.
pub type FieldErrors = BTreeMap<&'static str, String>;

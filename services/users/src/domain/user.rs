//! The `User` aggregate as the rest of the service sees it, the validated signup form, and the
//! login identifier (username or email).

use chrono::{DateTime, Utc};

use super::{Email, FieldErrors, Password, Username};

/// Opaque user id (a UUID in text form), stable for the life of the account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserId(String);

impl UserId {
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    /// An id from a trusted source (the store, a verified token) or a lookup request; an id
    /// that names nobody simply finds nobody.
    pub fn from_string(id: String) -> Self {
        Self(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: Username,
    pub email: Email,
    pub created_at: DateTime<Utc>,
}

/// Public part of a stream key: enough to recognise it, never enough to use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamKeyInfo {
    pub prefix: String,
    pub created_at: DateTime<Utc>,
}

/// A signup form whose every field passed its rule.
#[derive(Debug)]
pub struct NewUser {
    pub username: Username,
    pub email: Email,
    pub password: Password,
}

impl NewUser {
    /// Checks all fields and reports every failing one at once (missing fields included).
    pub fn parse(
        username: Option<String>,
        email: Option<String>,
        password: Option<String>,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let username = required(username, "username", &mut errors)
            .and_then(|raw| record(Username::parse(&raw), "username", &mut errors));
        let email = required(email, "email", &mut errors)
            .and_then(|raw| record(Email::parse(&raw), "email", &mut errors));
        let password = required(password, "password", &mut errors)
            .and_then(|raw| record(Password::parse(raw), "password", &mut errors));
        match (username, email, password) {
            (Some(username), Some(email), Some(password)) => Ok(Self {
                username,
                email,
                password,
            }),
            _ => Err(errors),
        }
    }
}

fn required(
    value: Option<String>,
    field: &'static str,
    errors: &mut FieldErrors,
) -> Option<String> {
    if value.is_none() {
        errors.insert(field, "is required".to_owned());
    }
    value
}

fn record<T>(
    result: Result<T, String>,
    field: &'static str,
    errors: &mut FieldErrors,
) -> Option<T> {
    result.map_err(|message| errors.insert(field, message)).ok()
}

/// What a user typed in the login field: an email when it contains `@`, else a username.
#[derive(Debug, Clone)]
pub enum Login {
    Username(Username),
    Email(Email),
}

impl Login {
    /// `None` when the text is neither; the caller treats that like an unknown user (same
    /// answer, same time) so the form leaks nothing.
    pub fn parse(raw: &str) -> Option<Self> {
        if raw.contains('@') {
            Email::parse(raw).ok().map(Self::Email)
        } else {
            Username::parse(raw).ok().map(Self::Username)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_invalid_or_missing_field_is_reported() {
        let errors = NewUser::parse(Some("x".into()), None, Some("short".into())).unwrap_err();
        assert_eq!(
            errors.keys().copied().collect::<Vec<_>>(),
            ["email", "password", "username"]
        );
        assert_eq!(errors["email"], "is required");
    }

    #[test]
    fn a_valid_form_parses() {
        let user = NewUser::parse(
            Some("Alice".into()),
            Some("alice@example.com".into()),
            Some("correct horse".into()),
        )
        .unwrap();
        assert_eq!(user.username.as_str(), "alice");
    }

    #[test]
    fn login_is_an_email_when_it_has_an_at_sign() {
        assert!(matches!(
            Login::parse("Alice@Example.com"),
            Some(Login::Email(_))
        ));
        assert!(matches!(Login::parse("Alice"), Some(Login::Username(_))));
        assert!(Login::parse("not a name").is_none());
    }
}

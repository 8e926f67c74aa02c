//! The publish callbacks in nginx-rtmp's wire format (`application/x-www-form-urlencoded`):
//! which call it is, which publish it belongs to, and what it may claim.
//!
//! The same URL serves every `call`. nginx-rtmp sends `call`, `app`, `name` (the stream key on a
//! publish), `addr`, `clientid`, `tcurl`, ...; our ingest adds `session_id`, `origin`,
//! `renditions` and, on updates, `user_id` + `username` and `thumbnail`. The form carries the stream key, so
//! [`CallbackForm`]'s `Debug` leaves all values out and nothing here logs it.

use std::fmt;

use super::{IdError, Rendition, SessionId, StreamKey, Username};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    #[error("callback body is not form-encoded")]
    Encoding,
    #[error("callback field `{0}` is missing")]
    Missing(&'static str),
    #[error(transparent)]
    Invalid(#[from] IdError),
    #[error("callback field `{0}` is repeated")]
    Repeated(String),
}

/// The `call` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Publish,
    Update,
    PublishDone,
    /// Calls this service does not act on (`play`, `done`, `connect`, ...).
    Other,
}

/// Which kind of publish a callback is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// A streamer's publish with their stream key in `name`.
    Key,
    /// nginx-rtmp mode: nginx pushing an authenticated stream into the HLS application under
    /// the public username, because rooms answered the key publish with a 3xx.
    Relay,
}

/// Fields only our ingest sends (with the service token); see
/// [`CallbackForm::without_ingest_fields`].
const INGEST_FIELDS: &[&str] = &[
    "session_id",
    "origin",
    "renditions",
    "user_id",
    "username",
    "thumbnail",
];

/// A parsed callback body. Values stay private: accessors return typed, checked values.
#[derive(Clone)]
pub struct CallbackForm {
    fields: Vec<(String, String)>,
}

impl fmt::Debug for CallbackForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Field names only: the values include the stream key.
        f.debug_list()
            .entries(self.fields.iter().map(|(k, _)| k))
            .finish()
    }
}

impl CallbackForm {
    /// Parses a form body. nginx-rtmp never repeats a field, but it appends the publisher's own
    /// query string to its callbacks: a repeated field is someone trying to get a value of their
    /// choosing read instead of nginx's, so the whole callback is refused.
    pub fn parse(body: &[u8]) -> Result<Self, CallbackError> {
        let fields: Vec<(String, String)> =
            serde_urlencoded::from_bytes(body).map_err(|_| CallbackError::Encoding)?;
        let mut names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
        names.sort_unstable();
        if let Some(pair) = names.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(CallbackError::Repeated(pair[0].chars().take(32).collect()));
        }
        Ok(Self { fields })
    }

    /// The value of `name`, if present and not empty.
    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub fn call(&self) -> Result<Call, CallbackError> {
        Ok(
            match self.field("call").ok_or(CallbackError::Missing("call"))? {
                "publish" => Call::Publish,
                // nginx-rtmp ≥ 1.1 suffixes the update with the session's role.
                "update" | "update_publish" => Call::Update,
                "publish_done" => Call::PublishDone,
                _ => Call::Other,
            },
        )
    }

    pub fn app(&self) -> &str {
        self.field("app").unwrap_or_default()
    }

    /// `Relay` only when nginx mode is on and the callback comes from its HLS application.
    pub fn route(&self, hls_app: Option<&str>) -> Route {
        match hls_app {
            Some(app) if self.app() == app => Route::Relay,
            _ => Route::Key,
        }
    }

    /// The stream key of a key publish (`name`).
    pub fn stream_key(&self) -> Result<StreamKey, CallbackError> {
        let raw = self.field("name").ok_or(CallbackError::Missing("name"))?;
        StreamKey::parse(raw.to_owned()).map_err(|_| IdError::StreamKey.into())
    }

    /// The public name of a relay publish (`name` in the HLS application).
    pub fn relay_username(&self) -> Result<Username, CallbackError> {
        let raw = self.field("name").ok_or(CallbackError::Missing("name"))?;
        Ok(Username::parse(raw)?)
    }

    /// The form of a caller without the service token: the fields only our ingest sends are
    /// dropped before anything reads them. nginx-rtmp appends the publisher's query string to
    /// its callbacks, so from anyone else these would be a publisher's inventions (an origin, a
    /// victim's session id, a ladder, an owner).
    pub fn without_ingest_fields(mut self) -> Self {
        self.fields
            .retain(|(name, _)| !INGEST_FIELDS.contains(&name.as_str()));
        self
    }

    /// Our ingest names its sessions; for nginx-rtmp the connection identifies the publish.
    pub fn session_id(&self) -> Result<SessionId, CallbackError> {
        if let Some(id) = self.field("session_id") {
            return Ok(SessionId::parse(id)?);
        }
        let clientid = self
            .field("clientid")
            .ok_or(CallbackError::Missing("clientid"))?;
        Ok(SessionId::for_nginx(
            self.app(),
            clientid,
            self.field("addr").unwrap_or_default(),
        )?)
    }

    /// The HLS origin base URL our ingest states it serves this stream from, unparsed: only a
    /// trusted caller's is ever read, and it is checked and pinned by the use case (see
    /// [`super::OriginUrl`]).
    pub fn stated_origin(&self) -> Option<&str> {
        self.field("origin")
    }

    /// The ladder our ingest reports; absent or malformed lists are ignored (see `Rendition`).
    pub fn renditions(&self) -> Option<Vec<Rendition>> {
        self.field("renditions").and_then(Rendition::parse_list)
    }

    /// Whether our ingest serves a live thumbnail of the stream (`thumbnail=1` on its updates).
    pub fn has_thumbnail(&self) -> bool {
        self.field("thumbnail") == Some("1")
    }

    /// The owner our ingest states on its updates, so a room lost with Redis can be recreated
    /// without the key. Only our ingest's forms carry it.
    pub fn stated_owner(&self) -> Option<(String, Username)> {
        let user_id = self.field("user_id")?;
        let username = Username::parse(self.field("username")?).ok()?;
        (user_id.len() <= 64).then(|| (user_id.to_owned(), username))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(body: &str) -> CallbackForm {
        CallbackForm::parse(body.as_bytes()).expect("form")
    }

    #[test]
    fn nginx_publish_is_a_key_publish_with_a_derived_session() {
        let f = form("call=publish&app=live&name=live_abc&type=live&addr=127.0.0.1&clientid=7&tcurl=rtmp%3A%2F%2Fx%2Flive");
        assert_eq!(f.call(), Ok(Call::Publish));
        assert_eq!(f.route(Some("hls")), Route::Key);
        assert_eq!(
            f.stream_key().map(|k| k.expose().to_owned()),
            Ok("live_abc".into())
        );
        assert_eq!(
            f.session_id().map(|s| s.to_string()),
            Ok("nginx:live:7:127.0.0.1".into())
        );
        assert_eq!(f.stated_origin(), None);
    }

    #[test]
    fn hls_app_publish_is_a_relay_only_in_nginx_mode() {
        let f = form("call=publish&app=hls&name=alice&addr=127.0.0.1&clientid=9");
        assert_eq!(f.route(Some("hls")), Route::Relay);
        assert_eq!(f.route(None), Route::Key);
        assert_eq!(
            f.relay_username().map(|u| u.to_string()),
            Ok("alice".into())
        );
    }

    #[test]
    fn ingest_fields_are_read() {
        let f = form("call=update&app=live&name=k&session_id=abc-1&origin=http%3A%2F%2F10.0.0.5%3A8081%2F&user_id=u1&username=Alice&renditions=%5B%5D");
        assert_eq!(f.call(), Ok(Call::Update));
        assert_eq!(f.session_id().map(|s| s.to_string()), Ok("abc-1".into()));
        assert_eq!(f.stated_origin(), Some("http://10.0.0.5:8081/"));
        assert_eq!(f.renditions(), Some(vec![]));
        assert!(!f.has_thumbnail());
        assert!(form("call=update&thumbnail=1").has_thumbnail());
        let (id, name) = f.stated_owner().expect("owner");
        assert_eq!((id.as_str(), name.as_str()), ("u1", "alice"));
    }

    #[test]
    fn an_untrusted_form_loses_every_ingest_field() {
        let f = form("call=update&app=live&name=k&addr=10.0.0.9&clientid=3&session_id=victim-1&origin=http%3A%2F%2Fevil&renditions=%5B%5D&user_id=u1&username=victim&thumbnail=1");
        assert_eq!(f.session_id().map(|s| s.to_string()), Ok("victim-1".into()));
        let untrusted = f.without_ingest_fields();
        assert_eq!(
            untrusted.session_id().map(|s| s.to_string()),
            Ok("nginx:live:3:10.0.0.9".into())
        );
        assert_eq!(untrusted.stated_origin(), None);
        assert_eq!(untrusted.renditions(), None);
        assert!(untrusted.stated_owner().is_none());
        assert!(!untrusted.has_thumbnail());
        assert_eq!(untrusted.call(), Ok(Call::Update));
        assert_eq!(
            untrusted.stream_key().map(|k| k.expose().to_owned()),
            Ok("k".into())
        );
    }

    #[test]
    fn a_repeated_field_refuses_the_whole_form() {
        for body in [
            "call=publish&app=live&name=k&name=live_other",
            "call=publish&app=live&call=publish_done",
            "call=publish&app=live&addr=1.2.3.4&clientid=1&addr=9.9.9.9",
        ] {
            assert!(
                matches!(
                    CallbackForm::parse(body.as_bytes()),
                    Err(CallbackError::Repeated(_))
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn missing_fields_are_refused() {
        assert_eq!(form("app=live").call(), Err(CallbackError::Missing("call")));
        assert_eq!(
            form("call=publish&app=live").session_id(),
            Err(CallbackError::Missing("clientid"))
        );
        assert_eq!(form("call=play").call(), Ok(Call::Other));
        assert_eq!(form("call=update_publish").call(), Ok(Call::Update));
    }

    #[test]
    fn debug_output_has_no_values() {
        let f = form("call=publish&name=live_topsecret");
        assert!(!format!("{f:?}").contains("topsecret"));
    }
}

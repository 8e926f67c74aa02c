//! [`RoomCallbacks`] as nginx-rtmp style HTTP callbacks to the rooms service:
//! `POST FERROCAST_ROOMS_CALLBACK_URL` with an `application/x-www-form-urlencoded` body.
//!
//! Fields (docs/api.md): every call has `call`, `app`, `addr`, `clientid`, `session_id`, `origin`.
//! Every call also carries `username` and `user_id` (the owner users resolved), which rooms
//! trusts because the request presents the service token (`x-service-token`); so rooms can
//! recreate a lost room on `update` without the ingest holding on to the secret. `publish` adds
//! `name` (the stream key — the only call that carries it, for rooms' own check when the token
//! is not configured) and `type=live`; `update` adds `renditions` (a JSON array of
//! `Rendition`) and `thumbnail=1` once the session has a live thumbnail. 2xx allows; 409 means already live; 5xx and timeouts are "unavailable";
//! anything else (including redirects) refuses.

use std::time::Duration;

use ferrocast_kit::http::SERVICE_TOKEN_HEADER;
use reqwest::StatusCode;

use super::thumbnails::Thumbnails;
use crate::{
    ports::{BoxFuture, CallbackError, Client, Publisher, Rendition, RoomCallbacks},
    service::StreamKey,
};

pub struct HttpRoomCallbacks {
    http: reqwest::Client,
    url: String,
    origin: String,
    service_token: String,
    thumbnails: Option<Thumbnails>,
}

impl HttpRoomCallbacks {
    /// `url`: the rooms callback endpoint; `origin`: this node's HLS origin base URL.
    pub fn new(
        url: String,
        origin: String,
        service_token: String,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(2)))
            .pool_idle_timeout(ferrocast_kit::http::CLIENT_POOL_IDLE_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            http,
            url,
            origin,
            service_token,
            thumbnails: None,
        })
    }

    /// Updates then say whether the session has a thumbnail, so its room lists the URL.
    #[must_use]
    pub fn with_thumbnails(mut self, thumbnails: Option<Thumbnails>) -> Self {
        self.thumbnails = thumbnails;
        self
    }

    async fn post(&self, form: Vec<(&'static str, String)>) -> Result<(), CallbackError> {
        let response = self
            .http
            .post(&self.url)
            .header(SERVICE_TOKEN_HEADER, &self.service_token)
            .form(&form)
            .send()
            .await
            // reqwest's error text names the URL, never the body.
            .map_err(|e| CallbackError::Unavailable(e.without_url().to_string()))?;
        classify(response.status())
    }
}

fn classify(status: StatusCode) -> Result<(), CallbackError> {
    if status.is_success() {
        Ok(())
    } else if status == StatusCode::CONFLICT {
        Err(CallbackError::Conflict)
    } else if status.is_server_error() {
        Err(CallbackError::Unavailable(format!(
            "status {}",
            status.as_u16()
        )))
    } else {
        Err(CallbackError::Refused(status.as_u16()))
    }
}

fn common(
    call: &str,
    client: &Client,
    publisher: &Publisher,
    origin: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("call", call.to_owned()),
        ("app", client.app.clone()),
        ("addr", client.addr.to_string()),
        ("clientid", client.client_id.to_string()),
        ("session_id", publisher.session_id.clone()),
        ("origin", origin.to_owned()),
        ("username", publisher.username.clone()),
        ("user_id", publisher.user_id.clone()),
    ]
}

pub(crate) fn publish_form(
    client: &Client,
    key: &StreamKey,
    publisher: &Publisher,
    origin: &str,
) -> Vec<(&'static str, String)> {
    let mut form = common("publish", client, publisher, origin);
    form.push(("name", key.expose().to_owned()));
    form.push(("type", "live".to_owned()));
    form
}

pub(crate) fn update_form(
    client: &Client,
    publisher: &Publisher,
    renditions: &[Rendition],
    thumbnail: bool,
    origin: &str,
) -> Vec<(&'static str, String)> {
    let mut form = common("update", client, publisher, origin);
    let renditions = serde_json::to_string(renditions).unwrap_or_else(|_| "[]".to_owned());
    form.push(("renditions", renditions));
    if thumbnail {
        form.push(("thumbnail", "1".to_owned()));
    }
    form
}

pub(crate) fn done_form(
    client: &Client,
    publisher: &Publisher,
    origin: &str,
) -> Vec<(&'static str, String)> {
    common("publish_done", client, publisher, origin)
}

impl RoomCallbacks for HttpRoomCallbacks {
    fn on_publish<'a>(
        &'a self,
        client: &'a Client,
        key: &'a StreamKey,
        publisher: &'a Publisher,
    ) -> BoxFuture<'a, Result<(), CallbackError>> {
        Box::pin(self.post(publish_form(client, key, publisher, &self.origin)))
    }

    fn on_update<'a>(
        &'a self,
        client: &'a Client,
        publisher: &'a Publisher,
        renditions: &'a [Rendition],
    ) -> BoxFuture<'a, Result<(), CallbackError>> {
        let thumbnail = self
            .thumbnails
            .as_ref()
            .is_some_and(|t| t.has(&publisher.username, &publisher.session_id));
        Box::pin(self.post(update_form(
            client,
            publisher,
            renditions,
            thumbnail,
            &self.origin,
        )))
    }

    fn on_publish_done<'a>(
        &'a self,
        client: &'a Client,
        publisher: &'a Publisher,
    ) -> BoxFuture<'a, Result<(), CallbackError>> {
        Box::pin(self.post(done_form(client, publisher, &self.origin)))
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;

    fn client() -> Client {
        Client {
            app: "live".into(),
            addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7)),
            client_id: 42,
        }
    }

    fn publisher() -> Publisher {
        Publisher {
            user_id: "u1".into(),
            username: "alice".into(),
            session_id: "s1".into(),
        }
    }

    fn get<'a>(form: &'a [(&'static str, String)], name: &str) -> Option<&'a str> {
        form.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn publish_form_carries_the_key_and_session() {
        let key = StreamKey::parse("live_abc".into()).expect("key");
        let form = publish_form(&client(), &key, &publisher(), "http://10.0.0.5:8083");
        assert_eq!(get(&form, "call"), Some("publish"));
        assert_eq!(get(&form, "name"), Some("live_abc"));
        assert_eq!(get(&form, "app"), Some("live"));
        assert_eq!(get(&form, "addr"), Some("10.0.0.7"));
        assert_eq!(get(&form, "clientid"), Some("42"));
        assert_eq!(get(&form, "session_id"), Some("s1"));
        assert_eq!(get(&form, "origin"), Some("http://10.0.0.5:8083"));
        assert_eq!(get(&form, "username"), Some("alice"));
    }

    #[test]
    fn update_and_done_forms_never_carry_the_key() {
        let renditions = vec![Rendition {
            name: "360p".into(),
            width: 640,
            height: 360,
            bandwidth: 800_000,
        }];
        let update = update_form(&client(), &publisher(), &renditions, false, "http://o");
        assert_eq!(get(&update, "call"), Some("update"));
        assert_eq!(get(&update, "thumbnail"), None);
        let with_thumbnail = update_form(&client(), &publisher(), &renditions, true, "http://o");
        assert_eq!(get(&with_thumbnail, "thumbnail"), Some("1"));
        assert_eq!(get(&update, "name"), None);
        assert_eq!(get(&update, "username"), Some("alice"));
        assert_eq!(get(&update, "user_id"), Some("u1"));
        let parsed: Vec<Rendition> =
            serde_json::from_str(get(&update, "renditions").expect("renditions")).expect("json");
        assert_eq!(parsed, renditions);

        let done = done_form(&client(), &publisher(), "http://o");
        assert_eq!(get(&done, "call"), Some("publish_done"));
        assert_eq!(get(&done, "name"), None);
        assert_eq!(get(&done, "session_id"), Some("s1"));
    }

    #[test]
    fn statuses_map_to_allow_conflict_unavailable_or_refused() {
        assert_eq!(classify(StatusCode::NO_CONTENT), Ok(()));
        assert_eq!(classify(StatusCode::CONFLICT), Err(CallbackError::Conflict));
        assert!(matches!(
            classify(StatusCode::SERVICE_UNAVAILABLE),
            Err(CallbackError::Unavailable(_))
        ));
        assert_eq!(
            classify(StatusCode::FORBIDDEN),
            Err(CallbackError::Refused(403))
        );
        assert_eq!(
            classify(StatusCode::FOUND),
            Err(CallbackError::Refused(302))
        );
    }
}

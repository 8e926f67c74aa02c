//! What the nginx-rtmp style callbacks do.
//!
//! - `publish` with a stream key: users vouches for the key (fail closed), then the room is
//!   created compare-and-act (409 while another session of the user is live unless takeover).
//!   In nginx-rtmp mode the answer is a redirect that makes nginx push the stream into the HLS
//!   application under the public username, so the key never names an HLS folder.
//! - `publish` into the HLS application (nginx-rtmp mode): allowed exactly once per key publish,
//!   and only while that room is live — the key publish leaves a one-shot "relay pending" mark on
//!   the room which this publish claims atomically. A publisher guessing a live username gets
//!   nothing: the relay nginx opens itself claims the mark first (it is created by the same
//!   callback answer), and a claim without a live key publish fails. The deploy template also
//!   allows publishing into that application from loopback only.
//! - `update`: renews the lease of the session's room. A room lost with Redis is recreated from
//!   the key (nginx-rtmp) or from the owner our ingest states (service token required). Outages
//!   defer the update (2xx) rather than end an admitted stream; admission itself fails closed.
//!   nginx-rtmp's updates of a live room re-check the key too: once users no longer accepts it
//!   (rotated), the room ends and the update is refused, so nginx drops the publisher.
//! - `publish_done`: ends the room if the session still owns it.

use super::{Rooms, RoomsError};
use crate::{
    domain::{
        Call, CallbackForm, NewRoom, Origin, OriginError, OriginUrl, RoomEvent, RoomView, Route,
        SessionId, Username,
    },
    ports::{AuthError, CreateOutcome, Identity, RenewOutcome, SessionState},
};

/// How the HTTP edge should answer a callback that succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackReply {
    /// 2xx with no body of interest.
    Allowed,
    /// 2xx for our ingest: who is publishing.
    Published {
        user_id: String,
        username: String,
        session_id: String,
    },
    /// 3xx: nginx-rtmp pushes the stream to this RTMP URL.
    Redirect(String),
    /// 2xx for an update that could not be applied or checked now (store or users unavailable).
    Deferred,
}

/// What re-checking the key of a live room's update found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyCheck {
    /// Users still maps the key to the room's user.
    Valid,
    /// Users did not answer: renew anyway, answer "deferred".
    Unverified,
    /// Our ingest's update: it checks the key itself.
    CheckedByIngest,
}

/// Whoever sent the callback, as far as it matters for trust.
#[derive(Debug, Clone, Copy, Default)]
pub struct Caller<'a> {
    /// The caller presented the service token (our ingest); its stated owner can be trusted.
    pub trusted: bool,
    pub request_id: Option<&'a str>,
}

impl Rooms {
    pub async fn callback(
        &self,
        form: &CallbackForm,
        caller: Caller<'_>,
    ) -> Result<CallbackReply, RoomsError> {
        // Only nginx-rtmp calls without the service token, and only in nginx-rtmp mode; every
        // untrusted path below is checked by the stream key it carries.
        if !caller.trusted && self.settings.nginx_hls_app.is_none() {
            return Err(RoomsError::UntrustedCaller);
        }
        let untrusted;
        let form = if caller.trusted {
            form
        } else {
            untrusted = form.clone().without_ingest_fields();
            &untrusted
        };
        let route = form.route(self.settings.nginx_hls_app.as_deref());
        match (form.call()?, route) {
            (Call::Publish, Route::Key) => self.publish(form, caller).await,
            (Call::Publish, Route::Relay) => self.publish_relay(form).await,
            (Call::Update, Route::Key) => match self.update(form, caller).await {
                // The publisher was admitted at publish time. Refusing its update would make
                // nginx-rtmp drop the stream, so a Redis or users outage defers the renewal to
                // the next update (which recreates the room) instead of ending the broadcast.
                Err(RoomsError::Store(error)) => {
                    tracing::warn!(%error, "room store unavailable; update deferred");
                    Ok(CallbackReply::Deferred)
                }
                Err(RoomsError::UsersUnavailable) => Ok(CallbackReply::Deferred),
                other => other,
            },
            (Call::PublishDone, Route::Key) => self.publish_done(form, caller).await,
            // The relay's own updates and end follow the key session's; nothing to do.
            (Call::Update | Call::PublishDone, Route::Relay) => Ok(CallbackReply::Allowed),
            (Call::Other, _) => Err(RoomsError::UnsupportedCall),
        }
    }

    async fn publish(
        &self,
        form: &CallbackForm,
        caller: Caller<'_>,
    ) -> Result<CallbackReply, RoomsError> {
        let session = form.session_id()?;
        let key = form.stream_key()?;
        let identity = self
            .auth
            .authenticate_key(&key, caller.request_id)
            .await
            .map_err(|e| RoomsError::from_auth(e, RoomsError::UnknownKey))?;
        let origin = self.origin(form).await?;
        let nginx = self.settings.nginx_hls_app.is_some();
        let room = NewRoom {
            user_id: identity.user_id.clone(),
            username: identity.username.clone(),
            session_id: session.clone(),
            origin: origin.to_string(),
            renditions: form.renditions().unwrap_or_default(),
            expects_relay: nginx,
        };
        match self.store.create(room, self.settings.takeover).await? {
            CreateOutcome::Created { room, replaced } => {
                tracing::info!(username = %room.username, session = %session, "room started");
                if replaced {
                    self.announce(RoomEvent::RoomEnded {
                        username: room.username.to_string(),
                    })
                    .await;
                }
                self.announce(RoomEvent::RoomStarted(RoomView::from(&room)))
                    .await;
            }
            // A retried callback of the same publish: answer as before.
            CreateOutcome::AlreadyLive => {}
            CreateOutcome::Conflict => return Err(RoomsError::AlreadyLive),
        }
        Ok(match &self.settings.nginx_hls_app {
            Some(app) => CallbackReply::Redirect(format!(
                "{}/{app}/{}",
                self.settings.nginx_push_url.trim_end_matches('/'),
                identity.username
            )),
            None => CallbackReply::Published {
                user_id: identity.user_id,
                username: identity.username.to_string(),
                session_id: session.to_string(),
            },
        })
    }

    async fn publish_relay(&self, form: &CallbackForm) -> Result<CallbackReply, RoomsError> {
        let username = form
            .relay_username()
            .map_err(|_| RoomsError::RelayRefused)?;
        if self.store.claim_relay(&username).await? {
            Ok(CallbackReply::Allowed)
        } else {
            tracing::warn!(%username, "refused a publish into the HLS application");
            Err(RoomsError::RelayRefused)
        }
    }

    async fn update(
        &self,
        form: &CallbackForm,
        caller: Caller<'_>,
    ) -> Result<CallbackReply, RoomsError> {
        let session = form.session_id()?;
        let renditions = form.renditions();
        match self.store.session(&session).await? {
            SessionState::Ended => return Err(RoomsError::SessionOver),
            SessionState::Live(username) => {
                let key = self.recheck_key(form, caller, &username, &session).await?;
                match self
                    .store
                    .renew(
                        &username,
                        &session,
                        renditions.as_deref(),
                        form.has_thumbnail(),
                    )
                    .await?
                {
                    RenewOutcome::Renewed => {
                        return Ok(match key {
                            KeyCheck::Unverified => CallbackReply::Deferred,
                            KeyCheck::Valid | KeyCheck::CheckedByIngest => CallbackReply::Allowed,
                        })
                    }
                    RenewOutcome::Stale => return Err(RoomsError::SessionOver),
                    RenewOutcome::Missing => {}
                }
            }
            SessionState::Unknown => {}
        }
        self.recreate(form, caller, session).await
    }

    /// Rotation must cut a stream that still uses the old key (ARCHITECTURE.md), and users tells
    /// no one, so each update of a live room asks users again whether the key it names still
    /// belongs to the room's user. A clear "no" ends the room (compare-and-act on the session)
    /// and refuses the update: nginx-rtmp drops a publisher whose update gets a 4xx/5xx. No
    /// answer keeps the stream (an outage must not cut admitted streams) and renews the lease.
    ///
    /// Updates with the service token come from our ingest, which re-checks the key itself on
    /// every renewal (`services/ingest/src/service/key_check.rs`) and, by design, sends the key
    /// only on `publish` — so there is nothing here to check, and sending the key every few
    /// seconds just for rooms would spread the secret for a check the ingest already makes at
    /// the same cost (one gRPC call per renewal).
    async fn recheck_key(
        &self,
        form: &CallbackForm,
        caller: Caller<'_>,
        username: &Username,
        session: &SessionId,
    ) -> Result<KeyCheck, RoomsError> {
        if caller.trusted {
            return Ok(KeyCheck::CheckedByIngest);
        }
        let key = form.stream_key()?;
        let still_theirs = match self.auth.authenticate_key(&key, caller.request_id).await {
            Ok(identity) => identity.username == *username,
            Err(AuthError::Rejected) => false,
            Err(AuthError::Unavailable(reason)) => {
                tracing::warn!(%reason, %username, session = %session, "cannot re-check the stream key: users unavailable; renewing anyway");
                return Ok(KeyCheck::Unverified);
            }
        };
        if still_theirs {
            return Ok(KeyCheck::Valid);
        }
        tracing::info!(%username, session = %session, "stream key was rotated; ending the room and refusing the update");
        metrics::counter!("rooms_sessions_cut_total", "reason" => "key_rotated").increment(1);
        if self.store.end(Some(username), session).await? {
            self.announce(RoomEvent::RoomEnded {
                username: username.to_string(),
            })
            .await;
        }
        Err(RoomsError::UnknownKey)
    }

    /// The session is live (it sends updates) but Redis forgot its room, e.g. after a restart.
    async fn recreate(
        &self,
        form: &CallbackForm,
        caller: Caller<'_>,
        session: SessionId,
    ) -> Result<CallbackReply, RoomsError> {
        let identity = match form.stated_owner() {
            Some((user_id, username)) => Identity { user_id, username },
            None => {
                let key = form.stream_key()?;
                self.auth
                    .authenticate_key(&key, caller.request_id)
                    .await
                    .map_err(|e| RoomsError::from_auth(e, RoomsError::UnknownKey))?
            }
        };
        let origin = self.origin(form).await?;
        let room = NewRoom {
            user_id: identity.user_id,
            username: identity.username,
            session_id: session.clone(),
            origin: origin.to_string(),
            renditions: form.renditions().unwrap_or_default(),
            // nginx's relay is already running; no new one may join.
            expects_relay: false,
        };
        match self.store.create(room, false).await? {
            CreateOutcome::Created { room, replaced } => {
                tracing::info!(username = %room.username, session = %session, "room recreated from an update");
                metrics::counter!("rooms_recreated_total").increment(1);
                if replaced {
                    self.announce(RoomEvent::RoomEnded {
                        username: room.username.to_string(),
                    })
                    .await;
                }
                self.announce(RoomEvent::RoomStarted(RoomView::from(&room)))
                    .await;
                Ok(CallbackReply::Allowed)
            }
            CreateOutcome::AlreadyLive => Ok(CallbackReply::Allowed),
            CreateOutcome::Conflict => Err(RoomsError::SessionOver),
        }
    }

    async fn publish_done(
        &self,
        form: &CallbackForm,
        caller: Caller<'_>,
    ) -> Result<CallbackReply, RoomsError> {
        let session = form.session_id()?;
        let username: Option<Username> = match self.store.session(&session).await? {
            SessionState::Live(username) => Some(username),
            _ => form.stated_owner().map(|(_, username)| username),
        };
        if !caller.trusted {
            if let Some(owner) = &username {
                self.check_key_owns(form, caller, owner).await?;
            }
        }
        if self.store.end(username.as_ref(), &session).await? {
            if let Some(username) = username {
                tracing::info!(%username, session = %session, "room ended");
                self.announce(RoomEvent::RoomEnded {
                    username: username.to_string(),
                })
                .await;
            }
        }
        Ok(CallbackReply::Allowed)
    }
}

impl Rooms {
    /// The origin a new room records: our ingest's stated origin, or for nginx-rtmp (whose
    /// forms lost any `origin` a publisher added) the configured one, pinned to an address
    /// inside the ingest networks.
    async fn origin(&self, form: &CallbackForm) -> Result<Origin, RoomsError> {
        let raw = match form.stated_origin() {
            Some(stated) => stated,
            None => self
                .settings
                .default_origin
                .as_deref()
                .ok_or(RoomsError::NoOrigin)?,
        };
        let url = OriginUrl::parse(raw)?;
        let resolved = match url.literal() {
            Some(address) => vec![address],
            None => self
                .resolver
                .resolve(url.host(), url.port())
                .await
                .map_err(|reason| {
                    tracing::warn!(host = url.host(), %reason, "cannot resolve an ingest origin");
                    OriginError::Unresolved(url.host().to_owned())
                })?,
        };
        url.pin(&resolved, &self.settings.ingest_networks)
            .inspect_err(|error| {
                metrics::counter!("rooms_origins_refused_total").increment(1);
                tracing::warn!(%error, "refused an ingest origin");
            })
            .map_err(RoomsError::from)
    }

    /// nginx-rtmp's `publish_done` carries no token: it may end a session only with the key of
    /// the user who owns it, so knowing a session id (or guessing nginx's) ends nothing.
    async fn check_key_owns(
        &self,
        form: &CallbackForm,
        caller: Caller<'_>,
        owner: &Username,
    ) -> Result<(), RoomsError> {
        let key = form.stream_key()?;
        let identity = self
            .auth
            .authenticate_key(&key, caller.request_id)
            .await
            .map_err(|e| RoomsError::from_auth(e, RoomsError::UnknownKey))?;
        if identity.username == *owner {
            Ok(())
        } else {
            tracing::warn!(%owner, "refused a publish_done with another user's key");
            Err(RoomsError::UnknownKey)
        }
    }
}

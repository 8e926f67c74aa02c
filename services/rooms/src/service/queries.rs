//! The REST use cases: listing and reading rooms, viewer heartbeats, reading and setting one's
//! title.

use std::{
    net::IpAddr,
    time::{SystemTime, UNIX_EPOCH},
};

use super::{Rooms, RoomsError};
use crate::{
    domain::{Cursor, LiveRoom, RoomEvent, RoomView, Title, Username, ViewerAddress, ViewerTokens},
    ports::Identity,
};

/// What a heartbeat answers: the count, and the token the page sends next time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    pub viewers: u64,
    pub viewer_token: String,
}

/// Page size bounds of `GET /api/rooms`.
pub const DEFAULT_LIMIT: usize = 24;
pub const MAX_LIMIT: usize = 100;

impl Rooms {
    pub async fn list(
        &self,
        limit: Option<usize>,
        cursor: Option<&str>,
    ) -> Result<(Vec<RoomView>, Option<String>), RoomsError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(RoomsError::Validation {
                field: "limit",
                message: format!("limit must be between 1 and {MAX_LIMIT}"),
            });
        }
        let after = cursor
            .map(Cursor::decode)
            .transpose()
            .map_err(|_| RoomsError::Validation {
                field: "cursor",
                message: "invalid cursor".into(),
            })?;
        let page = self.store.list(limit, after).await?;
        self.announce_lapsed(&page.ended).await;
        Ok((
            page.rooms.iter().map(RoomView::from).collect(),
            page.next.map(|c| c.encode()),
        ))
    }

    /// A live room by its public name; offline and impossible names are both 404.
    pub async fn live_room(&self, username: &str) -> Result<LiveRoom, RoomsError> {
        let username = Username::parse(username).map_err(|_| RoomsError::NotFound)?;
        self.store.get(&username).await?.ok_or(RoomsError::NotFound)
    }

    /// A viewer heartbeat from `client`. The viewer is counted under the id inside its token;
    /// without a valid one (none yet, forged, another room's, expired) it gets a fresh id and
    /// token instead, and the store's per-address cap keeps a client that mints ids from
    /// counting more than a few times. A token past half its life is renewed for the same id.
    pub async fn heartbeat(
        &self,
        username: &str,
        token: Option<&str>,
        client: IpAddr,
    ) -> Result<Presence, RoomsError> {
        let username = Username::parse(username).map_err(|_| RoomsError::NotFound)?;
        let tokens = &self.settings.viewer_tokens;
        let now = unix_now();
        let verified = token.map(|token| tokens.verify(&username, token, now));
        let (id, viewer_token) = match (token, verified) {
            (Some(token), Some(Ok(verified))) => {
                let token = if verified.needs_renewal(now) {
                    tokens.issue(&username, &verified.id, now)
                } else {
                    token.to_owned()
                };
                (verified.id, token)
            }
            (_, refused) => {
                if let Some(Err(error)) = refused {
                    metrics::counter!("rooms_viewer_tokens_refused_total", "reason" => error.reason())
                        .increment(1);
                }
                let id = ViewerTokens::new_id();
                let token = tokens.issue(&username, &id, now);
                (id, token)
            }
        };
        let outcome = self
            .store
            .heartbeat(&username, &id, ViewerAddress::of(client))
            .await?
            .ok_or(RoomsError::NotFound)?;
        if !outcome.counted {
            metrics::counter!("rooms_viewer_heartbeats_uncounted_total").increment(1);
        }
        if outcome.announce {
            self.announce(RoomEvent::ViewersChanged {
                username: username.to_string(),
                viewers: outcome.viewers,
            })
            .await;
        }
        Ok(Presence {
            viewers: outcome.viewers,
            viewer_token,
        })
    }

    /// The signed-in user's stored title, whether or not they are live, so the dashboard can
    /// show it while offline; `None` before they ever set one. Fails closed like `set_title`.
    pub async fn own_title(
        &self,
        token: Option<&str>,
        request_id: Option<&str>,
    ) -> Result<Option<Title>, RoomsError> {
        let owner = self.owner(token, request_id).await?;
        Ok(self.store.get_title(&owner).await?)
    }

    /// Validates the token with users (fail closed), stores the title for this user's current
    /// and future rooms.
    pub async fn set_title(
        &self,
        token: Option<&str>,
        title: &str,
        request_id: Option<&str>,
    ) -> Result<Title, RoomsError> {
        let owner = self.owner(token, request_id).await?;
        let title = Title::parse(title).map_err(|e| RoomsError::Validation {
            field: "title",
            message: e.to_string(),
        })?;
        if self.store.set_title(&owner, &title).await? {
            self.announce(RoomEvent::TitleChanged {
                username: owner.username.to_string(),
                title: title.as_str().to_owned(),
            })
            .await;
        }
        Ok(title)
    }

    /// Who a session token belongs to, according to users; no token or a rejected one is
    /// `Unauthorized`, users not answering is `UsersUnavailable` (never let in).
    async fn owner(
        &self,
        token: Option<&str>,
        request_id: Option<&str>,
    ) -> Result<Identity, RoomsError> {
        let token = token.ok_or(RoomsError::Unauthorized)?;
        self.auth
            .validate_token(token, request_id)
            .await
            .map_err(|e| RoomsError::from_auth(e, RoomsError::Unauthorized))
    }

    pub(super) async fn announce_lapsed(&self, ended: &[Username]) {
        for username in ended {
            tracing::info!(%username, "room lease lapsed");
            metrics::counter!("rooms_lease_expiries_total").increment(1);
            self.announce(RoomEvent::RoomEnded {
                username: username.to_string(),
            })
            .await;
        }
    }
}

/// Unix seconds of this replica's clock; viewer tokens tolerate replicas a minute apart.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

//! The REST use cases: listing and reading rooms, viewer heartbeats, reading and setting one's
//! title.

use super::{Rooms, RoomsError};
use crate::{
    domain::{Cursor, LiveRoom, RoomEvent, RoomView, Title, Username, ViewerId},
    ports::Identity,
};

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

    pub async fn heartbeat(&self, username: &str, viewer: &str) -> Result<u64, RoomsError> {
        let username = Username::parse(username).map_err(|_| RoomsError::NotFound)?;
        let viewer = ViewerId::parse(viewer).map_err(|e| RoomsError::Validation {
            field: "viewer_id",
            message: e.to_string(),
        })?;
        let (viewers, changed) = self
            .store
            .heartbeat(&username, &viewer)
            .await?
            .ok_or(RoomsError::NotFound)?;
        if changed {
            self.announce(RoomEvent::ViewersChanged {
                username: username.to_string(),
                viewers,
            })
            .await;
        }
        Ok(viewers)
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

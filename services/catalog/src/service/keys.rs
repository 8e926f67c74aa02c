//! Encrypted videos: whether a new upload is encrypted (its request, else its owner's
//! setting), its content key made and sealed, the ClearKey licence that hands the key out, and
//! the media playlists rewritten for hls.js on the way out.
//!
//! A video's key goes only to a signed-in viewer holding a live playback session of that video
//! (its token, `X-Playback-Token`): anyone else who may see the video gets its encrypted files
//! and no key.

use bytes::Bytes;
use ferrocast_kit::sealing;
use ferrocast_media::vod::package::{self, ContentKey};
use futures::{StreamExt, TryStreamExt};

use super::{Catalog, CatalogError};
use crate::{
    domain::{Encryption, MediaId, MediaKind, OwnerSettings, SettingsChange},
    ports::{Caller, OpenedObject},
};

/// The largest media playlist rewritten in memory (a ten-hour video with 2 s segments has
/// ≈ 18 000 segments at ≈ 30 bytes each: ≈ 0.5 MiB).
const MAX_PLAYLIST_BYTES: u64 = 4 * 1024 * 1024;

impl Catalog {
    /// The sealed content key a new item of `kind` gets: for a video whose upload asks for
    /// encryption (`asked`), or whose owner encrypts by default when it does not say.
    pub(super) async fn new_encryption(
        &self,
        caller: &Caller,
        id: MediaId,
        kind: MediaKind,
        asked: Option<bool>,
    ) -> Result<Option<Encryption>, CatalogError> {
        let wanted = match (kind, asked) {
            (MediaKind::Image, Some(true)) => {
                return Err(CatalogError::Validation {
                    field: "encrypt",
                    message: "only videos are encrypted".into(),
                })
            }
            (MediaKind::Image, _) => false,
            (MediaKind::Video, Some(asked)) => asked,
            (MediaKind::Video, None) => {
                self.store
                    .owner_settings(&caller.user_id)
                    .await?
                    .encrypt_videos
            }
        };
        if !wanted {
            return Ok(None);
        }
        let sealer = self
            .settings
            .sealer
            .as_ref()
            .ok_or(CatalogError::EncryptionUnavailable)?;
        let key = ContentKey::new(sealing::random(), sealing::random(), sealing::random());
        Ok(Some(Encryption {
            key_id: key.kid(),
            sealed: sealer.seal(&key.to_bytes(), id.0.as_bytes()),
        }))
    }

    /// The sealed content key as a job carries it (only workers with the platform key open it).
    pub(super) fn job_key(encryption: Option<&Encryption>) -> Option<String> {
        encryption.map(|e| sealing::to_text(&e.sealed))
    }

    pub async fn owner_settings(&self, caller: &Caller) -> Result<OwnerSettings, CatalogError> {
        Ok(self.store.owner_settings(&caller.user_id).await?)
    }

    /// Applies `change` to the owner's settings; what it leaves out stays.
    pub async fn save_owner_settings(
        &self,
        caller: &Caller,
        change: SettingsChange,
    ) -> Result<OwnerSettings, CatalogError> {
        if change.encrypt_videos == Some(true) && self.settings.sealer.is_none() {
            return Err(CatalogError::EncryptionUnavailable);
        }
        Ok(self
            .store
            .save_owner_settings(&caller.user_id, &change)
            .await?)
    }

    /// The W3C ClearKey licence for the key ids `request` names (a JSON `{"kids": [...]}`), for
    /// a caller whose playback session `session_token` is live on this video.
    pub async fn licence(
        &self,
        caller: &Caller,
        id: MediaId,
        request: &[u8],
        session_token: Option<&str>,
    ) -> Result<String, CatalogError> {
        let item = self.visible(Some(caller), id).await?;
        let encryption = item
            .encryption
            .as_ref()
            .ok_or(CatalogError::Conflict("this video is not encrypted"))?;
        let kids =
            package::licence_request_kids(request).map_err(|e| CatalogError::Validation {
                field: "kids",
                message: e.to_string(),
            })?;
        if !kids.contains(&encryption.key_id) {
            return Err(CatalogError::Validation {
                field: "kids",
                message: "no key of this video was asked for".into(),
            });
        }
        if !self.session_allows(caller, id, session_token).await? {
            return Err(CatalogError::NoSession);
        }
        let key = self.open_key(id, encryption)?;
        tracing::info!(media = %id, "content key handed to a playback session");
        Ok(package::clearkey_licence(&[&key]))
    }

    fn open_key(&self, id: MediaId, encryption: &Encryption) -> Result<ContentKey, CatalogError> {
        let sealer = self
            .settings
            .sealer
            .as_ref()
            .ok_or(CatalogError::EncryptionUnavailable)?;
        sealer
            .open(&encryption.sealed, id.0.as_bytes())
            .ok()
            .and_then(|bytes| ContentKey::from_bytes(&bytes))
            .ok_or_else(|| {
                tracing::error!(media = %id, "a stored content key does not open with the platform key");
                CatalogError::EncryptionUnavailable
            })
    }
}

/// A media playlist of an encrypted video with its key lines in the form hls.js plays with
/// EME ClearKey (`ferrocast_media::vod::package::clearkey_hls`); the stored one stays as the
/// packager wrote it.
pub(super) async fn clearkey_playlist(
    object: OpenedObject,
    encryption: &Encryption,
) -> Result<OpenedObject, CatalogError> {
    if object.length > MAX_PLAYLIST_BYTES {
        return Err(CatalogError::Storage(format!(
            "a playlist of {} bytes is too large to serve",
            object.length
        )));
    }
    let bytes: Vec<u8> = object
        .body
        .map_ok(|chunk| chunk.to_vec())
        .try_concat()
        .await
        .map_err(|e| CatalogError::Storage(e.to_string()))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| CatalogError::Storage("a stored playlist is not UTF-8".into()))?;
    let rewritten = Bytes::from(package::clearkey_hls(&text, encryption.key_id));
    Ok(OpenedObject {
        length: rewritten.len() as u64,
        body: futures::stream::once(async move { Ok(rewritten) }).boxed(),
    })
}

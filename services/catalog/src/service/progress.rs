//! Processing progress for the browsers that follow it: every change of an item's record is
//! announced once it is stored (whichever replica stored it), and a stream starts from the
//! records of the items its caller may see.

use std::{sync::Arc, time::Duration};

use futures::{future::BoxFuture, FutureExt};

use super::{Catalog, CatalogError};
use crate::{
    domain::{processing::Processing, MediaId},
    ports::{ProgressPublisher, QueueError},
};

/// How long recording a report waits for its announcement to be handed to NATS.
const ANNOUNCE_WAIT: Duration = Duration::from_secs(1);

/// Announces nothing: a catalogue with no replicas to tell (and the default).
pub(super) struct Silent;

impl ProgressPublisher for Silent {
    fn announce<'a>(
        &'a self,
        _id: MediaId,
        _processing: &'a Processing,
    ) -> BoxFuture<'a, Result<(), QueueError>> {
        async { Ok(()) }.boxed()
    }
}

impl Catalog {
    /// The catalogue announcing every stored change of a processing record through `publisher`.
    pub fn announcing(mut self, publisher: Arc<dyn ProgressPublisher>) -> Self {
        self.progress = publisher;
        self
    }

    /// Announces `processing`, already stored, as `id`'s record. Best effort: the record is
    /// safe in the database, and a stream that missed it reads it when it reconnects.
    pub(super) async fn announce(&self, id: MediaId, processing: &Processing) {
        let announced = tokio::time::timeout(ANNOUNCE_WAIT, self.progress.announce(id, processing))
            .await
            .unwrap_or_else(|_| Err(QueueError("no answer in time".into())));
        if let Err(error) = announced {
            tracing::warn!(media = %id, %error, "processing change not announced");
        }
    }

    /// The items of `ids` the caller may see, each with its processing record now. The others
    /// are left out without a word: someone else's private item is as absent as a missing one.
    pub async fn watch(
        &self,
        token: Option<&str>,
        request_id: Option<&str>,
        ids: &[MediaId],
    ) -> Result<Vec<(MediaId, Option<Processing>)>, CatalogError> {
        let caller = self.optional_caller(token, request_id).await?;
        let user = caller.as_ref().map(|c| c.user_id.as_str());
        let mut visible = Vec::with_capacity(ids.len());
        for &id in ids {
            if let Some(item) = self.store.get(id).await? {
                if item.visible_to(user) {
                    visible.push((id, item.processing));
                }
            }
        }
        Ok(visible)
    }
}

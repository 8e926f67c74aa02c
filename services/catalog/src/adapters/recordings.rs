//! The [`RecordingStore`] port on PostgreSQL (`recordings`, migration 0006), on the media
//! store's pool. Every value travels as a bind parameter.

use chrono::{DateTime, Utc};
use futures::{future::BoxFuture, FutureExt};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    domain::MediaId,
    ports::{Caller, RecordingRow, RecordingStore, StoreError},
};

pub struct PgRecordings {
    pool: PgPool,
}

impl PgRecordings {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn backend(error: sqlx::Error) -> StoreError {
    StoreError::Backend(error.to_string())
}

type Row = (
    String,
    String,
    Option<Uuid>,
    Option<String>,
    Option<String>,
    bool,
    DateTime<Utc>,
);

const COLUMNS: &str =
    "recording_id, owner_id, media_id, stopped_reason, refused_reason, finalized, created_at";

fn row(
    (recording_id, owner_id, media_id, stopped_reason, refused_reason, finalized, created_at): Row,
) -> RecordingRow {
    RecordingRow {
        recording_id,
        owner_id,
        media_id: media_id.map(MediaId),
        stopped_reason,
        refused_reason,
        finalized,
        created_at,
    }
}

impl PgRecordings {
    /// Sets one of the reason columns (named here, never by a request).
    fn set_reason<'a>(
        &'a self,
        column: &'static str,
        recording_id: &'a str,
        reason: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        async move {
            sqlx::query(&format!(
                "UPDATE recordings SET {column} = $2, updated_at = now() WHERE recording_id = $1"
            ))
            .bind(recording_id)
            .bind(reason)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
            Ok(())
        }
        .boxed()
    }
}

impl RecordingStore for PgRecordings {
    fn claim<'a>(
        &'a self,
        recording_id: &'a str,
        owner: &'a Caller,
    ) -> BoxFuture<'a, Result<RecordingRow, StoreError>> {
        async move {
            sqlx::query(
                "INSERT INTO recordings (recording_id, owner_id, owner_name) VALUES ($1, $2, $3) \
                 ON CONFLICT (recording_id) DO NOTHING",
            )
            .bind(recording_id)
            .bind(&owner.user_id)
            .bind(&owner.username)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
            let found: Row = sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM recordings WHERE recording_id = $1"
            ))
            .bind(recording_id)
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
            Ok(row(found))
        }
        .boxed()
    }

    fn attach(
        &self,
        recording_id: &str,
        media_id: MediaId,
    ) -> BoxFuture<'_, Result<Option<MediaId>, StoreError>> {
        let recording_id = recording_id.to_owned();
        async move {
            // Only the first registration names its video; a racing one reads the winner's.
            let named: Option<Option<Uuid>> = sqlx::query_scalar(
                "UPDATE recordings SET media_id = COALESCE(media_id, $2), updated_at = now() \
                 WHERE recording_id = $1 RETURNING media_id",
            )
            .bind(&recording_id)
            .bind(media_id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
            Ok(named.flatten().map(MediaId))
        }
        .boxed()
    }

    fn detach(
        &self,
        recording_id: &str,
        media_id: MediaId,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        let recording_id = recording_id.to_owned();
        async move {
            sqlx::query(
                "UPDATE recordings SET media_id = NULL, finalized = false, updated_at = now() \
                 WHERE recording_id = $1 AND media_id = $2",
            )
            .bind(&recording_id)
            .bind(media_id.0)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
            Ok(())
        }
        .boxed()
    }

    fn stopped<'a>(
        &'a self,
        recording_id: &'a str,
        reason: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.set_reason("stopped_reason", recording_id, reason)
    }

    fn refused<'a>(
        &'a self,
        recording_id: &'a str,
        reason: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.set_reason("refused_reason", recording_id, reason)
    }

    fn finalized<'a>(&'a self, recording_id: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        async move {
            sqlx::query(
                "UPDATE recordings SET finalized = true, updated_at = now() WHERE recording_id = $1",
            )
            .bind(recording_id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
            Ok(())
        }
        .boxed()
    }

    fn recent<'a>(
        &'a self,
        owner_id: &'a str,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<RecordingRow>, StoreError>> {
        async move {
            let rows: Vec<Row> = sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM recordings WHERE owner_id = $1 \
                 ORDER BY created_at DESC LIMIT $2"
            ))
            .bind(owner_id)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
            Ok(rows.into_iter().map(row).collect())
        }
        .boxed()
    }
}

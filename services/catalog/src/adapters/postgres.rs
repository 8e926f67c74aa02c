//! The [`MediaStore`] port on PostgreSQL: items, the shared tag list, full-text search
//! (`tsvector` + GIN, prefix terms) with typo tolerance from a trigram-indexed vocabulary of
//! title words. Migrations are embedded and run at start. Every value travels as a bind
//! parameter.

use std::time::Duration;

use chrono::{DateTime, Utc};
use ferrocast_kit::jobs::{Event, Outputs};
use futures::{future::BoxFuture, FutureExt};
use serde::Deserialize;
use sqlx::{postgres::PgPoolOptions, types::Json, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::{
    domain::{
        processing::{JobState, Processing},
        search::MAX_ALTERNATIVES,
    },
    domain::{
        ContentType, Cursor, Description, Encryption, MediaId, MediaItem, MediaKind, MediaQuery,
        MediaStatus, OwnerSettings, SettingsChange, Sha256, Tag, Title, UploadMethod, Visibility,
    },
    ports::{MediaChanges, MediaStore, StoreError, TagCount},
};

/// Connections per replica: searches may hold at most the search concurrency of them, so
/// uploads and reads always find one.
pub const POOL_SIZE: u32 = 16;

/// Opens the pool lazily (PostgreSQL may still be starting; `/readyz` tells) and runs the
/// migrations once it answers.
pub async fn connect(url: &str) -> Result<PgPool, sqlx::Error> {
    let pool = PgPoolOptions::new()
        .max_connections(POOL_SIZE)
        .acquire_timeout(Duration::from_secs(5))
        .after_connect(|connection, _| {
            Box::pin(async move {
                // Every statement is planned for its values: how common a tag or a word is
                // decides between walking the newest items and collecting the matches, and a
                // generic plan would pick one for all. `word % term` holds from a similarity of
                // 0.4 ("streming" → "streaming" is 0.58, "pastq" → "pasta" 0.44). No statement
                // runs longer than a request may take.
                for setting in [
                    "SET plan_cache_mode = force_custom_plan",
                    "SET pg_trgm.similarity_threshold = 0.4",
                    "SET statement_timeout = '8s'",
                ] {
                    sqlx::Executor::execute(&mut *connection, setting).await?;
                }
                Ok(())
            })
        })
        .connect(url)
        .await?;
    sqlx::migrate!("./migrations").run(&pool).await?;
    Ok(pool)
}

pub struct PgMediaStore {
    pool: PgPool,
}

/// Whose items a listing or search may show (the owner filter, or what is public), and the
/// tag filter as the ids the item's tag array must hold.
fn push_filters<'q>(
    sql: &mut QueryBuilder<'q, Postgres>,
    query: &'q MediaQuery,
    tag_ids: &'q [i64],
) {
    match &query.owner {
        Some(owner) => {
            sql.push(" WHERE m.owner_name = ")
                .push_bind(owner)
                .push(" AND (m.owner_id = ")
                .push_bind(query.caller.as_deref().unwrap_or(""))
                .push(format!(" OR {PUBLIC})"));
        }
        None => {
            sql.push(format!(" WHERE {PUBLIC}"));
        }
    }
    if !tag_ids.is_empty() {
        sql.push(" AND m.tag_ids @> ").push_bind(tag_ids);
    }
}

impl PgMediaStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn backend(error: sqlx::Error) -> StoreError {
    StoreError::Backend(error.to_string())
}

const COLUMNS: &str = "m.id, m.owner_id, m.owner_name, m.kind, m.title, m.description, \
    m.visibility, m.status, m.content_type, m.size_bytes, m.sha256, m.upload_id, m.part_size, \
    m.created_at, m.updated_at, m.uploaded_at, m.key_id, m.sealed_key, \
    ARRAY(SELECT t.name FROM unnest(m.tag_ids) WITH ORDINALITY AS u(id, n) \
      JOIN tags t ON t.id = u.id ORDER BY u.n) AS tags, \
    (SELECT to_jsonb(j) FROM media_jobs j WHERE j.media_id = m.id) AS job";

/// How many of the newest matches a ranked search scores (see `search`).
const RANK_CANDIDATES: i64 = crate::domain::search::RANKED_RESULTS as i64;

/// What is public: listed, and past its upload.
const PUBLIC: &str = "(m.visibility = 'public' AND m.status <> 'awaiting_upload')";

#[derive(sqlx::FromRow)]
struct MediaRow {
    id: Uuid,
    owner_id: String,
    owner_name: String,
    kind: String,
    title: String,
    description: String,
    visibility: String,
    status: String,
    content_type: String,
    size_bytes: i64,
    sha256: Vec<u8>,
    upload_id: Option<String>,
    part_size: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    uploaded_at: Option<DateTime<Utc>>,
    key_id: Option<Vec<u8>>,
    sealed_key: Option<Vec<u8>>,
    tags: Vec<String>,
    job: Option<Json<JobRow>>,
}

/// A `media_jobs` row, as `to_jsonb` writes it.
#[derive(Debug, Deserialize)]
struct JobRow {
    job_id: Uuid,
    state: String,
    percent: i16,
    attempts: i32,
    reason: Option<String>,
    master: Option<String>,
    renditions: Vec<String>,
    outputs: Option<Outputs>,
    queued: bool,
    queued_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    playable_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
}

impl JobRow {
    fn processing(self) -> Option<Processing> {
        Some(Processing {
            job_id: self.job_id,
            state: JobState::from_db(&self.state)?,
            percent: u8::try_from(self.percent).unwrap_or(0).min(100),
            attempts: u32::try_from(self.attempts).unwrap_or(0),
            reason: self.reason,
            master: self.master,
            renditions: self.renditions,
            outputs: self.outputs,
            queued: self.queued,
            queued_at: self.queued_at,
            started_at: self.started_at,
            playable_at: self.playable_at,
            finished_at: self.finished_at,
        })
    }
}

impl TryFrom<MediaRow> for MediaItem {
    type Error = StoreError;

    fn try_from(row: MediaRow) -> Result<Self, StoreError> {
        let corrupt =
            |what: &str| StoreError::Backend(format!("stored {what} of {} is invalid", row.id));
        let upload = match (row.upload_id.clone(), row.part_size) {
            (Some(upload_id), Some(part_size)) => UploadMethod::Multipart {
                upload_id,
                part_size: u64::try_from(part_size).map_err(|_| corrupt("part size"))?,
            },
            _ => UploadMethod::Single,
        };
        Ok(MediaItem {
            id: MediaId(row.id),
            kind: MediaKind::from_db(&row.kind).ok_or_else(|| corrupt("kind"))?,
            title: Title::parse(&row.title).map_err(|_| corrupt("title"))?,
            description: Description::parse(&row.description)
                .map_err(|_| corrupt("description"))?,
            tags: row.tags.into_iter().map(Tag::from_db).collect(),
            visibility: Visibility::from_db(&row.visibility)
                .ok_or_else(|| corrupt("visibility"))?,
            status: MediaStatus::from_db(&row.status).ok_or_else(|| corrupt("status"))?,
            content_type: ContentType::parse(&row.content_type)
                .ok_or_else(|| corrupt("content type"))?,
            size: u64::try_from(row.size_bytes).map_err(|_| corrupt("size"))?,
            sha256: Sha256::from_slice(&row.sha256).ok_or_else(|| corrupt("digest"))?,
            upload,
            owner_id: row.owner_id,
            owner_name: row.owner_name,
            created_at: row.created_at,
            updated_at: row.updated_at,
            uploaded_at: row.uploaded_at,
            processing: match row.job {
                Some(Json(job)) => Some(job.processing().ok_or_else(|| corrupt("job"))?),
                None => None,
            },
            encryption: match (row.key_id, row.sealed_key) {
                (Some(key_id), Some(sealed)) => Some(Encryption {
                    key_id: key_id.try_into().map_err(|_| corrupt("key id"))?,
                    sealed,
                }),
                _ => None,
            },
        })
    }
}

fn to_items(rows: Vec<MediaRow>) -> Result<Vec<MediaItem>, StoreError> {
    rows.into_iter().map(MediaItem::try_from).collect()
}

fn signed(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Replaces an item's tags inside `tx`: new names join the shared list, the item's tag array
/// becomes their ids in the given order.
async fn write_tags(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    id: Uuid,
    tags: &[Tag],
) -> Result<(), sqlx::Error> {
    let names: Vec<&str> = tags.iter().map(Tag::as_str).collect();
    if !names.is_empty() {
        sqlx::query(
            "INSERT INTO tags (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING",
        )
        .bind(&names)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query(
        "UPDATE media SET tag_ids = ARRAY(SELECT t.id FROM unnest($2::text[]) \
           WITH ORDINALITY AS u(name, n) JOIN tags t ON t.name = u.name ORDER BY u.n) \
         WHERE id = $1",
    )
    .bind(id)
    .bind(&names)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// `LIKE` pattern for names starting with `prefix` (its `%`, `_` and `\` matched literally).
fn starts_with_pattern(prefix: &str) -> String {
    let escaped = prefix
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("{escaped}%")
}

impl PgMediaStore {
    /// The ids of `tags`, or `None` when one of them is on no item (then nothing matches).
    async fn tag_ids(&self, tags: &[Tag]) -> Result<Option<Vec<i64>>, StoreError> {
        if tags.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let names: Vec<&str> = tags.iter().map(Tag::as_str).collect();
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM tags WHERE name = ANY($1)")
            .bind(&names)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        Ok((ids.len() == tags.len()).then_some(ids))
    }

    /// Up to `MAX_ALTERNATIVES` title words similar to each of `words`, the most similar first.
    async fn alternatives(&self, words: &[String]) -> Result<Vec<Vec<String>>, StoreError> {
        sqlx::query_scalar(
            "SELECT ARRAY(SELECT s.word FROM search_words s WHERE s.word % u.term \
               ORDER BY similarity(s.word, u.term) DESC, s.word LIMIT $2) \
             FROM unnest($1::text[]) WITH ORDINALITY AS u(term, n) ORDER BY u.n",
        )
        .bind(words)
        .bind(MAX_ALTERNATIVES as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)
    }

    /// One page of `query`, its words matched as the `tsquery` text says.
    async fn page(
        &self,
        query: &MediaQuery,
        tsquery: Option<&str>,
        tag_ids: &[i64],
    ) -> Result<Vec<MediaItem>, StoreError> {
        let rows: Vec<MediaRow> = page_statement("", query, tsquery, tag_ids)
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        to_items(rows)
    }

    /// `EXPLAIN (ANALYZE, BUFFERS)` of the statement a search runs first, with its values: for
    /// benchmarks and for operators chasing a slow search.
    pub async fn explain(&self, query: &MediaQuery) -> Result<Vec<String>, StoreError> {
        let tag_ids = self.tag_ids(&query.tags).await?.unwrap_or_default();
        let tsquery = query.text.as_ref().map(|text| text.tsquery.as_str());
        page_statement("EXPLAIN (ANALYZE, BUFFERS) ", query, tsquery, &tag_ids)
            .build_query_scalar()
            .fetch_all(&self.pool)
            .await
            .map_err(backend)
    }
}

/// The statement of one page of `query` (see [`PgMediaStore::page`]) after `prefix`.
fn page_statement<'q>(
    prefix: &str,
    query: &'q MediaQuery,
    tsquery: Option<&'q str>,
    tag_ids: &'q [i64],
) -> QueryBuilder<'q, Postgres> {
    let mut sql = QueryBuilder::<Postgres>::new(prefix);
    // A ranked search scores only the newest RANK_CANDIDATES matches: no index returns
    // rows in relevance order, and scoring every match of a common word is a scan of
    // most of the table.
    if tsquery.is_some() {
        sql.push(format!("SELECT {COLUMNS} FROM (SELECT m.* FROM media m"));
    } else {
        sql.push(format!("SELECT {COLUMNS} FROM media m"));
    }
    push_filters(&mut sql, query, tag_ids);
    let limit = i64::from(query.limit) + 1;
    match tsquery {
        Some(tsquery) => {
            let offset = match &query.cursor {
                Some(Cursor::Offset { n }) => i64::from(*n),
                _ => 0,
            };
            sql.push(" AND m.search @@ to_tsquery('simple', ")
                .push_bind(tsquery)
                .push(") ORDER BY m.created_at DESC LIMIT ")
                .push_bind(RANK_CANDIDATES)
                .push(") m ORDER BY ts_rank(m.search, to_tsquery('simple', ")
                .push_bind(tsquery)
                .push(")) DESC, m.created_at DESC, m.id DESC OFFSET ")
                .push_bind(offset)
                .push(" LIMIT ")
                .push_bind(limit);
        }
        None => {
            if let Some(Cursor::After { at, id }) = &query.cursor {
                sql.push(" AND (m.created_at, m.id) < (")
                    .push_bind(*at)
                    .push(", ")
                    .push_bind(*id)
                    .push(")");
            }
            sql.push(" ORDER BY m.created_at DESC, m.id DESC LIMIT ")
                .push_bind(limit);
        }
    }
    sql
}

impl MediaStore for PgMediaStore {
    fn create<'a>(
        &'a self,
        item: &'a MediaItem,
        quota: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        async move {
            let mut tx = self.pool.begin().await.map_err(backend)?;
            // One owner's creations queue here, so the sum below cannot be raced past.
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind(&item.owner_id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            let used: i64 = sqlx::query_scalar(
                "SELECT COALESCE(sum(size_bytes), 0)::bigint FROM media WHERE owner_id = $1",
            )
            .bind(&item.owner_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
            let used = u64::try_from(used).unwrap_or(0);
            if used.saturating_add(item.size) > quota {
                return Err(StoreError::QuotaExceeded { used, quota });
            }
            let (upload_id, part_size) = match &item.upload {
                UploadMethod::Single => (None, None),
                UploadMethod::Multipart {
                    upload_id,
                    part_size,
                } => (Some(upload_id.as_str()), Some(signed(*part_size))),
            };
            sqlx::query(
                "INSERT INTO media (id, owner_id, owner_name, kind, title, description, \
                 visibility, status, content_type, size_bytes, sha256, upload_id, part_size, \
                 created_at, updated_at, key_id, sealed_key) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, \
                 $15, $16)",
            )
            .bind(item.id.0)
            .bind(&item.owner_id)
            .bind(&item.owner_name)
            .bind(item.kind.as_str())
            .bind(item.title.as_str())
            .bind(item.description.as_str())
            .bind(item.visibility.as_str())
            .bind(item.status.as_str())
            .bind(item.content_type.as_str())
            .bind(signed(item.size))
            .bind(item.sha256.0.as_slice())
            .bind(upload_id)
            .bind(part_size)
            .bind(item.created_at)
            .bind(item.encryption.as_ref().map(|e| e.key_id.as_slice()))
            .bind(item.encryption.as_ref().map(|e| e.sealed.as_slice()))
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            write_tags(&mut tx, item.id.0, &item.tags)
                .await
                .map_err(backend)?;
            tx.commit().await.map_err(backend)
        }
        .boxed()
    }

    fn get(&self, id: MediaId) -> BoxFuture<'_, Result<Option<MediaItem>, StoreError>> {
        async move {
            let row: Option<MediaRow> =
                sqlx::query_as(&format!("SELECT {COLUMNS} FROM media m WHERE m.id = $1"))
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend)?;
            row.map(MediaItem::try_from).transpose()
        }
        .boxed()
    }

    fn update<'a>(
        &'a self,
        id: MediaId,
        changes: &'a MediaChanges,
    ) -> BoxFuture<'a, Result<Option<MediaItem>, StoreError>> {
        async move {
            let mut tx = self.pool.begin().await.map_err(backend)?;
            let updated = sqlx::query(
                "UPDATE media SET title = COALESCE($2, title), \
                 description = COALESCE($3, description), \
                 visibility = COALESCE($4, visibility), updated_at = now() WHERE id = $1",
            )
            .bind(id.0)
            .bind(changes.title.as_ref().map(Title::as_str))
            .bind(changes.description.as_ref().map(Description::as_str))
            .bind(changes.visibility.map(Visibility::as_str))
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            if updated.rows_affected() == 0 {
                return Ok(None);
            }
            if let Some(tags) = &changes.tags {
                write_tags(&mut tx, id.0, tags).await.map_err(backend)?;
            }
            tx.commit().await.map_err(backend)?;
            self.get(id).await
        }
        .boxed()
    }

    fn mark_uploaded(&self, id: MediaId) -> BoxFuture<'_, Result<bool, StoreError>> {
        async move {
            let done = sqlx::query(
                "UPDATE media SET status = 'uploaded', uploaded_at = now(), updated_at = now() \
                 WHERE id = $1 AND status = 'awaiting_upload'",
            )
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
            Ok(done.rows_affected() == 1)
        }
        .boxed()
    }

    fn delete(&self, id: MediaId) -> BoxFuture<'_, Result<(), StoreError>> {
        async move {
            sqlx::query("DELETE FROM media WHERE id = $1")
                .bind(id.0)
                .execute(&self.pool)
                .await
                .map_err(backend)?;
            Ok(())
        }
        .boxed()
    }

    fn search<'a>(
        &'a self,
        query: &'a MediaQuery,
    ) -> BoxFuture<'a, Result<Vec<MediaItem>, StoreError>> {
        async move {
            let Some(tag_ids) = self.tag_ids(&query.tags).await? else {
                return Ok(Vec::new());
            };
            let tsquery = query.text.as_ref().map(|text| text.tsquery.as_str());
            let items = self.page(query, tsquery, &tag_ids).await?;
            match &query.text {
                // No word matched as written: perhaps one is misspelt. Each word may then also
                // be one of the title words most like it; one more search, on the first page
                // only (later pages continue what the first page showed).
                Some(text) if items.is_empty() && query.cursor.is_none() => {
                    let alternatives = self.alternatives(&text.words).await?;
                    if alternatives.iter().all(Vec::is_empty) {
                        return Ok(items);
                    }
                    let widened = text.with_alternatives(&alternatives);
                    self.page(query, Some(&widened), &tag_ids).await
                }
                _ => Ok(items),
            }
        }
        .boxed()
    }

    fn tags<'a>(
        &'a self,
        prefix: &'a str,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<TagCount>, StoreError>> {
        async move {
            let rows: Vec<(String, i64)> = sqlx::query_as(
                "SELECT name, public_count FROM tags WHERE public_count > 0 AND name LIKE $1 \
                 ORDER BY public_count DESC, name LIMIT $2",
            )
            .bind(starts_with_pattern(prefix))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
            Ok(rows
                .into_iter()
                .map(|(tag, count)| TagCount {
                    tag,
                    count: u64::try_from(count).unwrap_or(0),
                })
                .collect())
        }
        .boxed()
    }

    fn count_tags<'a>(&'a self, only: Option<&'a [Tag]>) -> BoxFuture<'a, Result<(), StoreError>> {
        async move {
            let names: Option<Vec<&str>> = only.map(|tags| tags.iter().map(Tag::as_str).collect());
            sqlx::query(&format!(
                "WITH c AS (SELECT t.id, (SELECT count(*) FROM media m \
                   WHERE m.tag_ids @> ARRAY[t.id] AND {PUBLIC}) AS n \
                   FROM tags t WHERE $1::text[] IS NULL OR t.name = ANY($1)) \
                 UPDATE tags SET public_count = c.n FROM c \
                 WHERE tags.id = c.id AND tags.public_count <> c.n"
            ))
            .bind(names)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
            Ok(())
        }
        .boxed()
    }

    fn expired_uploads(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<MediaItem>, StoreError>> {
        async move {
            let rows: Vec<MediaRow> = sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM media m WHERE m.status = 'awaiting_upload' \
                 AND m.created_at < $1 ORDER BY m.created_at LIMIT $2"
            ))
            .bind(before)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
            to_items(rows)
        }
        .boxed()
    }

    fn stored_bytes(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        async move {
            let bytes: i64 = sqlx::query_scalar(
                "SELECT COALESCE(sum(size_bytes), 0)::bigint FROM media \
                 WHERE status <> 'awaiting_upload'",
            )
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
            Ok(u64::try_from(bytes).unwrap_or(0))
        }
        .boxed()
    }

    fn save_processing<'a>(
        &'a self,
        id: MediaId,
        processing: &'a Processing,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        async move {
            save_processing(&self.pool, id.0, processing)
                .await
                .map_err(backend)
        }
        .boxed()
    }

    fn record<'a>(
        &'a self,
        event: &'a Event,
    ) -> BoxFuture<'a, Result<Option<Processing>, StoreError>> {
        async move {
            let mut tx = self.pool.begin().await.map_err(backend)?;
            let row: Option<Json<JobRow>> = sqlx::query_scalar(
                "SELECT to_jsonb(j) FROM media_jobs j WHERE j.media_id = $1 FOR UPDATE",
            )
            .bind(event.media_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
            let Some(current) = row.and_then(|Json(row)| row.processing()) else {
                return Ok(None);
            };
            let Some(next) = current.apply(event) else {
                return Ok(None);
            };
            save_processing(&mut *tx, event.media_id, &next)
                .await
                .map_err(backend)?;
            tx.commit().await.map_err(backend)?;
            Ok(Some(next))
        }
        .boxed()
    }

    fn mark_queued(&self, id: MediaId, job_id: Uuid) -> BoxFuture<'_, Result<(), StoreError>> {
        async move {
            sqlx::query("UPDATE media_jobs SET queued = true WHERE media_id = $1 AND job_id = $2")
                .bind(id.0)
                .bind(job_id)
                .execute(&self.pool)
                .await
                .map_err(backend)?;
            Ok(())
        }
        .boxed()
    }

    fn videos_without_job(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<MediaId>, StoreError>> {
        async move {
            let ids: Vec<Uuid> = sqlx::query_scalar(
                "SELECT m.id FROM media m WHERE m.kind = 'video' AND m.status = 'uploaded' \
                 AND m.uploaded_at < $1 \
                 AND NOT EXISTS (SELECT 1 FROM media_jobs j WHERE j.media_id = m.id) \
                 ORDER BY m.uploaded_at LIMIT $2",
            )
            .bind(before)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
            Ok(ids.into_iter().map(MediaId).collect())
        }
        .boxed()
    }

    fn unqueued_jobs(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<(MediaId, Uuid)>, StoreError>> {
        async move {
            let rows: Vec<(Uuid, Uuid)> = sqlx::query_as(
                "SELECT media_id, job_id FROM media_jobs WHERE NOT queued AND queued_at < $1 \
                 ORDER BY queued_at LIMIT $2",
            )
            .bind(before)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
            Ok(rows.into_iter().map(|(m, j)| (MediaId(m), j)).collect())
        }
        .boxed()
    }

    fn owner_settings<'a>(
        &'a self,
        owner_id: &'a str,
    ) -> BoxFuture<'a, Result<OwnerSettings, StoreError>> {
        async move {
            let row: Option<(bool, bool)> = sqlx::query_as(
                "SELECT encrypt_videos, save_past_broadcasts FROM owner_settings WHERE owner_id = $1",
            )
            .bind(owner_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
            Ok(row.map_or_else(OwnerSettings::default, |(encrypt, save)| {
                OwnerSettings {
                    encrypt_videos: encrypt,
                    save_past_broadcasts: save,
                }
            }))
        }
        .boxed()
    }

    fn save_owner_settings<'a>(
        &'a self,
        owner_id: &'a str,
        change: &'a SettingsChange,
    ) -> BoxFuture<'a, Result<OwnerSettings, StoreError>> {
        async move {
            let defaults = OwnerSettings::default();
            let (encrypt_videos, save_past_broadcasts): (bool, bool) = sqlx::query_as(
                "INSERT INTO owner_settings (owner_id, encrypt_videos, save_past_broadcasts) \
                 VALUES ($1, COALESCE($2, $4), COALESCE($3, $5)) \
                 ON CONFLICT (owner_id) DO UPDATE SET \
                 encrypt_videos = COALESCE($2, owner_settings.encrypt_videos), \
                 save_past_broadcasts = COALESCE($3, owner_settings.save_past_broadcasts), \
                 updated_at = now() \
                 RETURNING encrypt_videos, save_past_broadcasts",
            )
            .bind(owner_id)
            .bind(change.encrypt_videos)
            .bind(change.save_past_broadcasts)
            .bind(defaults.encrypt_videos)
            .bind(defaults.save_past_broadcasts)
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
            Ok(OwnerSettings {
                encrypt_videos,
                save_past_broadcasts,
            })
        }
        .boxed()
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        async move {
            sqlx::query("SELECT 1")
                .execute(&self.pool)
                .await
                .map(|_| ())
                .map_err(backend)
        }
        .boxed()
    }
}

/// Inserts or replaces the processing record of `media`.
async fn save_processing<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    media: Uuid,
    p: &Processing,
) -> Result<(), sqlx::Error> {
    let outputs = p.outputs.as_ref().map(Json);
    sqlx::query(
        "INSERT INTO media_jobs (media_id, job_id, state, percent, attempts, reason, master, \
           renditions, outputs, queued, queued_at, started_at, playable_at, finished_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (media_id) DO UPDATE SET job_id = $2, state = $3, percent = $4, \
           attempts = $5, reason = $6, master = $7, renditions = $8, outputs = $9, \
           queued = $10, queued_at = $11, started_at = $12, playable_at = $13, finished_at = $14",
    )
    .bind(media)
    .bind(p.job_id)
    .bind(p.state.as_str())
    .bind(i16::from(p.percent))
    .bind(i32::try_from(p.attempts).unwrap_or(i32::MAX))
    .bind(p.reason.as_deref())
    .bind(p.master.as_deref())
    .bind(&p.renditions)
    .bind(outputs)
    .bind(p.queued)
    .bind(p.queued_at)
    .bind(p.started_at)
    .bind(p.playable_at)
    .bind(p.finished_at)
    .execute(executor)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::starts_with_pattern;

    #[test]
    fn like_wildcards_in_a_prefix_match_themselves() {
        assert_eq!(starts_with_pattern("ab"), "ab%");
        assert_eq!(starts_with_pattern("5%_\\"), "5\\%\\_\\\\%");
    }
}

//! `RateLimiter` on MongoDB: one document per counter and window in `rate_limits`
//! (`{_id: "login:addr:203.0.113.9:29612345", count, expires_at}`), bumped with a single
//! `findOneAndUpdate` upsert + `$inc`, so concurrent requests on any replica never lose a count.
//! A TTL index on `expires_at` removes finished windows (MongoDB sweeps once a minute, and so
//! does SecantusDB); a leftover is harmless, since the next window has another `_id`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use mongodb::{
    bson::{doc, DateTime as BsonDateTime},
    options::{IndexOptions, ReturnDocument},
    Collection, Database, IndexModel,
};
use serde::{Deserialize, Serialize};

use super::mongo::{to_bson_time, with_deadline};
use crate::ports::{RateLimiter, StoreError, StoreResult};

const COLLECTION: &str = "rate_limits";

#[derive(Debug, Serialize, Deserialize)]
struct CounterDocument {
    #[serde(rename = "_id")]
    id: String,
    count: i64,
    expires_at: BsonDateTime,
}

#[derive(Clone)]
pub struct MongoRateLimiter {
    counters: Collection<CounterDocument>,
}

impl MongoRateLimiter {
    /// Uses `database` (the users store's) and creates the TTL index. The collection keeps the
    /// database's default write concern: unlike an account, a counter lost in a crash costs
    /// nothing worth a journal flush on every login.
    pub async fn new(database: &Database) -> StoreResult<Self> {
        let counters = database.collection(COLLECTION);
        let expiry = IndexModel::builder()
            .keys(doc! { "expires_at": 1 })
            .options(
                IndexOptions::builder()
                    .name("expires_at_ttl".to_owned())
                    .expire_after(Duration::ZERO)
                    .build(),
            )
            .build();
        with_deadline(counters.create_index(expiry)).await?;
        Ok(Self { counters })
    }

    async fn increment(&self, id: &str, expires_at: BsonDateTime) -> StoreResult<u64> {
        let update = doc! {
            "$inc": { "count": 1_i64 },
            "$setOnInsert": { "expires_at": expires_at },
        };
        let operation = self
            .counters
            .find_one_and_update(doc! { "_id": id }, update)
            .upsert(true)
            .return_document(ReturnDocument::After);
        let document = match with_deadline(operation).await? {
            Some(document) => document,
            // SecantusDB sometimes answers a racing first upsert of an `_id` with no document
            // although it applied the increment (seen in 1 of 64 concurrent upserts). The
            // counter as read now is at least this request's count: erring high is safe.
            None => with_deadline(self.counters.find_one(doc! { "_id": id }))
                .await?
                .ok_or_else(|| StoreError::Internal("a counter upsert left no document".into()))?,
        };
        Ok(u64::try_from(document.count).unwrap_or(0))
    }
}

impl RateLimiter for MongoRateLimiter {
    fn count(&self, id: &str, expires_at: DateTime<Utc>) -> BoxFuture<'_, StoreResult<u64>> {
        let (id, expires_at) = (id.to_owned(), to_bson_time(expires_at));
        Box::pin(async move {
            match self.increment(&id, expires_at).await {
                // Two first hits of a window race to insert the same `_id`; the loser's upsert
                // fails with a duplicate key, and the document now exists, so once more is an
                // update.
                Err(StoreError::Conflict(_)) => self.increment(&id, expires_at).await,
                other => other,
            }
        })
    }

    fn uncount(&self, id: &str) -> BoxFuture<'_, StoreResult<()>> {
        let filter = doc! { "_id": id, "count": { "$gt": 0_i64 } };
        Box::pin(async move {
            with_deadline(
                self.counters
                    .update_one(filter, doc! { "$inc": { "count": -1_i64 } }),
            )
            .await?;
            Ok(())
        })
    }
}

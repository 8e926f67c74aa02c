//! `UserStore` on MongoDB (SecantusDB in tests and local runs; only the URL differs).
//!
//! Uniqueness of username, email and stream key hash is enforced by unique indexes created at
//! start, so racing signups are decided by the store, never by check-then-insert. The client is
//! configured to fail fast (short server selection and connect timeouts, and a deadline around
//! every operation) so an outage becomes quick 503s instead of requests hanging.

use std::{future::IntoFuture, time::Duration};

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use mongodb::{
    bson::{doc, DateTime as BsonDateTime, Document},
    error::{Error as MongoError, ErrorKind, WriteFailure},
    options::{Acknowledgment, ClientOptions, CollectionOptions, IndexOptions, WriteConcern},
    Client, Collection, Database, IndexModel,
};
use serde::{Deserialize, Serialize};

use crate::{
    domain::{Email, Login, PasswordHash, StreamKeyHash, StreamKeyInfo, User, UserId, Username},
    ports::{StoreError, StoreResult, UniqueField, UserStore},
};

const COLLECTION: &str = "users";
const DUPLICATE_KEY: i32 = 11000;
/// Deadline of each operation, on top of the driver's own server selection timeout.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(3);
const PING_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, Serialize, Deserialize)]
struct UserDocument {
    #[serde(rename = "_id")]
    id: String,
    username: String,
    email: String,
    password_hash: String,
    created_at: BsonDateTime,
    // Absent (not null) until the first key: the unique index only covers present values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stream_key_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stream_key_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stream_key_created_at: Option<BsonDateTime>,
}

impl UserDocument {
    fn into_user(self) -> StoreResult<(User, PasswordHash)> {
        let corrupt =
            |field: &str| StoreError::Internal(format!("stored user has an invalid {field}"));
        let user = User {
            id: UserId::from_string(self.id),
            username: Username::parse(&self.username).map_err(|_| corrupt("username"))?,
            email: Email::parse(&self.email).map_err(|_| corrupt("email"))?,
            created_at: from_bson_time(self.created_at),
        };
        Ok((user, PasswordHash::from_phc(self.password_hash)))
    }
}

#[derive(Clone)]
pub struct MongoUserStore {
    users: Collection<UserDocument>,
    database: Database,
}

impl MongoUserStore {
    /// Connects (lazily: the driver dials on first use) and creates the unique indexes, which
    /// fails when the store is unreachable — a service must not take signups without them.
    pub async fn connect(url: &str, database: &str) -> StoreResult<Self> {
        let mut options = ClientOptions::parse(url)
            .await
            .map_err(|e| StoreError::Internal(format!("invalid MongoDB URL: {}", e.kind)))?;
        options.app_name = Some("ferrocast-users".into());
        options.server_selection_timeout = Some(Duration::from_secs(2));
        options.connect_timeout = Some(Duration::from_secs(2));
        // A pooled connection left idle for minutes may have been closed by the server or a
        // middlebox in between; a write on it fails, and writes are not retried on a standalone
        // store, so the first signup after a quiet spell answered 503 (seen after 8 idle
        // minutes). Idle connections are dropped first, and the driver dials afresh.
        // `maxIdleTimeMS` in the URL still wins.
        options.max_idle_time.get_or_insert(Duration::from_secs(60));
        let client = Client::with_options(options).map_err(classify)?;
        let database = client.database(database);
        // A signup answered 201 or a key shown once must survive a crash: acknowledge writes
        // only once journaled (and, on a replica set, on a majority). Without `j`, a store
        // killed right after the write can lose it (observed with SecantusDB and SIGKILL).
        let durable = WriteConcern::builder()
            .w(Acknowledgment::Majority)
            .journal(true)
            .build();
        let users = database.collection_with_options(
            COLLECTION,
            CollectionOptions::builder().write_concern(durable).build(),
        );
        let store = Self { users, database };
        store.create_indexes().await?;
        Ok(store)
    }

    async fn create_indexes(&self) -> StoreResult<()> {
        let unique = |name: &str| IndexOptions::builder().unique(true).name(name.to_owned());
        let indexes = vec![
            IndexModel::builder()
                .keys(doc! { "username": 1 })
                .options(unique("username_unique").build())
                .build(),
            IndexModel::builder()
                .keys(doc! { "email": 1 })
                .options(unique("email_unique").build())
                .build(),
            // Sparse: users without a key have no such field and must not collide on "missing".
            IndexModel::builder()
                .keys(doc! { "stream_key_hash": 1 })
                .options(unique("stream_key_hash_unique").sparse(true).build())
                .build(),
        ];
        with_deadline(self.users.create_indexes(indexes)).await?;
        Ok(())
    }

    /// The database the store lives in, for the other collections of this service.
    pub fn database(&self) -> &Database {
        &self.database
    }

    async fn find_one(&self, filter: Document) -> StoreResult<Option<(User, PasswordHash)>> {
        match with_deadline(self.users.find_one(filter)).await? {
            Some(document) => document.into_user().map(Some),
            None => Ok(None),
        }
    }

    async fn find_user(&self, filter: Document) -> StoreResult<Option<User>> {
        Ok(self.find_one(filter).await?.map(|(user, _)| user))
    }
}

impl UserStore for MongoUserStore {
    fn insert(&self, user: &User, password_hash: &PasswordHash) -> BoxFuture<'_, StoreResult<()>> {
        let document = UserDocument {
            id: user.id.as_str().to_owned(),
            username: user.username.as_str().to_owned(),
            email: user.email.as_str().to_owned(),
            password_hash: password_hash.as_str().to_owned(),
            created_at: to_bson_time(user.created_at),
            stream_key_hash: None,
            stream_key_prefix: None,
            stream_key_created_at: None,
        };
        Box::pin(async move {
            with_deadline(self.users.insert_one(document)).await?;
            Ok(())
        })
    }

    fn credentials(
        &self,
        login: &Login,
    ) -> BoxFuture<'_, StoreResult<Option<(User, PasswordHash)>>> {
        let filter = match login {
            Login::Username(username) => doc! { "username": username.as_str() },
            Login::Email(email) => doc! { "email": email.as_str() },
        };
        Box::pin(self.find_one(filter))
    }

    fn by_id(&self, id: &UserId) -> BoxFuture<'_, StoreResult<Option<User>>> {
        Box::pin(self.find_user(doc! { "_id": id.as_str() }))
    }

    fn by_username(&self, username: &Username) -> BoxFuture<'_, StoreResult<Option<User>>> {
        Box::pin(self.find_user(doc! { "username": username.as_str() }))
    }

    fn by_stream_key(&self, hash: &StreamKeyHash) -> BoxFuture<'_, StoreResult<Option<User>>> {
        Box::pin(self.find_user(doc! { "stream_key_hash": hash.as_str() }))
    }

    fn set_stream_key(
        &self,
        id: &UserId,
        hash: &StreamKeyHash,
        prefix: &str,
        created_at: DateTime<Utc>,
    ) -> BoxFuture<'_, StoreResult<bool>> {
        let filter = doc! { "_id": id.as_str() };
        let update = doc! { "$set": {
            "stream_key_hash": hash.as_str(),
            "stream_key_prefix": prefix,
            "stream_key_created_at": to_bson_time(created_at),
        } };
        Box::pin(async move {
            let result = with_deadline(self.users.update_one(filter, update)).await?;
            Ok(result.matched_count == 1)
        })
    }

    fn stream_key_info(&self, id: &UserId) -> BoxFuture<'_, StoreResult<Option<StreamKeyInfo>>> {
        let filter = doc! { "_id": id.as_str() };
        Box::pin(async move {
            let document = with_deadline(self.users.find_one(filter)).await?;
            Ok(document.and_then(|d| {
                Some(StreamKeyInfo {
                    prefix: d.stream_key_prefix?,
                    created_at: from_bson_time(d.stream_key_created_at?),
                })
            }))
        })
    }

    fn ping(&self) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            match tokio::time::timeout(PING_TIMEOUT, self.database.run_command(doc! { "ping": 1 }))
                .await
            {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(error)) => Err(classify(error)),
                Err(_) => Err(StoreError::Unavailable("ping timed out".into())),
            }
        })
    }
}

pub(crate) async fn with_deadline<T>(
    operation: impl IntoFuture<Output = mongodb::error::Result<T>>,
) -> StoreResult<T> {
    match tokio::time::timeout(OPERATION_TIMEOUT, operation.into_future()).await {
        Ok(result) => result.map_err(classify),
        Err(_) => Err(StoreError::Unavailable("operation timed out".into())),
    }
}

pub(crate) fn to_bson_time(time: DateTime<Utc>) -> BsonDateTime {
    BsonDateTime::from_millis(time.timestamp_millis())
}

fn from_bson_time(time: BsonDateTime) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(time.timestamp_millis()).unwrap_or_default()
}

/// Sorts driver errors into "taken", "store not answering" and "unexpected".
fn classify(error: MongoError) -> StoreError {
    match error.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(write)) if write.code == DUPLICATE_KEY => {
            StoreError::Conflict(conflicting_field(&write.message))
        }
        ErrorKind::Command(command) if command.code == DUPLICATE_KEY => {
            StoreError::Conflict(conflicting_field(&command.message))
        }
        ErrorKind::Io(_)
        | ErrorKind::ServerSelection { .. }
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::DnsResolve { .. } => StoreError::Unavailable(error.kind.to_string()),
        _ if error.contains_label("RetryableWriteError")
            || error.contains_label("TransientTransactionError") =>
        {
            StoreError::Unavailable(error.kind.to_string())
        }
        _ => StoreError::Internal(error.kind.to_string()),
    }
}

/// The duplicate-key message names the index (`... index: email_unique dup key: { ... }`). Only
/// the index name is looked at: the duplicated value itself may contain any of these words.
fn conflicting_field(message: &str) -> UniqueField {
    let index = message
        .split_once("index: ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or_default();
    match index {
        "email_unique" => UniqueField::Email,
        "stream_key_hash_unique" => UniqueField::StreamKey,
        _ => UniqueField::Username,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicting_field_is_read_from_the_index_name_not_the_value() {
        let email = r#"E11000 duplicate key error collection: t.users index: email_unique dup key: { email: "username_unique@x.io" }"#;
        assert_eq!(conflicting_field(email), UniqueField::Email);
        let username = r#"E11000 duplicate key error collection: t.users index: username_unique dup key: { username: "email_unique" }"#;
        assert_eq!(conflicting_field(username), UniqueField::Username);
        let key = "caused by :: E11000 duplicate key error collection: t.users index: stream_key_hash_unique dup key";
        assert_eq!(conflicting_field(key), UniqueField::StreamKey);
    }
}

//! The catalogue's adapters: PostgreSQL, S3, the users service, NATS (the job queue, and
//! processing progress between replicas), Redis (playback sessions), PostgreSQL again for past
//! broadcasts (`recordings`) and the HTTP edge.

pub mod http;
pub mod playback;
pub mod postgres;
pub mod progress;
pub mod queue;
pub mod recordings;
pub mod s3;
pub mod users;

//! The catalogue's adapters: PostgreSQL, S3, the users service and the HTTP edge.

pub mod http;
pub mod postgres;
pub mod queue;
pub mod s3;
pub mod users;

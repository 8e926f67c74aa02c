//! The catalogue against real dependencies: PostgreSQL, SeaweedFS (a real S3 server that checks
//! signatures and checksums) and the users service in-process.

mod access;
mod search;
mod support;
mod uploads;

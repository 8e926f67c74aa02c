//! An S3 client (aws-sdk-s3) set up the way every ferrocast service talks to object storage:
//! path-style addressing (a bucket needs no DNS name of its own), ring-based rustls (no C
//! toolchain), checksums only where asked for, and deadlines the SDK does not set by itself.

use std::time::Duration;

use aws_sdk_s3::{
    config::http::HttpResponse,
    config::{
        timeout::TimeoutConfig, BehaviorVersion, Credentials, Region, RequestChecksumCalculation,
        ResponseChecksumValidation,
    },
    error::SdkError,
    operation::get_object::{GetObjectError, GetObjectOutput},
    Client,
};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

use crate::config::storage::Storage;

/// How long a request may take. The SDK sets no deadline of its own: a storage that accepts
/// and stalls would hold a request (and its caller) forever.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    pub connect: Duration,
    /// One attempt of an operation, its body included.
    pub attempt: Duration,
    /// The operation, retries included.
    pub operation: Duration,
}

impl Deadlines {
    /// For requests answered at once (heads, small objects, multipart bookkeeping).
    pub const QUICK: Self = Self {
        connect: Duration::from_secs(3),
        attempt: Duration::from_secs(8),
        operation: Duration::from_secs(20),
    };
}

/// A client of `storage` that sends to `endpoint` (the storage's own, or the public one for a
/// client that only signs URLs browsers use: the host is part of the signature).
pub fn client(storage: &Storage, endpoint: &str, deadlines: Deadlines) -> Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(storage.region.clone()))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .credentials_provider(Credentials::new(
            storage.access_key(),
            storage.secret_key(),
            None,
            None,
            "ferrocast",
        ))
        // The SDK's default CRC32 on every request would land in presigned URLs as a header
        // browsers do not send.
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(deadlines.connect)
                .operation_attempt_timeout(deadlines.attempt)
                .operation_timeout(deadlines.operation)
                .build(),
        )
        .http_client(http)
        .build();
    Client::from_conf(config)
}

/// GET of `key`, or `None` when the bucket has no such key (any other failure is an error).
pub async fn get_if_exists(
    client: &Client,
    bucket: &str,
    key: &str,
) -> Result<Option<GetObjectOutput>, SdkError<GetObjectError, HttpResponse>> {
    match client.get_object().bucket(bucket).key(key).send().await {
        Ok(object) => Ok(Some(object)),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(GetObjectError::is_no_such_key) =>
        {
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

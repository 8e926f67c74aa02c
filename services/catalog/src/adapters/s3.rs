//! The [`ObjectStore`] port over the S3 API (aws-sdk-s3), for SeaweedFS locally and any S3 in a
//! deployment. Two clients share the credentials: one talks to the storage endpoint the service
//! reaches, the other only signs URLs for the endpoint browsers reach (the host is part of the
//! signature). Path-style addressing, so a bucket needs no DNS name of its own.

use std::time::Duration;

use aws_sdk_s3::{
    error::{ProvideErrorMetadata, SdkError},
    presigning::{PresignedRequest as SdkPresigned, PresigningConfig},
    primitives::ByteStream,
    types::{
        ChecksumMode, CompletedMultipartUpload, CompletedPart, CorsConfiguration, CorsRule, Delete,
        ObjectIdentifier,
    },
    Client,
};
use chrono::Utc;
use ferrocast_kit::{
    config::storage::Storage,
    s3::{self, Deadlines},
};
use futures::{future::BoxFuture, FutureExt, StreamExt};

use crate::{
    domain::{ContentType, Sha256},
    ports::{ObjectError, ObjectInfo, ObjectStore, OpenedObject, PresignedRequest},
};

pub struct S3Objects {
    client: Client,
    signer: Client,
    bucket: String,
}

impl S3Objects {
    pub fn new(storage: &Storage) -> Self {
        Self {
            client: s3::client(storage, &storage.endpoint, Deadlines::QUICK),
            signer: s3::client(storage, storage.public_endpoint(), Deadlines::QUICK),
            bucket: storage.bucket.clone(),
        }
    }

    /// Creates the bucket when it is missing and lets `origins` upload to it from a browser
    /// (CORS: PUT of the signed headers, and the ETag of each part readable by the page).
    pub async fn prepare_bucket(&self, origins: &[String]) -> Result<(), ObjectError> {
        if let Err(error) = self.client.head_bucket().bucket(&self.bucket).send().await {
            if status(&error) != Some(404) {
                return Err(backend(error));
            }
            match self
                .client
                .create_bucket()
                .bucket(&self.bucket)
                .send()
                .await
            {
                Ok(_) => tracing::info!(bucket = %self.bucket, "bucket created"),
                // Another replica made it in the meantime.
                Err(error) if code(&error) == Some("BucketAlreadyOwnedByYou") => {}
                Err(error) => return Err(backend(error)),
            }
        }
        if origins.is_empty() {
            return Ok(());
        }
        let rule = CorsRule::builder()
            .set_allowed_origins(Some(origins.to_vec()))
            .allowed_methods("PUT")
            .allowed_methods("GET")
            .allowed_methods("HEAD")
            .allowed_headers("*")
            .expose_headers("ETag")
            .max_age_seconds(3600)
            .build()
            .map_err(|e| ObjectError::Backend(e.to_string()))?;
        let cors = CorsConfiguration::builder()
            .cors_rules(rule)
            .build()
            .map_err(|e| ObjectError::Backend(e.to_string()))?;
        self.client
            .put_bucket_cors()
            .bucket(&self.bucket)
            .cors_configuration(cors)
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }
}

fn backend<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    error: SdkError<E, R>,
) -> ObjectError {
    let message = match error.as_service_error() {
        Some(service) => format!(
            "{}: {}",
            service.code().unwrap_or("error"),
            service.message().unwrap_or("")
        ),
        None => format!("{error:?}").chars().take(300).collect(),
    };
    ObjectError::Backend(message)
}

fn code<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> Option<&str> {
    error
        .as_service_error()
        .and_then(ProvideErrorMetadata::code)
}

/// Whether storage says the multipart upload is gone (completed or aborted): by its error code,
/// or by a bare 404 where the answer carries no body to name it.
fn no_such_upload<E: ProvideErrorMetadata>(
    error: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> bool {
    code(error) == Some("NoSuchUpload") || status(error) == Some(404)
}

fn status<E>(error: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> Option<u16> {
    error.raw_response().map(|r| r.status().as_u16())
}

fn presigned(method: &'static str, ttl: Duration, request: SdkPresigned) -> PresignedRequest {
    PresignedRequest {
        method,
        url: request.uri().to_owned(),
        // Host and Content-Length are signed but every HTTP client (a browser must) sets them
        // itself from the URL and the body: a mismatch fails the signature.
        headers: request
            .headers()
            .filter(|(name, _)| {
                !name.eq_ignore_ascii_case("host") && !name.eq_ignore_ascii_case("content-length")
            })
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect(),
        expires_at: Utc::now() + chrono::Duration::from_std(ttl).unwrap_or_default(),
    }
}

fn presigning(ttl: Duration) -> Result<PresigningConfig, ObjectError> {
    PresigningConfig::expires_in(ttl).map_err(|e| ObjectError::Backend(e.to_string()))
}

fn signed_length(length: u64) -> i64 {
    i64::try_from(length).unwrap_or(i64::MAX)
}

impl ObjectStore for S3Objects {
    fn presign_put<'a>(
        &'a self,
        key: &'a str,
        size: u64,
        sha256: Sha256,
        content_type: ContentType,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<PresignedRequest, ObjectError>> {
        async move {
            let request = self
                .signer
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .content_length(signed_length(size))
                .content_type(content_type.as_str())
                .checksum_sha256(sha256.to_base64())
                .presigned(presigning(ttl)?)
                .await
                .map_err(backend)?;
            Ok(presigned("PUT", ttl, request))
        }
        .boxed()
    }

    fn create_multipart<'a>(
        &'a self,
        key: &'a str,
        content_type: ContentType,
    ) -> BoxFuture<'a, Result<String, ObjectError>> {
        async move {
            // No checksum algorithm on the upload itself (SeaweedFS then refuses to complete
            // it): each part's PUT is still signed with, and checked against, its SHA-256.
            let created = self
                .client
                .create_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .content_type(content_type.as_str())
                .send()
                .await
                .map_err(backend)?;
            created
                .upload_id
                .ok_or_else(|| ObjectError::Backend("storage gave no upload id".into()))
        }
        .boxed()
    }

    fn presign_part<'a>(
        &'a self,
        key: &'a str,
        upload_id: &'a str,
        number: u32,
        length: u64,
        sha256: Sha256,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<PresignedRequest, ObjectError>> {
        async move {
            let request = self
                .signer
                .upload_part()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(i32::try_from(number).unwrap_or(i32::MAX))
                .content_length(signed_length(length))
                .checksum_sha256(sha256.to_base64())
                .presigned(presigning(ttl)?)
                .await
                .map_err(backend)?;
            Ok(presigned("PUT", ttl, request))
        }
        .boxed()
    }

    fn complete_multipart<'a>(
        &'a self,
        key: &'a str,
        upload_id: &'a str,
        parts: u32,
    ) -> BoxFuture<'a, Result<(), ObjectError>> {
        async move {
            let listed = match self
                .client
                .list_parts()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .max_parts(10_000)
                .send()
                .await
            {
                Ok(listed) => listed,
                Err(error) if no_such_upload(&error) => return Err(ObjectError::NoSuchUpload),
                Err(error) => return Err(backend(error)),
            };
            let mut completed: Vec<CompletedPart> = listed
                .parts()
                .iter()
                .map(|part| {
                    CompletedPart::builder()
                        .set_part_number(part.part_number)
                        .set_e_tag(part.e_tag.clone())
                        .build()
                })
                .collect();
            completed.sort_by_key(|p| p.part_number);
            let numbers: Vec<i32> = completed.iter().filter_map(|p| p.part_number).collect();
            let expected: Vec<i32> = (1..=i32::try_from(parts).unwrap_or(i32::MAX)).collect();
            if numbers != expected {
                return Err(ObjectError::InvalidParts(format!(
                    "storage holds {} of {parts} parts",
                    numbers.len()
                )));
            }
            match self
                .client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(completed))
                        .build(),
                )
                .send()
                .await
            {
                Ok(_) => Ok(()),
                Err(error) if code(&error) == Some("NoSuchUpload") => {
                    Err(ObjectError::NoSuchUpload)
                }
                Err(error)
                    if matches!(
                        code(&error),
                        Some("InvalidPart" | "InvalidPartOrder" | "EntityTooSmall")
                    ) =>
                {
                    Err(ObjectError::InvalidParts(backend(error).to_string()))
                }
                Err(error) => Err(backend(error)),
            }
        }
        .boxed()
    }

    fn abort_multipart<'a>(
        &'a self,
        key: &'a str,
        upload_id: &'a str,
    ) -> BoxFuture<'a, Result<(), ObjectError>> {
        async move {
            match self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .send()
                .await
            {
                Ok(_) => Ok(()),
                Err(error) if no_such_upload(&error) => Err(ObjectError::NoSuchUpload),
                Err(error) => Err(backend(error)),
            }
        }
        .boxed()
    }

    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<ObjectInfo>, ObjectError>> {
        async move {
            match self
                .client
                .head_object()
                .bucket(&self.bucket)
                .key(key)
                .checksum_mode(ChecksumMode::Enabled)
                .send()
                .await
            {
                Ok(head) => Ok(Some(ObjectInfo {
                    size: head
                        .content_length
                        .and_then(|l| u64::try_from(l).ok())
                        .unwrap_or(0),
                    sha256: head
                        .checksum_sha256
                        .as_deref()
                        .and_then(Sha256::from_base64),
                })),
                Err(error) if status(&error) == Some(404) => Ok(None),
                Err(error) => Err(backend(error)),
            }
        }
        .boxed()
    }

    fn open<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<OpenedObject>, ObjectError>> {
        async move {
            let Some(object) = s3::get_if_exists(&self.client, &self.bucket, key)
                .await
                .map_err(backend)?
            else {
                return Ok(None);
            };
            let length = u64::try_from(object.content_length().unwrap_or(0)).unwrap_or(0);
            // Ends after the first error.
            let body = futures::stream::unfold(Some(object.body), |body| async move {
                let mut body = body?;
                match body.try_next().await {
                    Ok(Some(chunk)) => Some((Ok(chunk), Some(body))),
                    Ok(None) => None,
                    Err(error) => Some((Err(std::io::Error::other(error.to_string())), None)),
                }
            })
            .boxed();
            Ok(Some(OpenedObject { length, body }))
        }
        .boxed()
    }

    fn read_start<'a>(
        &'a self,
        key: &'a str,
        length: usize,
    ) -> BoxFuture<'a, Result<Vec<u8>, ObjectError>> {
        async move {
            let object = self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(key)
                .range(format!("bytes=0-{}", length.saturating_sub(1)))
                .send()
                .await
                .map_err(backend)?;
            let bytes = collect(object.body, length).await?;
            Ok(bytes)
        }
        .boxed()
    }

    fn presign_get<'a>(
        &'a self,
        key: &'a str,
        filename: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<PresignedRequest, ObjectError>> {
        async move {
            let request = self
                .signer
                .get_object()
                .bucket(&self.bucket)
                .key(key)
                .response_content_disposition(format!("attachment; filename=\"{filename}\""))
                .presigned(presigning(ttl)?)
                .await
                .map_err(backend)?;
            Ok(presigned("GET", ttl, request))
        }
        .boxed()
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), ObjectError>> {
        async move {
            self.client
                .delete_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
                .map_err(backend)?;
            Ok(())
        }
        .boxed()
    }

    fn delete_prefix<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<(), ObjectError>> {
        async move {
            loop {
                let listed = self
                    .client
                    .list_objects_v2()
                    .bucket(&self.bucket)
                    .prefix(prefix)
                    .max_keys(1000)
                    .send()
                    .await
                    .map_err(backend)?;
                let keys: Vec<ObjectIdentifier> = listed
                    .contents()
                    .iter()
                    .filter_map(|o| o.key.clone())
                    .filter_map(|key| ObjectIdentifier::builder().key(key).build().ok())
                    .collect();
                if keys.is_empty() {
                    return Ok(());
                }
                let delete = Delete::builder()
                    .set_objects(Some(keys))
                    .quiet(true)
                    .build()
                    .map_err(|e| ObjectError::Backend(e.to_string()))?;
                self.client
                    .delete_objects()
                    .bucket(&self.bucket)
                    .delete(delete)
                    .send()
                    .await
                    .map_err(backend)?;
            }
        }
        .boxed()
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), ObjectError>> {
        async move {
            self.client
                .head_bucket()
                .bucket(&self.bucket)
                .send()
                .await
                .map(|_| ())
                .map_err(backend)
        }
        .boxed()
    }
}

/// At most `limit` bytes of a body (a range answer may still be longer if storage ignores the
/// range).
async fn collect(mut body: ByteStream, limit: usize) -> Result<Vec<u8>, ObjectError> {
    let mut bytes = Vec::with_capacity(limit);
    while bytes.len() < limit {
        match body.try_next().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(error) => return Err(ObjectError::Backend(error.to_string())),
        }
    }
    bytes.truncate(limit);
    Ok(bytes)
}

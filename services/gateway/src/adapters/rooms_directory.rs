//! [`OriginDirectory`] over the rooms service's internal lookup,
//! `GET /internal/rooms/{username}` → 200 `{username, session_id, origin}` or 404 (offline).

use std::time::Duration;

use ferrocast_kit::{client::Networks, config::Secret, http::SERVICE_TOKEN_HEADER};
use serde::Deserialize;

use super::upstream::describe;
use crate::{
    domain::{origin::Origin, username::Username},
    ports::{DirectoryError, OriginDirectory, OriginLookup},
};

pub struct RoomsDirectory {
    client: reqwest::Client,
    rooms_url: String,
    timeout: Duration,
    /// Rooms' internal routes want the service token.
    service_token: Secret,
    /// The only addresses an origin may have.
    networks: Networks,
}

#[derive(Deserialize)]
struct RoomRecord {
    username: String,
    origin: String,
}

impl RoomsDirectory {
    pub fn new(
        client: reqwest::Client,
        rooms_url: &str,
        timeout: Duration,
        service_token: Secret,
        networks: Networks,
    ) -> Self {
        Self {
            client,
            rooms_url: rooms_url.trim_end_matches('/').to_owned(),
            timeout,
            service_token,
            networks,
        }
    }

    async fn lookup(&self, username: &Username) -> Result<Option<Origin>, DirectoryError> {
        let url = format!("{}/internal/rooms/{username}", self.rooms_url);
        let response = self
            .client
            .get(url)
            .header(SERVICE_TOKEN_HEADER, self.service_token.expose())
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| DirectoryError::Unreachable(describe(e)))?;
        match response.status() {
            reqwest::StatusCode::NOT_FOUND => return Ok(None),
            status if !status.is_success() => {
                return Err(DirectoryError::Unexpected(format!("status {status}")))
            }
            _ => {}
        }
        let record: RoomRecord = response
            .json()
            .await
            .map_err(|e| DirectoryError::Unexpected(describe(e)))?;
        // A record for someone else would route one user's viewers to another's stream.
        if record.username != username.as_str() {
            return Err(DirectoryError::Unexpected(format!(
                "asked for {username}, answered for {}",
                record.username
            )));
        }
        let origin =
            Origin::parse(&record.origin).map_err(|e| DirectoryError::Unexpected(e.to_string()))?;
        // Rooms records origins as addresses inside the ingest networks; a record that is not
        // one is refused here too, so no room record can send the gateway to another host.
        if !origin.address().is_some_and(|a| self.networks.contains(a)) {
            metrics::counter!("gateway_origins_refused_total").increment(1);
            return Err(DirectoryError::Unexpected(format!(
                "origin {origin} of {username} is outside FERROCAST_INGEST_NETWORKS"
            )));
        }
        Ok(Some(origin))
    }
}

impl OriginDirectory for RoomsDirectory {
    fn origin<'a>(&'a self, username: &'a Username) -> OriginLookup<'a> {
        Box::pin(async move {
            let answer = self.lookup(username).await;
            let outcome = match &answer {
                Ok(Some(_)) => "live",
                Ok(None) => "offline",
                Err(_) => "error",
            };
            metrics::counter!("gateway_origin_lookups_total", "outcome" => outcome).increment(1);
            answer
        })
    }
}

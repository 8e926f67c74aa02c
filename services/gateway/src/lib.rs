//! ferrocast gateway: the browser's single origin.
//!
//! Serves the built frontend with an SPA fallback, forwards `/api/users/*` to users and
//! `/api/rooms/*` + `/api/events` (SSE, streamed) to rooms, and routes `/hls/{username}/*` to the
//! ingest node that holds that user's live room, found through rooms' internal lookup and cached
//! for about a second. The services' private routes (`/internal/*`, `/callbacks/*`) are never
//! forwarded. See docs/api.md for the routes and configuration.

mod adapters;
pub mod config;
pub mod domain;
pub mod ports;
mod startup;

pub use config::{Config, Tuning};
pub use startup::{start, Running, StartError};

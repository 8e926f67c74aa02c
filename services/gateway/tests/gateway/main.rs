//! Behaviour of the gateway through real HTTP: the gateway started in-process on port 0 in front
//! of small axum servers standing in for users, rooms and ingest nodes (also real HTTP peers).

mod hls;
mod proxy;
mod static_site;
mod support;

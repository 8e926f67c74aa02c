//! Live events pushed to browsers over SSE and shared between replicas through Redis pub/sub.

use serde::{Deserialize, Serialize};

use super::RoomView;

/// One event. On the wire between replicas it is JSON tagged by `event`; towards browsers the
/// tag becomes the SSE `event:` line and the rest the `data:` line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum RoomEvent {
    RoomStarted(RoomView),
    RoomEnded { username: String },
    ViewersChanged { username: String, viewers: u64 },
    TitleChanged { username: String, title: String },
}

impl RoomEvent {
    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::RoomStarted(_) => "room_started",
            Self::RoomEnded { .. } => "room_ended",
            Self::ViewersChanged { .. } => "viewers_changed",
            Self::TitleChanged { .. } => "title_changed",
        }
    }

    /// The SSE `data:` payload (docs/api.md: room_started carries the `Room`).
    pub fn data(&self) -> serde_json::Value {
        match self {
            Self::RoomStarted(room) => serde_json::to_value(room).unwrap_or_default(),
            Self::RoomEnded { username } => serde_json::json!({ "username": username }),
            Self::ViewersChanged { username, viewers } => {
                serde_json::json!({ "username": username, "viewers": viewers })
            }
            Self::TitleChanged { username, title } => {
                serde_json::json!({ "username": username, "title": title })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_the_replica_wire_format() {
        let event = RoomEvent::ViewersChanged {
            username: "alice".into(),
            viewers: 3,
        };
        let wire = serde_json::to_string(&event).expect("json");
        assert_eq!(
            wire,
            r#"{"event":"viewers_changed","data":{"username":"alice","viewers":3}}"#
        );
        assert_eq!(
            serde_json::from_str::<RoomEvent>(&wire).expect("parse"),
            event
        );
        assert_eq!(event.name(), "viewers_changed");
        assert_eq!(event.data()["viewers"], 3);
    }
}

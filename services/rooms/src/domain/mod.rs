//! Pure types and rules of the rooms service: who may be live, what a room is, what the publish
//! callbacks mean. No I/O here; everything is unit-tested beside its definition.

pub mod callback;
pub mod event;
pub mod ids;
pub mod origin;
pub mod room;
pub mod viewer;

pub use callback::{Call, CallbackError, CallbackForm, Route};
pub use event::RoomEvent;
pub use ids::{IdError, SessionId, StreamKey, Username, ViewerId};
pub use origin::{Origin, OriginError, OriginUrl};
pub use room::{Cursor, LiveRoom, NewRoom, Rendition, RoomView, Title};
pub use viewer::{TokenError, Verified, ViewerAddress, ViewerTokens};

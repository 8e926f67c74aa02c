//! Publish sessions: what happens between "an encoder asked to publish with this key" and "the
//! stream ended". The RTMP side calls [`publish::authorise`] and drives the returned
//! [`live::LiveSession`], which keeps renewing the room's lease and re-checking the stream key
//! until it ends, or hands it to the publisher's next connection ([`handover`]); everything
//! here talks to the outside only through ports.

mod deps;
pub mod handover;
mod key_check;
pub mod live;
pub mod publish;

pub use deps::SessionDeps;
pub use ferrocast_proto::StreamKey;
pub use handover::{Handovers, LiveSlot};
pub use live::{EndReason, LiveSession};
pub use publish::{authorise, authorise_or_continue, Refusal};

#[cfg(test)]
mod tests;

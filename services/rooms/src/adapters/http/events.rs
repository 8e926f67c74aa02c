//! `GET /api/events`: live events as Server-Sent Events. Each client reads this replica's copy
//! of the shared Redis channel. A client too slow to keep up is disconnected rather than left
//! holding memory or silently missing events: the browser reconnects by itself (after the
//! `retry` we announce) and a (re)connected page re-reads the rooms list (frontend/src/events.ts).
//! Streams end when the service shuts down.

use std::{convert::Infallible, time::Duration};

use axum::{
    extract::State,
    response::sse::{Event, KeepAlive, Sse},
};
use futures::{stream, Stream, StreamExt};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;

use super::AppState;
use crate::domain::RoomEvent;

/// How soon a disconnected browser comes back (EventSource's own default is about 3 s).
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

pub async fn stream(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    // A first comment gets the response head and one byte out at once, so a client knows it is
    // subscribed before anything happens.
    let hello = stream::once(async {
        Ok(Event::default()
            .retry(RECONNECT_AFTER)
            .comment("subscribed"))
    });
    let stream = hello
        .chain(client_events(state.events.subscribe()))
        .take_until(state.shutdown.clone().cancelled_owned());
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// The events of one client, ending at the first gap.
fn client_events(
    receiver: broadcast::Receiver<RoomEvent>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    BroadcastStream::new(receiver)
        .take_while(|received| {
            if received.is_err() {
                metrics::counter!("rooms_sse_lagging_clients_closed_total").increment(1);
            }
            std::future::ready(received.is_ok())
        })
        .filter_map(|received| async move {
            let event = received.ok()?;
            Some(Ok(Event::default()
                .event(event.name())
                .data(event.data().to_string())))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ended(username: &str) -> RoomEvent {
        RoomEvent::RoomEnded {
            username: username.to_owned(),
        }
    }

    #[tokio::test]
    async fn a_client_that_keeps_up_gets_every_event() {
        let (sender, receiver) = broadcast::channel(4);
        let mut events = Box::pin(client_events(receiver));
        for name in ["a", "b", "c"] {
            sender.send(ended(name)).expect("a receiver exists");
            assert!(events.next().await.is_some(), "{name}");
        }
        drop(sender);
        assert!(events.next().await.is_none(), "ends with the channel");
    }

    #[tokio::test]
    async fn a_client_that_fell_behind_is_disconnected_instead_of_skipping_events() {
        let (sender, receiver) = broadcast::channel(2);
        let mut events = Box::pin(client_events(receiver));
        // Five events into room for two, before the client reads anything.
        for name in ["a", "b", "c", "d", "e"] {
            sender.send(ended(name)).expect("a receiver exists");
        }
        assert!(
            events.next().await.is_none(),
            "the stream ends at the gap, so the browser reconnects and resynchronises"
        );
    }
}

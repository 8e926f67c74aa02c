//! `GET /api/events`: live events as Server-Sent Events. Each client reads this replica's copy
//! of the shared Redis channel; a client too slow to keep up skips what it missed rather than
//! holding memory. Streams end when the service shuts down.

use std::{convert::Infallible, time::Duration};

use axum::{
    extract::State,
    response::sse::{Event, KeepAlive, Sse},
};
use futures::{stream, Stream, StreamExt};
use tokio_stream::wrappers::BroadcastStream;

use super::AppState;

pub async fn stream(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let events = BroadcastStream::new(state.events.subscribe()).filter_map(|received| async move {
        let event = received.ok()?;
        Some(Ok(Event::default()
            .event(event.name())
            .data(event.data().to_string())))
    });
    // A first comment gets the response head and one byte out at once, so a client knows it is
    // subscribed before anything happens.
    let hello = stream::once(async { Ok(Event::default().comment("subscribed")) });
    let stream = hello
        .chain(events)
        .take_until(state.shutdown.clone().cancelled_owned());
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

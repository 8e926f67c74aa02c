//! The publish flow with in-memory doubles: order of the checks, fail-closed refusals, exactly
//! one `publish_done`, lease renewals and their refusal, the key re-check on every renewal
//! (rotated → ended, users down → goes on). The renewal tests run on tokio's paused clock:
//! every double answers in memory, so the renewal schedule is driven exactly, not slept through.

use std::{
    net::{IpAddr, Ipv4Addr},
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::time::Instant;

use super::*;
use crate::ports::{
    AuthError, BoxFuture, CallbackError, Client, KeyAuthenticator, KeyOwner, MediaError,
    MediaPacket, MediaSink, Publisher, Rendition, RoomCallbacks, Transcoder,
};

#[derive(Default)]
struct Log(Mutex<Vec<String>>);

impl Log {
    fn push(&self, entry: impl Into<String>) {
        self.0.lock().expect("log").push(entry.into());
    }
    fn entries(&self) -> Vec<String> {
        self.0.lock().expect("log").clone()
    }
}

/// Answers the first check with `.0` and every later one (the renewals' re-checks) with `.1`.
struct Users(
    Result<KeyOwner, AuthError>,
    Result<KeyOwner, AuthError>,
    Arc<Log>,
);

impl KeyAuthenticator for Users {
    fn authenticate<'a>(
        &'a self,
        _key: &'a StreamKey,
    ) -> BoxFuture<'a, Result<KeyOwner, AuthError>> {
        let first = !self.2.entries().iter().any(|e| e == "users");
        self.2.push("users");
        let answer = if first {
            self.0.clone()
        } else {
            self.1.clone()
        };
        Box::pin(async move { answer })
    }
}

struct Rooms {
    publish: Result<(), CallbackError>,
    update: Result<(), CallbackError>,
    log: Arc<Log>,
}

impl RoomCallbacks for Rooms {
    fn on_publish<'a>(
        &'a self,
        _client: &'a Client,
        _key: &'a StreamKey,
        _publisher: &'a Publisher,
    ) -> BoxFuture<'a, Result<(), CallbackError>> {
        self.log.push("publish");
        Box::pin(async move { self.publish.clone() })
    }
    fn on_update<'a>(
        &'a self,
        _client: &'a Client,
        _publisher: &'a Publisher,
        _renditions: &'a [Rendition],
    ) -> BoxFuture<'a, Result<(), CallbackError>> {
        self.log.push("update");
        Box::pin(async move { self.update.clone() })
    }
    fn on_publish_done<'a>(
        &'a self,
        _client: &'a Client,
        _publisher: &'a Publisher,
    ) -> BoxFuture<'a, Result<(), CallbackError>> {
        self.log.push("publish_done");
        Box::pin(async { Ok(()) })
    }
}

struct Pipeline(bool, Arc<Log>);

impl Transcoder for Pipeline {
    fn start(
        &self,
        _publisher: &Publisher,
    ) -> BoxFuture<'_, Result<Box<dyn MediaSink>, MediaError>> {
        self.1.push("start");
        let ok = self.0;
        let log = self.1.clone();
        Box::pin(async move {
            if ok {
                Ok(Box::new(Sink(log)) as Box<dyn MediaSink>)
            } else {
                Err(MediaError::Start("no ffmpeg".into()))
            }
        })
    }
}

struct Sink(Arc<Log>);

impl MediaSink for Sink {
    fn push(&mut self, _packet: MediaPacket) -> Result<(), MediaError> {
        self.0.push("push");
        Ok(())
    }
    fn new_publisher(&mut self) {
        self.0.push("new publisher");
    }
    fn renditions(&self) -> Vec<Rendition> {
        Vec::new()
    }
    fn failed(&self) -> BoxFuture<'static, MediaError> {
        Box::pin(std::future::pending())
    }
    fn finish(self: Box<Self>) -> BoxFuture<'static, ()> {
        self.0.push("finish");
        Box::pin(async {})
    }
}

fn owner() -> Result<KeyOwner, AuthError> {
    Ok(KeyOwner {
        user_id: "u1".into(),
        username: "alice".into(),
    })
}

fn deps(
    users: Result<KeyOwner, AuthError>,
    publish: Result<(), CallbackError>,
    update: Result<(), CallbackError>,
    pipeline_ok: bool,
) -> (Arc<SessionDeps>, Arc<Log>) {
    deps_rechecked(users.clone(), users, publish, update, pipeline_ok)
}

/// Like [`deps`], with users answering the renewals' key re-checks with `recheck`.
fn deps_rechecked(
    users: Result<KeyOwner, AuthError>,
    recheck: Result<KeyOwner, AuthError>,
    publish: Result<(), CallbackError>,
    update: Result<(), CallbackError>,
    pipeline_ok: bool,
) -> (Arc<SessionDeps>, Arc<Log>) {
    let log = Arc::new(Log::default());
    let deps = SessionDeps {
        authenticator: Arc::new(Users(users, recheck, log.clone())),
        callbacks: Arc::new(Rooms {
            publish,
            update,
            log: log.clone(),
        }),
        transcoder: Arc::new(Pipeline(pipeline_ok, log.clone())),
        update_interval: Duration::from_millis(20),
        start_timeout: Duration::from_secs(1),
        finish_timeout: Duration::from_secs(1),
    };
    (Arc::new(deps), log)
}

fn client() -> Client {
    Client {
        app: "live".into(),
        addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
        client_id: 1,
    }
}

fn key() -> StreamKey {
    StreamKey::parse("live_test".into()).expect("key")
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(1)
}

#[tokio::test]
async fn valid_key_goes_live_after_users_then_rooms_then_pipeline() {
    let (deps, log) = deps(owner(), Ok(()), Ok(()), true);
    let mut live = authorise(&deps, client(), key(), soon())
        .await
        .expect("live");
    assert_eq!(live.publisher().username, "alice");
    assert_eq!(live.publisher().session_id.len(), 32);
    live.push(MediaPacket::Metadata {
        data: bytes::Bytes::new(),
    })
    .expect("push");
    live.finish(EndReason::Unpublished).await;
    let entries = log.entries();
    assert_eq!(&entries[..3], ["users", "publish", "start"]);
    assert_eq!(entries.iter().filter(|e| *e == "publish_done").count(), 1);
    assert!(entries.ends_with(&["publish_done".to_string(), "finish".to_string()]));
}

#[tokio::test]
async fn rejected_key_never_reaches_rooms_or_the_pipeline() {
    let (deps, log) = deps(Err(AuthError::Rejected), Ok(()), Ok(()), true);
    let refusal = authorise(&deps, client(), key(), soon()).await.err();
    assert_eq!(refusal, Some(Refusal::KeyRejected));
    assert_eq!(log.entries(), ["users"]);
}

#[tokio::test]
async fn users_unavailable_fails_closed() {
    let (deps, log) = deps(
        Err(AuthError::Unavailable("down".into())),
        Ok(()),
        Ok(()),
        true,
    );
    let refusal = authorise(&deps, client(), key(), soon()).await.err();
    assert_eq!(refusal, Some(Refusal::UsersUnavailable));
    assert_eq!(log.entries(), ["users"]);
}

#[tokio::test]
async fn already_live_user_is_refused_without_starting_a_pipeline() {
    let (deps, log) = deps(owner(), Err(CallbackError::Conflict), Ok(()), true);
    let refusal = authorise(&deps, client(), key(), soon()).await.err();
    assert_eq!(refusal, Some(Refusal::AlreadyLive));
    assert_eq!(log.entries(), ["users", "publish"]);
    assert_eq!(
        Refusal::AlreadyLive.rtmp_status().0,
        "NetStream.Publish.BadName"
    );
}

#[tokio::test]
async fn pipeline_start_failure_ends_the_room_it_opened() {
    let (deps, log) = deps(owner(), Ok(()), Ok(()), false);
    let refusal = authorise(&deps, client(), key(), soon()).await.err();
    assert_eq!(refusal, Some(Refusal::PipelineFailed));
    assert_eq!(log.entries(), ["users", "publish", "start", "publish_done"]);
}

#[tokio::test(start_paused = true)]
async fn lease_is_renewed_while_live() {
    let (deps, log) = deps(owner(), Ok(()), Ok(()), true);
    let live = authorise(&deps, client(), key(), soon())
        .await
        .expect("live");
    tokio::time::sleep(Duration::from_millis(90)).await;
    live.finish(EndReason::Disconnected).await;
    let updates = log.entries().iter().filter(|e| *e == "update").count();
    assert!(updates >= 2, "{:?}", log.entries());
}

#[tokio::test(start_paused = true)]
async fn refused_renewal_signals_lease_lost() {
    let (deps, _log) = deps(owner(), Ok(()), Err(CallbackError::Refused(404)), true);
    let live = authorise(&deps, client(), key(), soon())
        .await
        .expect("live");
    let lost = live.lease_lost();
    tokio::time::timeout(Duration::from_secs(1), lost.cancelled())
        .await
        .expect("lease lost reported");
    assert_eq!(
        live.finish(EndReason::LeaseLost).await,
        EndReason::LeaseLost
    );
}

#[tokio::test(start_paused = true)]
async fn key_is_rechecked_on_every_renewal() {
    let (deps, log) = deps(owner(), Ok(()), Ok(()), true);
    let live = authorise(&deps, client(), key(), soon())
        .await
        .expect("live");
    tokio::time::sleep(Duration::from_millis(90)).await;
    live.finish(EndReason::Disconnected).await;
    let checks = log.entries().iter().filter(|e| *e == "users").count();
    assert!(checks >= 3, "publish + 2 renewals: {:?}", log.entries());
}

#[tokio::test(start_paused = true)]
async fn rotated_key_ends_the_session_as_key_rotated_with_publish_done() {
    let (deps, log) = deps_rechecked(owner(), Err(AuthError::Rejected), Ok(()), Ok(()), true);
    let live = authorise(&deps, client(), key(), soon())
        .await
        .expect("live");
    let lost = live.lease_lost();
    tokio::time::timeout(Duration::from_secs(1), lost.cancelled())
        .await
        .expect("the rotated key ends the session");
    assert_eq!(
        live.finish(EndReason::LeaseLost).await,
        EndReason::KeyRotated
    );
    let entries = log.entries();
    assert_eq!(entries.iter().filter(|e| *e == "publish_done").count(), 1);
    assert!(entries.ends_with(&["publish_done".to_string(), "finish".to_string()]));
}

#[tokio::test(start_paused = true)]
async fn key_now_naming_another_user_ends_the_session() {
    let someone_else = Ok(KeyOwner {
        user_id: "u2".into(),
        username: "bob".into(),
    });
    let (deps, _log) = deps_rechecked(owner(), someone_else, Ok(()), Ok(()), true);
    let live = authorise(&deps, client(), key(), soon())
        .await
        .expect("live");
    let lost = live.lease_lost();
    tokio::time::timeout(Duration::from_secs(1), lost.cancelled())
        .await
        .expect("the session ends");
    assert_eq!(
        live.finish(EndReason::LeaseLost).await,
        EndReason::KeyRotated
    );
}

#[tokio::test(start_paused = true)]
async fn users_outage_keeps_the_session_and_its_lease() {
    let (deps, log) = deps_rechecked(
        owner(),
        Err(AuthError::Unavailable("down".into())),
        Ok(()),
        Ok(()),
        true,
    );
    let live = authorise(&deps, client(), key(), soon())
        .await
        .expect("live");
    let lost = live.lease_lost();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(!lost.is_cancelled(), "an outage never ends a live session");
    live.finish(EndReason::Disconnected).await;
    let entries = log.entries();
    assert!(
        entries.iter().filter(|e| *e == "users").count() >= 3,
        "{entries:?}"
    );
    assert!(
        entries.iter().filter(|e| *e == "update").count() >= 3,
        "{entries:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn hung_users_check_neither_ends_the_session_nor_stops_renewals() {
    struct Hung(Arc<Log>);
    impl KeyAuthenticator for Hung {
        fn authenticate<'a>(
            &'a self,
            _key: &'a StreamKey,
        ) -> BoxFuture<'a, Result<KeyOwner, AuthError>> {
            let first = !self.0.entries().iter().any(|e| e == "users");
            self.0.push("users");
            Box::pin(async move {
                if first {
                    owner()
                } else {
                    std::future::pending().await
                }
            })
        }
    }
    let log = Arc::new(Log::default());
    let deps = Arc::new(SessionDeps {
        authenticator: Arc::new(Hung(log.clone())),
        callbacks: Arc::new(Rooms {
            publish: Ok(()),
            update: Ok(()),
            log: log.clone(),
        }),
        transcoder: Arc::new(Pipeline(true, log.clone())),
        update_interval: Duration::from_millis(20),
        start_timeout: Duration::from_secs(1),
        finish_timeout: Duration::from_secs(1),
    });
    let live = authorise(&deps, client(), key(), soon())
        .await
        .expect("live");
    let lost = live.lease_lost();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!lost.is_cancelled());
    live.finish(EndReason::Disconnected).await;
    let updates = log.entries().iter().filter(|e| *e == "update").count();
    assert!(updates >= 3, "{:?}", log.entries());
}

#[tokio::test(start_paused = true)]
async fn only_a_session_without_media_for_the_stall_time_is_offered_to_a_new_publish() {
    let handovers = Handovers::new(Duration::from_secs(1), Duration::from_secs(10));
    assert!(matches!(handovers.claim("u1"), handover::Claim::None));
    let (slot, displaced) = handovers.register("u1");
    assert!(displaced.is_none());
    assert!(matches!(handovers.claim("u1"), handover::Claim::Busy));
    tokio::time::advance(Duration::from_millis(900)).await;
    slot.touch(Instant::now());
    tokio::time::advance(Duration::from_millis(900)).await;
    assert!(
        matches!(handovers.claim("u1"), handover::Claim::Busy),
        "media 900 ms ago"
    );
    tokio::time::advance(Duration::from_millis(200)).await;
    assert!(matches!(handovers.claim("u1"), handover::Claim::Stalled(_)));
    handovers.release(slot);
    assert!(matches!(handovers.claim("u1"), handover::Claim::None));
}

/// A live session of "alice" parked by its dropped connection, with the log of the doubles.
async fn parked(
    grace: Duration,
) -> (
    Arc<SessionDeps>,
    Arc<Log>,
    Arc<Handovers>,
    tokio::task::JoinHandle<()>,
) {
    let (deps, log) = deps(owner(), Ok(()), Ok(()), true);
    let handovers = Arc::new(Handovers::new(Duration::from_secs(1), grace));
    let live = authorise(&deps, client(), key(), soon())
        .await
        .expect("live");
    let (slot, _) = handovers.register("u1");
    let parking = {
        let handovers = handovers.clone();
        tokio::spawn(async move {
            let shutdown = tokio_util::sync::CancellationToken::new();
            handovers
                .park(slot, live, EndReason::Disconnected, &shutdown)
                .await;
        })
    };
    tokio::task::yield_now().await;
    (deps, log, handovers, parking)
}

#[tokio::test(start_paused = true)]
async fn a_publish_within_the_grace_continues_the_parked_session_without_a_new_room() {
    let (deps, log, handovers, parking) = parked(Duration::from_secs(10)).await;
    tokio::time::advance(Duration::from_secs(5)).await;
    let live = authorise_or_continue(&deps, &handovers, client(), key(), soon())
        .await
        .expect("continued");
    parking.await.expect("the parking ends once claimed");
    let entries = log.entries();
    assert_eq!(
        entries.iter().filter(|e| *e == "publish").count(),
        1,
        "{entries:?}"
    );
    assert_eq!(
        entries.iter().filter(|e| *e == "start").count(),
        1,
        "{entries:?}"
    );
    assert!(entries.iter().any(|e| e == "new publisher"), "{entries:?}");
    assert!(!entries.iter().any(|e| e == "publish_done"), "{entries:?}");
    live.finish(EndReason::Unpublished).await;
    assert_eq!(
        log.entries()
            .iter()
            .filter(|e| *e == "publish_done")
            .count(),
        1
    );
}

#[tokio::test(start_paused = true)]
async fn a_parked_session_nobody_claims_ends_when_the_grace_runs_out() {
    let (_deps, log, handovers, parking) = parked(Duration::from_secs(10)).await;
    tokio::time::advance(Duration::from_secs(9)).await;
    tokio::task::yield_now().await;
    assert!(!log.entries().iter().any(|e| e == "publish_done"));
    tokio::time::advance(Duration::from_secs(2)).await;
    parking.await.expect("the parking ends");
    let entries = log.entries();
    assert!(
        entries.ends_with(&["publish_done".to_string(), "finish".to_string()]),
        "{entries:?}"
    );
    assert!(matches!(handovers.claim("u1"), handover::Claim::None));
}

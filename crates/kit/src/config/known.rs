//! Every `FERROCAST_*` variable a service reads, in one list the services share.
//!
//! The services read one shared namespace: compose, k8s, `./ferrocast up`, the e2e runner and the
//! bench hand the same environment to every service, so a service must accept the variables of
//! the others. A name on no service's list, though, is a mistake (a typo, or a setting that was
//! retired), and a mistake that is ignored leaves the default in force without a word. So each
//! service refuses to start on a `FERROCAST_*` variable that is not in [`KNOWN`], naming the
//! closest known one. docs/api.md's configuration table is tested against this list.

use super::{ConfigError, ENV_PREFIX};

/// A ferrocast service that reads configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    Users,
    Rooms,
    Ingest,
    Gateway,
}

impl Service {
    pub const ALL: &'static [Service] = &[
        Service::Users,
        Service::Rooms,
        Service::Ingest,
        Service::Gateway,
    ];

    /// The name docs/api.md uses in its "used by" column.
    pub fn name(self) -> &'static str {
        match self {
            Service::Users => "users",
            Service::Rooms => "rooms",
            Service::Ingest => "ingest",
            Service::Gateway => "gateway",
        }
    }
}

/// One known variable and the services that read it.
#[derive(Debug, Clone, Copy)]
pub struct Variable {
    pub name: &'static str,
    pub services: &'static [Service],
}

const ALL: &[Service] = Service::ALL;
const USERS: &[Service] = &[Service::Users];
const ROOMS: &[Service] = &[Service::Rooms];
const INGEST: &[Service] = &[Service::Ingest];
const GATEWAY: &[Service] = &[Service::Gateway];

const fn var(name: &'static str, services: &'static [Service]) -> Variable {
    Variable { name, services }
}

/// Every `FERROCAST_*` variable a service reads.
pub const KNOWN: &[Variable] = &[
    // Every service.
    var("FERROCAST_LOG_FORMAT", ALL),
    var("FERROCAST_DEV_MODE", ALL),
    var("FERROCAST_SERVICE_TOKEN", ALL),
    var("FERROCAST_HTTP_MAX_CONNECTIONS_PER_ADDRESS", ALL),
    var(
        "FERROCAST_TRUSTED_PROXIES",
        &[Service::Users, Service::Rooms, Service::Ingest],
    ),
    var(
        "FERROCAST_INGEST_NETWORKS",
        &[Service::Rooms, Service::Gateway],
    ),
    var(
        "FERROCAST_USERS_GRPC_URL",
        &[Service::Rooms, Service::Ingest],
    ),
    // users
    var("FERROCAST_USERS_HTTP_ADDR", USERS),
    var("FERROCAST_USERS_GRPC_ADDR", USERS),
    var("FERROCAST_MONGODB_URL", USERS),
    var("FERROCAST_MONGODB_DATABASE", USERS),
    var("FERROCAST_JWT_SECRET", USERS),
    var("FERROCAST_USERS_TOKEN_TTL_SECONDS", USERS),
    var("FERROCAST_COOKIE_SECURE", USERS),
    var("FERROCAST_USERS_PASSWORD_QUEUE_MS", USERS),
    var("FERROCAST_USERS_LOGIN_LIMIT_PER_ACCOUNT", USERS),
    var("FERROCAST_USERS_LOGIN_LIMIT_PER_ADDRESS", USERS),
    var("FERROCAST_USERS_SIGNUP_LIMIT_PER_ADDRESS", USERS),
    var("FERROCAST_USERS_KEY_ROTATION_LIMIT_PER_ACCOUNT", USERS),
    var("FERROCAST_USERS_KEY_ROTATION_LIMIT_PER_ADDRESS", USERS),
    var("FERROCAST_USERS_STREAM_KEY_CACHE_MS", USERS),
    // rooms
    var("FERROCAST_ROOMS_HTTP_ADDR", ROOMS),
    var("FERROCAST_REDIS_URL", ROOMS),
    var("FERROCAST_ROOMS_KEY_PREFIX", ROOMS),
    var("FERROCAST_ROOM_LEASE_SECONDS", ROOMS),
    var("FERROCAST_ROOMS_NGINX_HLS_APP", ROOMS),
    var("FERROCAST_ROOMS_NGINX_PUSH_URL", ROOMS),
    var("FERROCAST_ROOMS_DEFAULT_ORIGIN", ROOMS),
    var("FERROCAST_ROOMS_TAKEOVER", ROOMS),
    var("FERROCAST_ROOMS_VIEWER_WINDOW_SECONDS", ROOMS),
    var("FERROCAST_ROOMS_VIEWERS_PER_ADDRESS", ROOMS),
    var("FERROCAST_ROOMS_VIEWER_EVENTS_INTERVAL_MS", ROOMS),
    var("FERROCAST_ROOMS_SWEEP_INTERVAL_MS", ROOMS),
    // ingest
    var("FERROCAST_INGEST_RTMP_ADDR", INGEST),
    var("FERROCAST_INGEST_HTTP_ADDR", INGEST),
    var("FERROCAST_INGEST_ORIGIN_URL", INGEST),
    var("FERROCAST_ROOMS_CALLBACK_URL", INGEST),
    var("FERROCAST_INGEST_RTMP_APP", INGEST),
    var("FERROCAST_INGEST_HANDSHAKE_TIMEOUT_MS", INGEST),
    var("FERROCAST_INGEST_AUTH_TIMEOUT_MS", INGEST),
    var("FERROCAST_INGEST_IDLE_TIMEOUT_MS", INGEST),
    var("FERROCAST_INGEST_WRITE_TIMEOUT_MS", INGEST),
    var("FERROCAST_INGEST_MAX_CONNECTIONS", INGEST),
    var("FERROCAST_INGEST_MAX_CONNECTIONS_PER_IP", INGEST),
    var("FERROCAST_INGEST_MAX_MESSAGE_BYTES", INGEST),
    var("FERROCAST_INGEST_MAX_MEDIA_MESSAGE_BYTES", INGEST),
    var("FERROCAST_INGEST_MAX_UNAUTHENTICATED_MESSAGE_BYTES", INGEST),
    var("FERROCAST_INGEST_MAX_CHUNK_SIZE", INGEST),
    var("FERROCAST_INGEST_MAX_AMF_DEPTH", INGEST),
    var("FERROCAST_INGEST_UPDATE_INTERVAL_MS", INGEST),
    var("FERROCAST_INGEST_CALLBACK_TIMEOUT_MS", INGEST),
    var("FERROCAST_INGEST_PIPELINE_START_TIMEOUT_MS", INGEST),
    var("FERROCAST_INGEST_HLS_CACHE_MB", INGEST),
    var("FERROCAST_INGEST_HLS_SENDFILE", INGEST),
    var("FERROCAST_INGEST_HTTP_SHARDS", INGEST),
    var("FERROCAST_FFMPEG_PATH", INGEST),
    var("FERROCAST_HLS_ROOT", INGEST),
    var("FERROCAST_HLS_SEGMENT_SECONDS", INGEST),
    var("FERROCAST_HLS_PLAYLIST_WINDOW", INGEST),
    var("FERROCAST_HLS_LADDER", INGEST),
    var("FERROCAST_HLS_X264_PRESET", INGEST),
    var("FERROCAST_HLS_X264_TUNE", INGEST),
    var("FERROCAST_HLS_AUDIO_KBPS", INGEST),
    var("FERROCAST_HLS_COPY_MUXER", INGEST),
    var("FERROCAST_HLS_PART_MILLIS", INGEST),
    var("FERROCAST_HLS_CLEANUP_GRACE_SECONDS", INGEST),
    var("FERROCAST_HLS_STALL_SECONDS", INGEST),
    var("FERROCAST_FFMPEG_STOP_TIMEOUT_SECONDS", INGEST),
    var("FERROCAST_FFMPEG_MAX_RESTARTS", INGEST),
    var("FERROCAST_MEDIA_QUEUE_PACKETS", INGEST),
    // gateway
    var("FERROCAST_GATEWAY_HTTP_ADDR", GATEWAY),
    var("FERROCAST_GATEWAY_INTERNAL_ADDR", GATEWAY),
    var("FERROCAST_GATEWAY_TRUSTED_PROXIES", GATEWAY),
    var("FERROCAST_USERS_HTTP_URL", GATEWAY),
    var("FERROCAST_ROOMS_HTTP_URL", GATEWAY),
    var("FERROCAST_FRONTEND_DIR", GATEWAY),
];

/// Variables of the tools around the services, never read by one: the test runner's
/// (`FERROCAST_TEST_*`: dependency URLs, log switches, thread count), the bench's
/// (`FERROCAST_BENCH_*`), the browser tests' (`FERROCAST_E2E_*`), the soak test's
/// (`FERROCAST_SOAK_*`) and the document store the tests start (`FERROCAST_SECANTUSD`). The bench
/// and the e2e runner start services inside the environment that holds them, so a service lets
/// them pass instead of refusing to start.
pub const TOOL_PREFIXES: &[&str] = &[
    "FERROCAST_TEST_",
    "FERROCAST_BENCH_",
    "FERROCAST_E2E_",
    "FERROCAST_SOAK_",
    "FERROCAST_SECANTUSD",
];

/// The known variable named `name`, if there is one.
pub fn find(name: &str) -> Option<&'static Variable> {
    KNOWN.iter().find(|variable| variable.name == name)
}

/// The known variables `service` reads.
pub fn read_by(service: Service) -> impl Iterator<Item = &'static Variable> {
    KNOWN
        .iter()
        .filter(move |variable| variable.services.contains(&service))
}

/// The known name closest to `name` (fewest single-character edits).
pub fn closest(name: &str) -> &'static str {
    KNOWN
        .iter()
        .map(|variable| (strsim::levenshtein(name, variable.name), variable.name))
        .min()
        .map_or("", |(_, known)| known)
}

/// Refuses any `FERROCAST_*` variable among `names` that is neither known nor a tool's.
pub fn check<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<(), ConfigError> {
    let mut unknown: Vec<String> = names
        .into_iter()
        .filter(|name| name.starts_with(ENV_PREFIX))
        .filter(|name| find(name).is_none())
        .filter(|name| !TOOL_PREFIXES.iter().any(|prefix| name.starts_with(prefix)))
        .map(|name| format!("{name} (did you mean {}?)", closest(name)))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    unknown.sort();
    Err(ConfigError(format!(
        "unknown variable {}; every {ENV_PREFIX}* name is listed in docs/api.md",
        unknown.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn a_typo_is_refused_naming_the_closest_known_variable() {
        let error = check(["FERROCAST_ROOM_LEASE_SECOND"]).expect_err("unknown");
        let message = error.to_string();
        assert!(
            message.contains("FERROCAST_ROOM_LEASE_SECOND "),
            "{message}"
        );
        assert!(
            message.contains("did you mean FERROCAST_ROOM_LEASE_SECONDS?"),
            "{message}"
        );
    }

    #[test]
    fn every_unknown_variable_is_named() {
        let message = check([
            "FERROCAST_HLS_LADER",
            "FERROCAST_REDIS_URL",
            "FERROCAST_JWT_SECRT",
        ])
        .expect_err("unknown")
        .to_string();
        assert!(
            message.contains("FERROCAST_HLS_LADER (did you mean FERROCAST_HLS_LADDER?)"),
            "{message}"
        );
        assert!(
            message.contains("FERROCAST_JWT_SECRT (did you mean FERROCAST_JWT_SECRET?)"),
            "{message}"
        );
        assert!(!message.contains("FERROCAST_REDIS_URL"), "{message}");
    }

    #[test]
    fn other_services_variables_tools_and_foreign_names_pass() {
        // One environment for every service: users sees rooms' variables and the reverse.
        let names: Vec<&str> = KNOWN.iter().map(|variable| variable.name).collect();
        check(names).expect("every known variable passes");
        check([
            "FERROCAST_TEST_REDIS_URL",
            "FERROCAST_TEST_THREADS",
            "FERROCAST_BENCH_SERVICE_TOKEN",
            "FERROCAST_E2E_PROFILE",
            "FERROCAST_SOAK_SECONDS",
            "FERROCAST_SECANTUSD",
            "PATH",
            "RUST_LOG",
        ])
        .expect("tools' and other programs' variables pass");
    }

    #[test]
    fn the_list_names_each_variable_once_with_a_reader() {
        let mut seen = HashSet::new();
        for variable in KNOWN {
            assert!(seen.insert(variable.name), "{} twice", variable.name);
            assert!(variable.name.starts_with(ENV_PREFIX), "{}", variable.name);
            assert!(!variable.services.is_empty(), "{}", variable.name);
            assert!(
                !TOOL_PREFIXES.iter().any(|p| variable.name.starts_with(p)),
                "{} looks like a tool's variable",
                variable.name
            );
        }
        for service in Service::ALL {
            assert!(read_by(*service).count() > 0, "{service:?}");
        }
    }
}

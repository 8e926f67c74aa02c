//! Every `FERROCAST_*` variable a service reads, in one list the services share.
//!
//! The services read one shared namespace: compose, k8s, `./ferrocast up`, the e2e runner and the
//! bench hand the same environment to every service, so a service must accept the variables of
//! the others. A name on no service's list, though, is a mistake (a typo, or a setting that was
//! retired), and a mistake that is ignored leaves the default in force without a word. So each
//! service refuses to start on a `FERROCAST_*` variable that is not in [`KNOWN`], naming the
//! closest known one. docs/api.md's configuration table is tested against this list.

use serde::{de, Deserialize};

use super::{ConfigError, ENV_PREFIX};

/// A ferrocast service that reads configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    Users,
    Rooms,
    Ingest,
    Gateway,
    Catalog,
    Worker,
}

impl Service {
    pub const ALL: &'static [Service] = &[
        Service::Users,
        Service::Rooms,
        Service::Ingest,
        Service::Gateway,
        Service::Catalog,
        Service::Worker,
    ];

    /// The name docs/api.md uses in its "used by" column.
    pub fn name(self) -> &'static str {
        match self {
            Service::Users => "users",
            Service::Rooms => "rooms",
            Service::Ingest => "ingest",
            Service::Gateway => "gateway",
            Service::Catalog => "catalog",
            Service::Worker => "worker",
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
const CATALOG: &[Service] = &[Service::Catalog];
const WORKER: &[Service] = &[Service::Worker];
const MEDIA_STORAGE: &[Service] = &[Service::Catalog, Service::Worker];
const GATEWAY_INGEST: &[Service] = &[Service::Gateway, Service::Ingest];

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
        &[
            Service::Users,
            Service::Rooms,
            Service::Ingest,
            Service::Catalog,
            Service::Worker,
        ],
    ),
    var(
        "FERROCAST_INGEST_NETWORKS",
        &[Service::Rooms, Service::Gateway],
    ),
    var(
        "FERROCAST_USERS_GRPC_URL",
        &[Service::Rooms, Service::Ingest, Service::Catalog],
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
    var("FERROCAST_REDIS_URL", &[Service::Rooms, Service::Catalog]),
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
    var("FERROCAST_INGEST_TAKEOVER_STALL_MS", INGEST),
    var("FERROCAST_INGEST_RECONNECT_GRACE_MS", INGEST),
    var("FERROCAST_INGEST_HLS_CACHE_MB", INGEST),
    var("FERROCAST_INGEST_THUMBNAIL_INTERVAL_SECONDS", INGEST),
    var("FERROCAST_INGEST_THUMBNAIL_WIDTH", INGEST),
    var("FERROCAST_INGEST_THUMBNAIL_CONCURRENCY", INGEST),
    var("FERROCAST_FFMPEG_PATH", INGEST),
    var("FERROCAST_HLS_ROOT", INGEST),
    var("FERROCAST_HLS_SEGMENT_SECONDS", INGEST),
    var("FERROCAST_HLS_PLAYLIST_WINDOW", INGEST),
    var("FERROCAST_HLS_LADDER", INGEST),
    var("FERROCAST_HLS_X264_PRESET", INGEST),
    var("FERROCAST_HLS_X264_TUNE", INGEST),
    var("FERROCAST_HLS_AUDIO_KBPS", INGEST),
    var("FERROCAST_HLS_PART_MILLIS", INGEST),
    var("FERROCAST_HLS_CLEANUP_GRACE_SECONDS", INGEST),
    var("FERROCAST_HLS_STALL_SECONDS", INGEST),
    var("FERROCAST_FFMPEG_STOP_TIMEOUT_SECONDS", INGEST),
    var("FERROCAST_FFMPEG_MAX_RESTARTS", INGEST),
    var("FERROCAST_INGEST_RECORDING_DIR", INGEST),
    var("FERROCAST_INGEST_RECORDING_MIN_SECONDS", INGEST),
    var("FERROCAST_INGEST_RECORDING_MAX_SECONDS", INGEST),
    var("FERROCAST_INGEST_RECORDING_MAX_BYTES", INGEST),
    var("FERROCAST_INGEST_RECORDING_DISK_BUDGET_BYTES", INGEST),
    // gateway
    var("FERROCAST_GATEWAY_HTTP_ADDR", GATEWAY),
    var("FERROCAST_GATEWAY_INTERNAL_ADDR", GATEWAY),
    var("FERROCAST_GATEWAY_TRUSTED_PROXIES", GATEWAY),
    var("FERROCAST_USERS_HTTP_URL", GATEWAY),
    var("FERROCAST_ROOMS_HTTP_URL", GATEWAY_INGEST),
    var("FERROCAST_CATALOG_HTTP_URL", GATEWAY_INGEST),
    var("FERROCAST_FRONTEND_DIR", GATEWAY),
    // catalog
    var("FERROCAST_CATALOG_HTTP_ADDR", CATALOG),
    var("FERROCAST_POSTGRES_URL", CATALOG),
    var(
        "FERROCAST_S3_ENDPOINT",
        &[Service::Catalog, Service::Gateway, Service::Worker],
    ),
    var(
        "FERROCAST_S3_PUBLIC_ENDPOINT",
        &[Service::Catalog, Service::Gateway, Service::Worker],
    ),
    var("FERROCAST_S3_REGION", MEDIA_STORAGE),
    var("FERROCAST_S3_BUCKET", MEDIA_STORAGE),
    var("FERROCAST_S3_ACCESS_KEY", MEDIA_STORAGE),
    var("FERROCAST_S3_SECRET_KEY", MEDIA_STORAGE),
    var("FERROCAST_CATALOG_UPLOAD_ORIGINS", CATALOG),
    var("FERROCAST_CATALOG_MAX_UPLOAD_BYTES", CATALOG),
    var("FERROCAST_CATALOG_QUOTA_BYTES", CATALOG),
    var("FERROCAST_CATALOG_MULTIPART_THRESHOLD_BYTES", CATALOG),
    var("FERROCAST_CATALOG_PART_BYTES", CATALOG),
    var("FERROCAST_CATALOG_UPLOAD_URL_TTL_SECONDS", CATALOG),
    var("FERROCAST_CATALOG_UPLOAD_EXPIRY_SECONDS", CATALOG),
    var("FERROCAST_CATALOG_SWEEP_INTERVAL_SECONDS", CATALOG),
    var("FERROCAST_CATALOG_SEARCH_CONCURRENCY", CATALOG),
    var("FERROCAST_PLAYBACK_KEY_PREFIX", CATALOG),
    var("FERROCAST_PLAYBACK_STREAMS_PER_ACCOUNT", CATALOG),
    var("FERROCAST_PLAYBACK_LEASE_SECONDS", CATALOG),
    var("FERROCAST_PLAYBACK_REQUESTS_PER_SECOND", CATALOG),
    // worker
    var("FERROCAST_NATS_URL", &[Service::Catalog, Service::Worker]),
    var(
        "FERROCAST_NATS_STREAM_REPLICAS",
        &[Service::Catalog, Service::Worker],
    ),
    var(
        "FERROCAST_CONTENT_KEY_SECRET",
        &[Service::Catalog, Service::Worker],
    ),
    var("FERROCAST_WORKER_HTTP_ADDR", WORKER),
    var("FERROCAST_WORKER_SCRATCH_DIR", WORKER),
    var("FERROCAST_WORKER_MAX_SOURCE_BYTES", WORKER),
    var("FERROCAST_WORKER_MAX_DURATION_SECONDS", WORKER),
    var("FERROCAST_WORKER_JOBS", WORKER),
    var("FERROCAST_WORKER_ATTEMPTS", WORKER),
    var("FERROCAST_WORKER_ACK_WAIT_SECONDS", WORKER),
    var("FERROCAST_WORKER_FFMPEG", WORKER),
    var("FERROCAST_WORKER_FFPROBE", WORKER),
    var("FERROCAST_WORKER_PACKAGER", WORKER),
    var("FERROCAST_WORKER_LADDER", WORKER),
    var("FERROCAST_WORKER_X264_PRESET", WORKER),
];

/// Variables of the tools around the services, never read by one: the test runner's
/// (`FERROCAST_TEST_*`: dependency URLs, log switches, thread count), the bench's
/// (`FERROCAST_BENCH_*`), the browser tests' (`FERROCAST_E2E_*`), the soak test's
/// (`FERROCAST_SOAK_*`) and the servers the tests start (`FERROCAST_SECANTUSD`, `FERROCAST_WEED`,
/// `FERROCAST_NATS_SERVER`). The bench
/// and the e2e runner start services inside the environment that holds them, so a service lets
/// them pass instead of refusing to start.
pub const TOOL_PREFIXES: &[&str] = &[
    "FERROCAST_TEST_",
    "FERROCAST_BENCH_",
    "FERROCAST_E2E_",
    "FERROCAST_SOAK_",
    "FERROCAST_SECANTUSD",
    "FERROCAST_WEED",
    "FERROCAST_NATS_SERVER",
];

/// Variables that were public once and are no longer read, with what a start that sets one is
/// told instead of a near name.
pub const RETIRED: &[(&str, &str)] = &[
    (
        "FERROCAST_HLS_COPY_MUXER",
        "retired: the ingest remuxes the passthrough rendition itself, and uses ffmpeg by itself for audio it cannot remux",
    ),
    (
        "FERROCAST_INGEST_HLS_SENDFILE",
        "retired: segments always go out with sendfile(2), and a file system without it falls back to a copy by itself",
    ),
    (
        "FERROCAST_INGEST_HTTP_SHARDS",
        "retired: the ingest serves HTTP on one thread per core",
    ),
    (
        "FERROCAST_MEDIA_QUEUE_PACKETS",
        "retired: the queue to ffmpeg holds 1024 packets, about 10 s of a 60 fps source",
    ),
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
        .map(
            |name| match RETIRED.iter().find(|(retired, _)| *retired == name) {
                Some((_, why)) => format!("{name} ({why})"),
                None => format!("{name} (did you mean {}?)", closest(name)),
            },
        )
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

/// Checks that every field of the config struct `T` is read from a variable this list gives to
/// `service`, so the list (and docs/api.md, tested against it) cannot miss a setting: a service
/// test calls it on its `Config`. `T` must be a plain struct (serde lists its fields); a struct
/// with a `#[serde(flatten)]` part is read as a map and cannot be checked this way.
pub fn check_fields<'de, T: Deserialize<'de>>(service: Service) -> Result<(), ConfigError> {
    let mut fields = None;
    // The recorder always fails once it has the field names; only the names matter here.
    let _ = T::deserialize(FieldRecorder(&mut fields));
    let fields = fields.ok_or_else(|| {
        ConfigError(format!(
            "{} is not a plain struct; its fields cannot be listed",
            std::any::type_name::<T>()
        ))
    })?;
    check_names(service, fields.iter().copied())
}

/// Checks that every field name (the variable's name without `FERROCAST_`, lower case) is a
/// variable this list gives to `service`.
pub fn check_names<'a>(
    service: Service,
    fields: impl IntoIterator<Item = &'a str>,
) -> Result<(), ConfigError> {
    let missing: Vec<String> = fields
        .into_iter()
        .map(|field| format!("{ENV_PREFIX}{}", field.to_ascii_uppercase()))
        .filter(|name| find(name).is_none_or(|known| !known.services.contains(&service)))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ConfigError(format!(
            "{} reads {}, not listed for it in crates/kit/src/config/known.rs",
            service.name(),
            missing.join(", ")
        )))
    }
}

/// A deserializer that only notes the field names a derived struct asks for.
struct FieldRecorder<'a>(&'a mut Option<&'static [&'static str]>);

impl<'de> de::Deserializer<'de> for FieldRecorder<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a plain struct"))
    }

    fn deserialize_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = Some(fields);
        Err(de::Error::custom("fields recorded"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
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
    fn a_retired_variable_is_refused_with_the_reason() {
        for (name, why) in RETIRED {
            assert!(find(name).is_none(), "{name} is both known and retired");
            let message = check([*name]).expect_err("retired").to_string();
            assert!(message.contains(&format!("{name} ({why})")), "{message}");
        }
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

    /// docs/api.md's configuration table: each variable with the services its row names.
    fn documented() -> Vec<(String, Vec<String>)> {
        let api = include_str!("../../../../docs/api.md");
        let table = api
            .split("\n## Configuration")
            .nth(1)
            .and_then(|section| section.split("\n## ").next())
            .expect("docs/api.md has a Configuration section");
        let mut rows = Vec::new();
        for line in table.lines().filter(|line| line.starts_with("| `")) {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let (names, readers) = (cells[1], cells[2]);
            let readers: Vec<String> = if readers == "all" {
                Service::ALL.iter().map(|s| s.name().to_owned()).collect()
            } else {
                readers.split(',').map(|s| s.trim().to_owned()).collect()
            };
            for name in names.split('`').skip(1).step_by(2) {
                // A full name in every row: a search for a variable finds its row.
                assert!(
                    name.starts_with(ENV_PREFIX)
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
                    "docs/api.md: `{name}` is not a full variable name"
                );
                rows.push((name.to_owned(), readers.clone()));
            }
        }
        rows
    }

    #[test]
    fn docs_api_table_lists_exactly_the_known_variables_and_their_readers() {
        let documented = documented();
        let mut seen = HashSet::new();
        for (name, readers) in &documented {
            assert!(seen.insert(name.as_str()), "docs/api.md lists {name} twice");
            let Some(known) = find(name) else {
                panic!("docs/api.md documents {name}, which no service reads (known.rs)");
            };
            let expected: Vec<&str> = known.services.iter().map(|s| s.name()).collect();
            assert_eq!(readers, &expected, "docs/api.md: the readers of {name}");
        }
        for variable in KNOWN {
            assert!(
                seen.contains(variable.name),
                "{} is read by a service but missing from docs/api.md's table",
                variable.name
            );
        }
    }

    #[test]
    fn every_variable_the_launchers_set_is_known() {
        // Compose, k8s, `./ferrocast up`, the e2e runner and the bench hand one environment to
        // every service: a name there that no service reads would now stop them all.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut files = vec![root.join("docker-compose.yml")];
        for dir in [
            "deploy/k8s",
            "deploy/docker",
            "scripts",
            "e2e/lib",
            "e2e/tools",
            "bench/harness",
        ] {
            let entries = std::fs::read_dir(root.join(dir)).expect(dir);
            files.extend(entries.map(|entry| entry.expect(dir).path()));
        }
        let mut checked = 0;
        for file in files.iter().filter(|file| file.is_file()) {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            for (at, _) in text.match_indices(ENV_PREFIX) {
                let name: String = text[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                // A bare prefix or a prefix test (`startswith("FERROCAST_TEST_")`).
                if name.ends_with('_') {
                    continue;
                }
                checked += 1;
                assert!(
                    check([name.as_str()]).is_ok(),
                    "{} sets {name}, which no service reads",
                    file.display()
                );
            }
        }
        assert!(checked > 50, "only {checked} names found");
    }

    #[test]
    fn a_config_field_outside_the_list_is_found() {
        #[derive(Deserialize)]
        #[allow(dead_code)]
        struct Rooms {
            room_lease_seconds: u64,
            #[serde(rename = "rooms_http_addr")]
            addr: String,
        }
        check_fields::<Rooms>(Service::Rooms).expect("both are rooms' variables");
        let message = check_fields::<Rooms>(Service::Users)
            .expect_err("not users' variables")
            .to_string();
        assert!(
            message.contains("FERROCAST_ROOM_LEASE_SECONDS"),
            "{message}"
        );
        assert!(message.contains("FERROCAST_ROOMS_HTTP_ADDR"), "{message}");

        #[derive(Deserialize)]
        #[allow(dead_code)]
        struct Typo {
            room_lease_second: u64,
        }
        assert!(check_fields::<Typo>(Service::Rooms).is_err());
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

//! The deployment files (docker-compose.yml, deploy/docker/, deploy/k8s/) parse, agree with
//! docs/api.md's configuration table and agree with each other: no Docker engine or cluster runs
//! here, so this is what catches a renamed variable, a missing probe or an unlisted manifest.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

use serde::Deserialize;
use serde_norway::Value;

/// Env names allowed besides the documented `FERROCAST_*` ones: the downward-API helpers the
/// ingest origin URL and the NATS server names are built from, the log filter, the PostgreSQL
/// password the catalog's URL is built from, the official postgres and SeaweedFS images' own
/// variables, and the Go runtime's memory target for nats-server.
const HELPER_ENV: &[&str] = &[
    "POD_NAME",
    "POD_NAMESPACE",
    "RUST_LOG",
    "POSTGRES_USER",
    "POSTGRES_DB",
    "POSTGRES_PASSWORD",
    "PGDATA",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "GOMEMLIMIT",
];
const FERROCAST_SERVICES: &[&str] = &["users", "rooms", "ingest", "gateway", "catalog", "worker"];
/// The stores the services need, by their compose service names.
const STORES: &[&str] = &["redis", "mongo", "postgres", "s3", "nats"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Every YAML document of a file, merge keys (`<<: *anchor`) applied, empty documents dropped.
fn yaml_documents(relative: &str) -> Vec<Value> {
    let text = read(relative);
    serde_norway::Deserializer::from_str(&text)
        .map(|document| {
            let mut value = Value::deserialize(document)
                .unwrap_or_else(|e| panic!("{relative} is not valid YAML: {e}"));
            value
                .apply_merge()
                .unwrap_or_else(|e| panic!("{relative}: bad merge key: {e}"));
            value
        })
        .filter(|value| !value.is_null())
        .collect()
}

fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(*key))
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(value, path).and_then(Value::as_str)
}

fn seq<'a>(value: &'a Value, path: &[&str]) -> &'a [Value] {
    at(value, path)
        .and_then(Value::as_sequence)
        .map_or(&[], Vec::as_slice)
}

fn mapping_keys(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_mapping)
        .map(|m| {
            m.keys()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The `FERROCAST_*` names in docs/api.md's "Configuration" section.
fn documented_variables() -> BTreeSet<String> {
    let docs = read("docs/api.md");
    let section = docs
        .split("\n## ")
        .find(|s| s.starts_with("Configuration"))
        .expect("docs/api.md has a Configuration section");
    let names: BTreeSet<String> = section
        .split(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
        .filter(|word| word.starts_with("FERROCAST_") && word.len() > "FERROCAST_".len())
        .map(str::to_owned)
        .collect();
    assert!(
        names.len() >= 20,
        "the config table was not parsed: {names:?}"
    );
    names
}

fn assert_documented(name: &str, documented: &BTreeSet<String>, place: &str) {
    if name.starts_with("FERROCAST_") {
        assert!(
            documented.contains(name),
            "{place}: {name} is not in docs/api.md's configuration table"
        );
    } else {
        assert!(
            HELPER_ENV.contains(&name),
            "{place}: unexpected variable {name}"
        );
    }
}

/// `(host, port)` of an `scheme://[user[:password]@]host:port/...` URL.
fn host_port(url: &str) -> Option<(String, u16)> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let (host, port) = authority.rsplit_once(':')?;
    Some((host.to_owned(), port.parse().ok()?))
}

// ---------------------------------------------------------------------------------------------
// docker-compose.yml and deploy/docker

fn compose() -> Value {
    let mut documents = yaml_documents("docker-compose.yml");
    assert_eq!(documents.len(), 1, "docker-compose.yml is one document");
    documents.remove(0)
}

fn compose_services(compose: &Value) -> BTreeMap<String, Value> {
    let services = at(compose, &["services"])
        .and_then(Value::as_mapping)
        .expect("compose has services");
    services
        .iter()
        .map(|(k, v)| (k.as_str().expect("service name").to_owned(), v.clone()))
        .collect()
}

/// A compose service's environment, in map or `KEY=value` list form.
fn compose_env(service: &Value) -> BTreeMap<String, String> {
    match service.get("environment") {
        Some(Value::Mapping(map)) => map
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => String::new(),
                };
                (k.as_str().expect("env name").to_owned(), value)
            })
            .collect(),
        Some(Value::Sequence(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .map(|entry| {
                let (k, v) = entry.split_once('=').unwrap_or((entry, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

#[test]
fn compose_runs_every_service_with_an_image_or_build_and_a_healthcheck() {
    let services = compose_services(&compose());
    for expected in FERROCAST_SERVICES.iter().chain(STORES) {
        assert!(services.contains_key(*expected), "compose lacks {expected}");
    }
    for (name, service) in &services {
        assert!(
            service.get("image").is_some() || service.get("build").is_some(),
            "{name}: no image or build"
        );
        let test = seq(service, &["healthcheck", "test"]);
        assert!(test.len() >= 2, "{name}: no healthcheck command");
        for dependency in mapping_keys(service.get("depends_on")) {
            assert!(
                services.contains_key(&dependency),
                "{name} depends on unknown {dependency}"
            );
        }
    }
    assert_eq!(str_at(&services["redis"], &["image"]), Some("redis:7"));
    assert_eq!(str_at(&services["mongo"], &["image"]), Some("mongo:8"));
    assert_eq!(
        str_at(&services["postgres"], &["image"]),
        Some("postgres:15")
    );
    assert!(
        str_at(&services["s3"], &["image"]).is_some_and(|i| i.starts_with("chrislusf/seaweedfs:")),
        "the S3 storage is SeaweedFS's official image"
    );
    for name in FERROCAST_SERVICES {
        let check = seq(&services[*name], &["healthcheck", "test"])
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            check.contains("/healthz") || check.contains("/readyz"),
            "{name}: healthcheck {check}"
        );
    }
}

#[test]
fn compose_env_names_are_documented_and_secrets_must_come_from_dot_env() {
    let documented = documented_variables();
    let services = compose_services(&compose());
    for (name, service) in &services {
        for variable in compose_env(service).keys() {
            assert_documented(variable, &documented, &format!("compose {name}"));
        }
    }
    for (service, secret) in [
        ("users", "FERROCAST_JWT_SECRET"),
        ("users", "FERROCAST_SERVICE_TOKEN"),
        ("rooms", "FERROCAST_SERVICE_TOKEN"),
        ("ingest", "FERROCAST_SERVICE_TOKEN"),
        ("gateway", "FERROCAST_SERVICE_TOKEN"),
        ("catalog", "FERROCAST_SERVICE_TOKEN"),
        ("catalog", "FERROCAST_S3_ACCESS_KEY"),
        ("catalog", "FERROCAST_S3_SECRET_KEY"),
        ("worker", "FERROCAST_SERVICE_TOKEN"),
        ("worker", "FERROCAST_S3_ACCESS_KEY"),
        ("worker", "FERROCAST_S3_SECRET_KEY"),
    ] {
        let env = compose_env(&services[service]);
        let value = env
            .get(secret)
            .unwrap_or_else(|| panic!("{service} lacks {secret}"));
        assert!(
            value.starts_with(&format!("${{{secret}:?")),
            "{service}.{secret} must fail clearly when unset, got {value:?}"
        );
    }
    assert!(
        !compose_env(&services["gateway"])
            .keys()
            .any(|k| k.contains("SECRET")),
        "the gateway needs no secret but the service token"
    );
    for service in ["rooms", "gateway"] {
        assert_eq!(
            compose_env(&services[service])
                .get("FERROCAST_INGEST_NETWORKS")
                .map(String::as_str),
            Some("172.29.0.0/16"),
            "{service} allows ingest origins only inside the compose network"
        );
    }
}

#[test]
fn compose_binds_all_interfaces_and_every_url_names_a_real_service_port() {
    let services = compose_services(&compose());
    // Ports each ferrocast service listens on, from its *_ADDR variables.
    let mut listening: BTreeMap<&str, BTreeSet<u16>> = BTreeMap::new();
    for name in FERROCAST_SERVICES {
        for (variable, value) in compose_env(&services[*name]) {
            if variable.ends_with("_ADDR") {
                let port = value
                    .strip_prefix("0.0.0.0:")
                    .unwrap_or_else(|| panic!("{name}.{variable} must bind 0.0.0.0, got {value}"));
                listening
                    .entry(name)
                    .or_default()
                    .insert(port.parse().expect("port"));
            }
        }
        assert!(listening.contains_key(*name), "{name} sets no *_ADDR");
    }
    let mut urls = 0;
    for (name, service) in &services {
        for (variable, value) in compose_env(service) {
            if !variable.ends_with("_URL") {
                continue;
            }
            urls += 1;
            let (host, port) =
                host_port(&value).unwrap_or_else(|| panic!("{name}.{variable}: {value}"));
            assert!(
                services.contains_key(&host),
                "{name}.{variable} names unknown host {host}"
            );
            if let Some(ports) = listening.get(host.as_str()) {
                assert!(
                    ports.contains(&port),
                    "{name}.{variable}: {host} does not listen on {port}"
                );
            }
        }
    }
    assert!(
        urls >= 8,
        "expected the services to be wired by URL, found {urls}"
    );
    let origin = compose_env(&services["ingest"])["FERROCAST_INGEST_ORIGIN_URL"].clone();
    assert_eq!(host_port(&origin).map(|(h, _)| h), Some("ingest".into()));
}

#[test]
fn compose_publishes_web_and_rtmp_and_declares_its_volumes() {
    let compose = compose();
    let services = compose_services(&compose);
    let published: BTreeSet<String> = services
        .values()
        .flat_map(|s| {
            seq(s, &["ports"])
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
        })
        .collect();
    // Browsers upload media straight to the storage, so its S3 port is public too.
    assert_eq!(
        published,
        BTreeSet::from([
            "8080:8080".to_owned(),
            "1935:1935".to_owned(),
            "8333:8333".to_owned()
        ])
    );
    assert!(seq(&services["gateway"], &["ports"])
        .iter()
        .any(|p| p.as_str() == Some("8080:8080")));
    assert!(seq(&services["ingest"], &["ports"])
        .iter()
        .any(|p| p.as_str() == Some("1935:1935")));

    let declared: BTreeSet<String> = mapping_keys(compose.get("volumes")).into_iter().collect();
    let mut used = BTreeSet::new();
    for (name, service) in &services {
        for mount in seq(service, &["volumes"]).iter().filter_map(Value::as_str) {
            let source = mount.split(':').next().unwrap_or_default();
            if !source.starts_with(['.', '/', '~']) {
                assert!(
                    declared.contains(source),
                    "{name} mounts undeclared volume {source}"
                );
                used.insert(source.to_owned());
            }
        }
    }
    for volume in ["mongo-data", "postgres-data", "s3-data", "nats-data", "hls"] {
        assert!(used.contains(volume), "{volume} unused: {used:?}");
    }
    let hls_root = compose_env(&services["ingest"])["FERROCAST_HLS_ROOT"].clone();
    assert!(
        seq(&services["ingest"], &["volumes"])
            .iter()
            .any(|m| m.as_str() == Some(&format!("hls:{hls_root}"))),
        "the hls volume is mounted at FERROCAST_HLS_ROOT ({hls_root})"
    );
}

/// `FROM` stages of a Dockerfile: name → (resolved base image, instruction lines).
fn dockerfile_stages(relative: &str) -> BTreeMap<String, (String, Vec<String>)> {
    let text = read(relative).replace("\\\n", " ");
    let mut args = BTreeMap::new();
    let mut stages: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["ARG", definition] if current.is_none() => {
                if let Some((k, v)) = definition.split_once('=') {
                    args.insert(format!("${{{k}}}"), v.to_owned());
                }
            }
            ["FROM", base, as_kw, name] if as_kw.eq_ignore_ascii_case("as") => {
                let base = args
                    .get(*base)
                    .cloned()
                    .unwrap_or_else(|| (*base).to_owned());
                stages.insert((*name).to_owned(), (base, Vec::new()));
                current = Some((*name).to_owned());
            }
            _ => {
                let stage = current.as_ref().and_then(|c| stages.get_mut(c));
                stage
                    .expect("instruction before the first FROM")
                    .1
                    .push(line.to_owned());
            }
        }
    }
    stages
}

#[test]
fn dockerfile_builds_in_release_on_the_agreed_bases_and_runs_as_non_root() {
    let stages = dockerfile_stages("deploy/docker/Dockerfile");
    let base = |stage: &str| stages.get(stage).map(|(b, _)| b.as_str());
    assert_eq!(base("builder"), Some("rust:1-bookworm"));
    assert!(
        base("frontend").is_some_and(|b| b.starts_with("node:20")),
        "{:?}",
        base("frontend")
    );
    assert_eq!(base("runtime"), Some("debian:bookworm-slim"));
    let lines = |stage: &str| stages[stage].1.join("\n");
    assert!(lines("builder").contains("cargo build --release --locked"));
    for service in FERROCAST_SERVICES {
        assert!(
            lines("builder").contains(&format!("-p ferrocast-{service} "))
                && lines("builder").contains(&format!("target/release/ferrocast-{service} ")),
            "the builder builds and keeps ferrocast-{service}"
        );
    }
    assert!(lines("frontend").contains("npm run build"));
    assert!(
        lines("runtime").contains("curl"),
        "runtime images carry curl for health checks"
    );
    for service in FERROCAST_SERVICES {
        let (base, instructions) = stages
            .get(*service)
            .unwrap_or_else(|| panic!("no {service} target"));
        assert_eq!(base, "runtime", "{service} builds on the common runtime");
        let user = instructions
            .iter()
            .rev()
            .find_map(|l| l.strip_prefix("USER "))
            .unwrap_or_else(|| panic!("{service}: no USER"));
        let uid = user.split(':').next().unwrap_or_default();
        assert!(uid != "root" && uid != "0", "{service} runs as {user}");
        assert!(
            lines(service).contains(&format!("/out/ferrocast-{service}")),
            "{service} copies its binary"
        );
    }
    assert!(
        lines("ingest").contains("ffmpeg"),
        "the ingest image carries ffmpeg"
    );
    assert!(
        lines("gateway").contains("--from=frontend"),
        "the gateway image carries the frontend"
    );
}

#[test]
fn compose_builds_name_existing_dockerfile_targets() {
    let services = compose_services(&compose());
    for name in FERROCAST_SERVICES {
        let build = &services[*name]["build"];
        let context = str_at(build, &["context"]).expect("build context");
        let dockerfile = str_at(build, &["dockerfile"]).expect("build dockerfile");
        let relative = Path::new(context).join(dockerfile);
        let relative = relative
            .to_str()
            .expect("utf-8 path")
            .trim_start_matches("./");
        let stages = dockerfile_stages(relative);
        let target = str_at(build, &["target"]).expect("build target");
        assert!(
            stages.contains_key(target),
            "{name}: no stage {target} in {relative}"
        );
    }
    let gateway_env = compose_env(&services["gateway"]);
    let frontend = &gateway_env["FERROCAST_FRONTEND_DIR"];
    let stages = dockerfile_stages("deploy/docker/Dockerfile");
    assert!(
        stages["gateway"]
            .1
            .iter()
            .any(|l| l.ends_with(frontend.as_str())),
        "the frontend is copied to {frontend}"
    );
}

// ---------------------------------------------------------------------------------------------
// deploy/k8s

const K8S: &str = "deploy/k8s";

/// Every manifest in deploy/k8s (not the kustomization), by file name.
fn k8s_files() -> BTreeSet<String> {
    std::fs::read_dir(root().join(K8S))
        .expect("deploy/k8s exists")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| (n.ends_with(".yaml") || n.ends_with(".yml")) && n != "kustomization.yaml")
        .collect()
}

/// All documents of all listed manifests.
fn k8s_documents() -> Vec<Value> {
    let documents: Vec<Value> = k8s_files()
        .iter()
        .flat_map(|file| yaml_documents(&format!("{K8S}/{file}")))
        .collect();
    for document in &documents {
        for field in ["apiVersion", "kind"] {
            assert!(
                str_at(document, &[field]).is_some(),
                "a document lacks {field}: {document:?}"
            );
        }
        assert!(
            str_at(document, &["metadata", "name"]).is_some(),
            "a document lacks a name"
        );
    }
    documents
}

fn of_kind<'a>(documents: &'a [Value], kind: &str) -> Vec<&'a Value> {
    documents
        .iter()
        .filter(|d| str_at(d, &["kind"]) == Some(kind))
        .collect()
}

fn named<'a>(documents: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    of_kind(documents, kind)
        .into_iter()
        .find(|d| str_at(d, &["metadata", "name"]) == Some(name))
}

fn workloads(documents: &[Value]) -> Vec<&Value> {
    let mut all = of_kind(documents, "Deployment");
    all.extend(of_kind(documents, "StatefulSet"));
    all
}

fn containers(workload: &Value) -> &[Value] {
    seq(workload, &["spec", "template", "spec", "containers"])
}

#[test]
fn kustomization_lists_exactly_the_manifests_in_the_folder() {
    let kustomization = yaml_documents(&format!("{K8S}/kustomization.yaml"));
    let kustomization = kustomization.first().expect("kustomization document");
    assert_eq!(str_at(kustomization, &["kind"]), Some("Kustomization"));
    let listed: Vec<String> = seq(kustomization, &["resources"])
        .iter()
        .map(|r| r.as_str().expect("resource path").to_owned())
        .collect();
    let unique: BTreeSet<String> = listed.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        listed.len(),
        "a resource is listed twice: {listed:?}"
    );
    for resource in &listed {
        assert!(
            root().join(K8S).join(resource).is_file(),
            "kustomization lists missing {resource}"
        );
    }
    assert_eq!(
        unique,
        k8s_files(),
        "kustomization resources must match the folder's manifests"
    );
    let images: BTreeSet<&str> = seq(kustomization, &["images"])
        .iter()
        .filter_map(|i| str_at(i, &["name"]))
        .collect();
    for workload in workloads(&k8s_documents()) {
        for container in containers(workload) {
            let image = str_at(container, &["image"]).expect("image");
            if image.starts_with("ferrocast/") {
                assert!(
                    images.contains(image),
                    "{image} has no kustomize images entry"
                );
            }
        }
    }
}

#[test]
fn every_k8s_workload_has_probes_resources_and_runs_as_non_root() {
    let documents = k8s_documents();
    let workloads = workloads(&documents);
    let names: BTreeSet<&str> = workloads
        .iter()
        .filter_map(|w| str_at(w, &["metadata", "name"]))
        .collect();
    for expected in [
        "users", "rooms", "gateway", "ingest", "catalog", "worker", "redis", "mongodb", "postgres",
        "s3", "nats",
    ] {
        assert!(
            names.contains(expected),
            "no workload {expected}: {names:?}"
        );
    }
    for workload in workloads {
        let name = str_at(workload, &["metadata", "name"]).unwrap_or_default();
        let pod = at(workload, &["spec", "template", "spec"]).expect("pod spec");
        assert!(!containers(workload).is_empty(), "{name}: no containers");
        for container in containers(workload) {
            let place = format!(
                "{name}/{}",
                str_at(container, &["name"]).unwrap_or_default()
            );
            for probe in ["livenessProbe", "readinessProbe"] {
                assert!(
                    at(container, &[probe])
                        .and_then(Value::as_mapping)
                        .is_some(),
                    "{place}: no {probe}"
                );
            }
            for bound in ["requests", "limits"] {
                for resource in ["cpu", "memory"] {
                    assert!(
                        at(container, &["resources", bound, resource]).is_some(),
                        "{place}: no {bound}.{resource}"
                    );
                }
            }
            let setting = |key: &str| {
                at(container, &["securityContext", key])
                    .or_else(|| at(pod, &["securityContext", key]))
            };
            assert_eq!(
                setting("runAsNonRoot").and_then(Value::as_bool),
                Some(true),
                "{place}: runAsNonRoot"
            );
            let uid = setting("runAsUser").and_then(Value::as_u64);
            assert!(
                uid.is_some_and(|u| u > 0),
                "{place}: runAsUser must be a non-root uid, got {uid:?}"
            );
            let escalation = at(container, &["securityContext", "allowPrivilegeEscalation"])
                .and_then(Value::as_bool);
            assert_eq!(escalation, Some(false), "{place}: allowPrivilegeEscalation");
        }
    }
}

#[test]
fn every_k8s_env_name_is_documented_and_every_reference_resolves() {
    let documented = documented_variables();
    let documents = k8s_documents();
    let config_maps = of_kind(&documents, "ConfigMap");
    assert!(
        !config_maps.is_empty(),
        "a ConfigMap carries the shared configuration"
    );
    for config_map in &config_maps {
        for key in mapping_keys(config_map.get("data")) {
            assert_documented(&key, &documented, "ConfigMap");
        }
    }
    for workload in workloads(&documents) {
        let name = str_at(workload, &["metadata", "name"]).unwrap_or_default();
        for container in containers(workload) {
            for source in seq(container, &["envFrom"]) {
                if let Some(map) = str_at(source, &["configMapRef", "name"]) {
                    assert!(
                        named(&documents, "ConfigMap", map).is_some(),
                        "{name}: no ConfigMap {map}"
                    );
                }
            }
            for entry in seq(container, &["env"]) {
                let variable = str_at(entry, &["name"]).expect("env name");
                assert_documented(variable, &documented, name);
                if let Some(reference) = at(entry, &["valueFrom", "secretKeyRef"]) {
                    let secret_name = str_at(reference, &["name"]).expect("secret name");
                    let key = str_at(reference, &["key"]).expect("secret key");
                    let secret = named(&documents, "Secret", secret_name)
                        .unwrap_or_else(|| panic!("{name}: no Secret {secret_name}"));
                    let keys =
                        mapping_keys(secret.get("stringData").or_else(|| secret.get("data")));
                    assert!(
                        keys.iter().any(|k| k == key),
                        "{name}: Secret {secret_name} has no {key}"
                    );
                }
            }
        }
    }
}

#[test]
fn k8s_urls_name_existing_services_and_ports() {
    let documents = k8s_documents();
    let config_map = named(&documents, "ConfigMap", "ferrocast-config").expect("ferrocast-config");
    let data = config_map
        .get("data")
        .and_then(Value::as_mapping)
        .expect("data");
    let mut urls = 0;
    for (key, value) in data {
        let (Some(key), Some(value)) = (key.as_str(), value.as_str()) else {
            continue;
        };
        if key.ends_with("_ADDR") {
            assert!(
                value.starts_with("0.0.0.0:"),
                "{key} must bind 0.0.0.0 in a pod, got {value}"
            );
        }
        if !key.ends_with("_URL") {
            continue;
        }
        urls += 1;
        let (host, port) = host_port(value).unwrap_or_else(|| panic!("{key}: {value}"));
        let service = named(&documents, "Service", &host)
            .unwrap_or_else(|| panic!("{key}: no Service {host}"));
        let ports: Vec<u64> = seq(service, &["spec", "ports"])
            .iter()
            .filter_map(|p| at(p, &["port"]).and_then(Value::as_u64))
            .collect();
        assert!(
            ports.contains(&u64::from(port)),
            "{key}: Service {host} has no port {port} ({ports:?})"
        );
    }
    assert!(
        urls >= 6,
        "expected the services wired by URL, found {urls}"
    );
    assert!(
        !data.contains_key("FERROCAST_INGEST_ORIGIN_URL"),
        "the ingest origin is per pod, not shared"
    );
}

#[test]
fn services_select_existing_pods_and_target_declared_ports() {
    let documents = k8s_documents();
    let workloads = workloads(&documents);
    for service in of_kind(&documents, "Service") {
        let name = str_at(service, &["metadata", "name"]).unwrap_or_default();
        let selector = at(service, &["spec", "selector"])
            .and_then(Value::as_mapping)
            .expect("selector");
        let pods = workloads.iter().find(|w| {
            let labels = at(w, &["spec", "template", "metadata", "labels"]);
            selector
                .iter()
                .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
        });
        let pods = pods.unwrap_or_else(|| panic!("Service {name} selects no workload"));
        let container_ports: Vec<&Value> = containers(pods)
            .iter()
            .flat_map(|c| seq(c, &["ports"]))
            .collect();
        for port in seq(service, &["spec", "ports"]) {
            let target = at(port, &["targetPort"]).expect("targetPort");
            let found = container_ports
                .iter()
                .any(|p| p.get("name") == Some(target) || p.get("containerPort") == Some(target));
            assert!(
                found,
                "Service {name}: targetPort {target:?} is not a container port"
            );
        }
    }
}

#[test]
fn ingest_pods_each_announce_their_own_stable_origin() {
    let documents = k8s_documents();
    let ingest = named(&documents, "StatefulSet", "ingest").expect("ingest is a StatefulSet");
    let service_name = str_at(ingest, &["spec", "serviceName"]).expect("serviceName");
    let headless = named(&documents, "Service", service_name).expect("the StatefulSet's Service");
    assert_eq!(
        str_at(headless, &["spec", "clusterIP"]),
        Some("None"),
        "the Service must be headless"
    );

    let env = seq(&containers(ingest)[0], &["env"]);
    let position = |name: &str| env.iter().position(|e| str_at(e, &["name"]) == Some(name));
    let pod_name = position("POD_NAME").expect("POD_NAME from the downward API");
    assert_eq!(
        str_at(&env[pod_name], &["valueFrom", "fieldRef", "fieldPath"]),
        Some("metadata.name")
    );
    let origin = position("FERROCAST_INGEST_ORIGIN_URL").expect("origin URL");
    assert!(
        pod_name < origin,
        "$(POD_NAME) only expands variables defined before it"
    );
    let value = str_at(&env[origin], &["value"]).expect("origin value");
    assert!(
        value.starts_with("http://$(POD_NAME).") && value.contains(&format!(".{service_name}.")),
        "{value}"
    );
    let http_port = seq(&containers(ingest)[0], &["ports"])
        .iter()
        .find(|p| str_at(p, &["name"]) == Some("http"))
        .and_then(|p| at(p, &["containerPort"]).and_then(Value::as_u64))
        .expect("http port");
    assert!(
        value.ends_with(&format!(":{http_port}")),
        "{value} must use the HLS port {http_port}"
    );

    let rtmp = of_kind(&documents, "Service").into_iter().find(|s| {
        str_at(s, &["spec", "type"]) == Some("LoadBalancer")
            && seq(s, &["spec", "ports"])
                .iter()
                .any(|p| at(p, &["port"]).and_then(Value::as_u64) == Some(1935))
    });
    let rtmp = rtmp.expect("RTMP 1935 is reachable from outside the cluster");
    // A reconnect continues its room only on the pod that holds the session.
    assert_eq!(
        str_at(rtmp, &["spec", "sessionAffinity"]),
        Some("ClientIP"),
        "an encoder's reconnects go back to its pod"
    );
}

#[test]
fn secrets_hold_only_marked_placeholders() {
    let documents = k8s_documents();
    let secrets = of_kind(&documents, "Secret");
    assert!(!secrets.is_empty());
    for secret in secrets {
        let values = secret
            .get("stringData")
            .and_then(Value::as_mapping)
            .expect("stringData");
        for (key, value) in values {
            let value = value.as_str().unwrap_or_default();
            assert!(
                value.starts_with("CHANGE-ME"),
                "{key:?} must be a marked placeholder, got {value:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The gateway's internal listener

/// The port of a `0.0.0.0:port` address.
fn bound_port(addr: &str) -> u16 {
    addr.strip_prefix("0.0.0.0:")
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("{addr} must be 0.0.0.0:port"))
}

#[test]
fn gateway_readiness_and_metrics_use_the_internal_port_which_is_never_exposed() {
    // docker compose: the healthcheck asks the internal listener, which is not published.
    let services = compose_services(&compose());
    let env = compose_env(&services["gateway"]);
    let public = bound_port(&env["FERROCAST_GATEWAY_HTTP_ADDR"]);
    let internal = bound_port(&env["FERROCAST_GATEWAY_INTERNAL_ADDR"]);
    assert_ne!(public, internal);
    let check = seq(&services["gateway"], &["healthcheck", "test"])
        .iter()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        check.contains(&format!(":{internal}/readyz")),
        "compose gateway healthcheck: {check}"
    );
    for mapping in seq(&services["gateway"], &["ports"])
        .iter()
        .filter_map(Value::as_str)
    {
        assert!(
            !mapping.ends_with(&format!(":{internal}")),
            "compose publishes the internal port: {mapping}"
        );
    }

    // Kubernetes: readiness and the Prometheus annotations name the internal container port,
    // whose number is the ConfigMap's FERROCAST_GATEWAY_INTERNAL_ADDR; the Service leaves it out.
    let documents = k8s_documents();
    let config_map = named(&documents, "ConfigMap", "ferrocast-config").expect("ferrocast-config");
    let internal = bound_port(
        str_at(config_map, &["data", "FERROCAST_GATEWAY_INTERNAL_ADDR"])
            .expect("FERROCAST_GATEWAY_INTERNAL_ADDR in the ConfigMap"),
    );
    let gateway = named(&documents, "Deployment", "gateway").expect("gateway Deployment");
    let container = &containers(gateway)[0];
    let port_named = |name: &str| {
        seq(container, &["ports"])
            .iter()
            .find(|p| str_at(p, &["name"]) == Some(name))
            .and_then(|p| at(p, &["containerPort"]).and_then(Value::as_u64))
    };
    assert_eq!(port_named("internal"), Some(u64::from(internal)));
    let readiness_port = str_at(container, &["readinessProbe", "httpGet", "port"]);
    assert_eq!(readiness_port, Some("internal"));
    assert_eq!(
        str_at(container, &["readinessProbe", "httpGet", "path"]),
        Some("/readyz")
    );
    let annotations = at(gateway, &["spec", "template", "metadata", "annotations"]);
    let annotation = |key: &str| annotations.and_then(|a| a.get(key)).and_then(Value::as_str);
    assert_eq!(annotation("prometheus.io/scrape"), Some("true"));
    assert_eq!(
        annotation("prometheus.io/port"),
        Some(internal.to_string().as_str())
    );
    assert_eq!(annotation("prometheus.io/path"), Some("/metrics"));
    let service = named(&documents, "Service", "gateway").expect("gateway Service");
    for port in seq(service, &["spec", "ports"]) {
        let target = at(port, &["targetPort"]);
        assert!(
            target.and_then(Value::as_str) != Some("internal")
                && target.and_then(Value::as_u64) != Some(u64::from(internal))
                && at(port, &["port"]).and_then(Value::as_u64) != Some(u64::from(internal)),
            "the gateway Service exposes the internal port: {port:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The catalog and its stores

/// The name of the `.env` variable a compose value is taken from (`${NAME:?…}` / `${NAME:-…}`).
fn dot_env_name(value: &str) -> Option<&str> {
    let inner = value.split_once("${")?.1;
    let end = inner.find([':', '}'])?;
    Some(&inner[..end])
}

/// The `-flag=value` arguments of a command line.
fn flags(arguments: &[Value]) -> BTreeMap<String, String> {
    arguments
        .iter()
        .filter_map(Value::as_str)
        .filter_map(|a| a.strip_prefix('-')?.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// What the S3 server's command line must say wherever it runs: S3 on `port`, listening beyond
/// loopback with nothing but its S3 port, and no call home.
fn assert_s3_server(arguments: &[Value], port: u16, place: &str) {
    let words: Vec<&str> = arguments.iter().filter_map(Value::as_str).collect();
    assert_eq!(words.first(), Some(&"server"), "{place}: {words:?}");
    for switch in ["-filer", "-s3"] {
        assert!(words.contains(&switch), "{place}: no {switch}");
    }
    let flags = flags(arguments);
    let flag = |name: &str| flags.get(name).map(String::as_str);
    assert_eq!(flag("s3.port"), Some(port.to_string().as_str()), "{place}");
    assert_eq!(
        flag("ip.bind"),
        Some("127.0.0.1"),
        "{place}: master, volume and filer take unsigned requests: loopback only"
    );
    assert_eq!(flag("s3.ip.bind"), Some("0.0.0.0"), "{place}");
    assert_eq!(flag("master.telemetry"), Some("false"), "{place}");
    assert!(
        flag("s3.allowedOrigins").is_some_and(|o| o.contains("FERROCAST_CATALOG_UPLOAD_ORIGINS")),
        "{place}: buckets without a CORS rule allow only the catalog's upload origins, not any"
    );
}

#[test]
fn compose_catalog_reaches_its_stores_with_the_credentials_they_are_given() {
    let services = compose_services(&compose());
    let catalog = compose_env(&services["catalog"]);
    let postgres = compose_env(&services["postgres"]);
    let s3 = compose_env(&services["s3"]);

    for store in ["postgres", "s3", "users"] {
        assert_eq!(
            str_at(&services["catalog"], &["depends_on", store, "condition"]),
            Some("service_healthy"),
            "the catalog waits for a healthy {store}"
        );
    }

    // PostgreSQL: the URL's user, database and password are the ones the server is set up with.
    let url = &catalog["FERROCAST_POSTGRES_URL"];
    assert_eq!(host_port(url), Some(("postgres".to_owned(), 5432)), "{url}");
    let credentials = url
        .split_once("://")
        .and_then(|(_, rest)| rest.rsplit_once('@'))
        .map(|(credentials, _)| credentials)
        .expect("the PostgreSQL URL carries credentials");
    let (user, password) = credentials.split_once(':').expect("user:password");
    assert_eq!(
        Some(user),
        postgres.get("POSTGRES_USER").map(String::as_str)
    );
    assert_eq!(dot_env_name(password), Some("POSTGRES_PASSWORD"));
    assert_eq!(
        dot_env_name(&postgres["POSTGRES_PASSWORD"]),
        Some("POSTGRES_PASSWORD")
    );
    for value in [password, postgres["POSTGRES_PASSWORD"].as_str()] {
        assert!(
            value.starts_with("${POSTGRES_PASSWORD:?"),
            "the PostgreSQL password must fail clearly when unset, got {value:?}"
        );
    }
    let database = url.rsplit('/').next().unwrap_or_default();
    assert_eq!(
        Some(database),
        postgres.get("POSTGRES_DB").map(String::as_str)
    );

    // S3: the catalog signs with the keys the storage's identity is made of.
    for (catalog_key, storage_key) in [
        ("FERROCAST_S3_ACCESS_KEY", "AWS_ACCESS_KEY_ID"),
        ("FERROCAST_S3_SECRET_KEY", "AWS_SECRET_ACCESS_KEY"),
    ] {
        assert!(
            s3[storage_key].starts_with(&format!("${{{catalog_key}:?")),
            "s3.{storage_key} must come from .env's {catalog_key}, got {:?}",
            s3[storage_key]
        );
    }
    let s3_port = host_port(&catalog["FERROCAST_S3_ENDPOINT"])
        .filter(|(host, _)| host == "s3")
        .map(|(_, port)| port)
        .expect("FERROCAST_S3_ENDPOINT names the s3 service");
    assert_s3_server(seq(&services["s3"], &["command"]), s3_port, "compose s3");
    let published = format!("{s3_port}:{s3_port}");
    assert!(
        seq(&services["s3"], &["ports"])
            .iter()
            .any(|p| p.as_str() == Some(published.as_str())),
        "browsers reach the storage on {s3_port}"
    );
    let public = &catalog["FERROCAST_S3_PUBLIC_ENDPOINT"];
    assert!(
        public.ends_with(&format!(":{s3_port}}}")),
        "presigned URLs name the published port: {public}"
    );
    assert!(
        catalog["FERROCAST_CATALOG_UPLOAD_ORIGINS"].contains("http://localhost:8080"),
        "the web app's own origin may upload"
    );
    assert_eq!(
        compose_env(&services["gateway"])
            .get("FERROCAST_CATALOG_HTTP_URL")
            .map(String::as_str),
        Some("http://catalog:8084")
    );
}

/// A container's env entry by name, with its position.
fn env_entry<'a>(container: &'a Value, name: &str) -> Option<(usize, &'a Value)> {
    seq(container, &["env"])
        .iter()
        .enumerate()
        .find(|(_, e)| str_at(e, &["name"]) == Some(name))
}

fn secret_key_of(container: &Value, name: &str) -> Option<String> {
    env_entry(container, name)
        .and_then(|(_, e)| str_at(e, &["valueFrom", "secretKeyRef", "key"]))
        .map(str::to_owned)
}

#[test]
fn k8s_catalog_reaches_its_stores_with_the_credentials_they_are_given() {
    let documents = k8s_documents();
    let catalog = named(&documents, "Deployment", "catalog").expect("catalog Deployment");
    let catalog = &containers(catalog)[0];
    let postgres = named(&documents, "StatefulSet", "postgres").expect("postgres StatefulSet");
    let postgres = &containers(postgres)[0];
    let s3 = named(&documents, "StatefulSet", "s3").expect("s3 StatefulSet");
    let s3 = &containers(s3)[0];
    let config_map = named(&documents, "ConfigMap", "ferrocast-config").expect("ferrocast-config");

    // PostgreSQL: the URL is built in the pod from the password in the Secret, which it may
    // only name after the variable holding it is defined; it never sits in the ConfigMap.
    assert!(
        str_at(config_map, &["data", "FERROCAST_POSTGRES_URL"]).is_none(),
        "the PostgreSQL URL holds a password: not in the ConfigMap"
    );
    let (password_at, _) = env_entry(catalog, "POSTGRES_PASSWORD").expect("POSTGRES_PASSWORD");
    let (url_at, url) = env_entry(catalog, "FERROCAST_POSTGRES_URL").expect("the URL");
    assert!(
        password_at < url_at,
        "$(POSTGRES_PASSWORD) expands only once defined"
    );
    let url = str_at(url, &["value"]).expect("a URL value");
    let user = str_at(
        env_entry(postgres, "POSTGRES_USER").expect("user").1,
        &["value"],
    );
    let database = str_at(
        env_entry(postgres, "POSTGRES_DB").expect("db").1,
        &["value"],
    );
    assert_eq!(
        Some(url.to_owned()),
        user.zip(database).map(|(user, database)| format!(
            "postgres://{user}:$(POSTGRES_PASSWORD)@postgres:5432/{database}"
        ))
    );
    assert_eq!(
        secret_key_of(catalog, "POSTGRES_PASSWORD"),
        secret_key_of(postgres, "POSTGRES_PASSWORD")
    );
    let service = named(&documents, "Service", "postgres").expect("postgres Service");
    assert!(seq(service, &["spec", "ports"])
        .iter()
        .any(|p| at(p, &["port"]).and_then(Value::as_u64) == Some(5432)));

    // S3: the same Secret keys make the storage's identity and sign the catalog's requests.
    for (catalog_key, storage_key) in [
        ("FERROCAST_S3_ACCESS_KEY", "AWS_ACCESS_KEY_ID"),
        ("FERROCAST_S3_SECRET_KEY", "AWS_SECRET_ACCESS_KEY"),
    ] {
        let key = secret_key_of(catalog, catalog_key);
        assert!(
            key.is_some(),
            "the catalog's {catalog_key} comes from the Secret"
        );
        assert_eq!(key, secret_key_of(s3, storage_key), "{storage_key}");
    }
    let endpoint =
        str_at(config_map, &["data", "FERROCAST_S3_ENDPOINT"]).expect("FERROCAST_S3_ENDPOINT");
    let (host, port) = host_port(endpoint).expect("an endpoint with a port");
    assert_eq!(host, "s3");
    let service = named(&documents, "Service", "s3").expect("s3 Service");
    assert!(seq(service, &["spec", "ports"])
        .iter()
        .any(|p| at(p, &["port"]).and_then(Value::as_u64) == Some(u64::from(port))));
    assert_s3_server(seq(s3, &["args"]), port, "k8s s3");
    for key in [
        "FERROCAST_S3_BUCKET",
        "FERROCAST_S3_PUBLIC_ENDPOINT",
        "FERROCAST_CATALOG_UPLOAD_ORIGINS",
    ] {
        assert!(str_at(config_map, &["data", key]).is_some(), "no {key}");
    }
    assert_eq!(
        str_at(config_map, &["data", "FERROCAST_CATALOG_HTTP_URL"]),
        Some("http://catalog:8084"),
        "the gateway finds the catalog"
    );
}

// ---------------------------------------------------------------------------------------------
// NATS JetStream, the VOD job queue

/// The path JetStream's health endpoint answers 200 on only when JetStream runs.
const NATS_HEALTH: &str = "/healthz?js-enabled-only=true";

/// The value after `flag` in a command line, given as `flag value` or `flag=value`.
fn option<'a>(words: &[&'a str], flag: &str) -> Option<&'a str> {
    words.iter().enumerate().find_map(|(i, word)| {
        if *word == flag {
            words.get(i + 1).copied()
        } else {
            word.strip_prefix(flag)?.strip_prefix('=')
        }
    })
}

#[test]
fn compose_nats_keeps_jetstream_on_a_volume_and_checks_jetstream_health() {
    let services = compose_services(&compose());
    let nats = &services["nats"];
    assert_eq!(str_at(nats, &["image"]), Some("nats:2.10-alpine"));
    let command: Vec<&str> = seq(nats, &["command"])
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(command.contains(&"-js"), "JetStream is on: {command:?}");
    let store = option(&command, "-sd").expect("a JetStream store directory (-sd)");
    assert!(
        seq(nats, &["volumes"])
            .iter()
            .any(|m| m.as_str() == Some(&format!("nats-data:{store}"))),
        "the store {store} is on the nats-data volume"
    );
    let monitor = option(&command, "-m").expect("the monitoring port (-m) the healthcheck asks");
    let check = seq(nats, &["healthcheck", "test"])
        .iter()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        check.contains(&format!("127.0.0.1:{monitor}{NATS_HEALTH}")),
        "compose nats healthcheck: {check}"
    );
    assert!(
        seq(nats, &["ports"]).is_empty(),
        "the queue is reached inside the network only"
    );
}

#[test]
fn k8s_nats_is_a_three_server_jetstream_cluster_with_a_volume_per_server() {
    let documents = k8s_documents();
    let nats = named(&documents, "StatefulSet", "nats").expect("nats is a StatefulSet");
    assert_eq!(
        at(nats, &["spec", "replicas"]).and_then(Value::as_u64),
        Some(3)
    );
    let container = &containers(nats)[0];
    let words: Vec<&str> = seq(container, &["args"])
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let port_named = |name: &str| {
        seq(container, &["ports"])
            .iter()
            .find(|p| str_at(p, &["name"]) == Some(name))
            .and_then(|p| at(p, &["containerPort"]).and_then(Value::as_u64))
            .unwrap_or_else(|| panic!("nats: no container port {name}"))
    };
    let flag = |name: &str| option(&words, name).unwrap_or_else(|| panic!("nats: no {name}"));

    assert!(
        words.contains(&"--jetstream") || words.contains(&"-js"),
        "{words:?}"
    );
    assert_eq!(flag("--port"), port_named("client").to_string());
    assert_eq!(flag("--http_port"), port_named("monitor").to_string());
    assert!(!flag("--cluster_name").is_empty());
    let cluster_port = port_named("cluster");
    assert!(
        flag("--cluster").ends_with(&format!(":{cluster_port}")),
        "routes are accepted on the cluster port"
    );
    // JetStream's cluster tells its servers apart by name: each pod's own, stable one.
    assert_eq!(flag("--name"), "$(POD_NAME)");
    let (_, pod_name) = env_entry(container, "POD_NAME").expect("POD_NAME");
    assert_eq!(
        str_at(pod_name, &["valueFrom", "fieldRef", "fieldPath"]),
        Some("metadata.name")
    );

    // Routes name every pod through the headless Service, on the cluster port.
    let service_name = str_at(nats, &["spec", "serviceName"]).expect("serviceName");
    let headless = named(&documents, "Service", service_name).expect("the StatefulSet's Service");
    assert_eq!(str_at(headless, &["spec", "clusterIP"]), Some("None"));
    assert!(seq(headless, &["spec", "ports"])
        .iter()
        .any(|p| at(p, &["port"]).and_then(Value::as_u64) == Some(cluster_port)));
    let routes: BTreeSet<&str> = flag("--routes").split(',').collect();
    let expected: BTreeSet<String> = (0..3)
        .map(|i| format!("nats://nats-{i}.{service_name}:{cluster_port}"))
        .collect();
    assert_eq!(
        routes,
        expected.iter().map(String::as_str).collect(),
        "routes to the three pods"
    );

    // The store sits on a volume of each pod's own.
    let store = flag("--store_dir");
    let mount = seq(container, &["volumeMounts"])
        .iter()
        .find(|m| str_at(m, &["mountPath"]) == Some(store))
        .and_then(|m| str_at(m, &["name"]))
        .unwrap_or_else(|| panic!("nothing is mounted at the store {store}"));
    assert!(
        seq(nats, &["spec", "volumeClaimTemplates"])
            .iter()
            .any(|t| str_at(t, &["metadata", "name"]) == Some(mount)),
        "the store's volume {mount} is claimed per pod"
    );

    for probe in ["livenessProbe", "readinessProbe"] {
        assert_eq!(
            str_at(container, &[probe, "httpGet", "path"]),
            Some(NATS_HEALTH),
            "{probe}"
        );
        assert_eq!(
            str_at(container, &[probe, "httpGet", "port"]),
            Some("monitor"),
            "{probe}"
        );
    }

    let client = named(&documents, "Service", "nats").expect("the client Service nats");
    assert_ne!(str_at(client, &["spec", "clusterIP"]), Some("None"));
    assert!(seq(client, &["spec", "ports"])
        .iter()
        .any(|p| at(p, &["port"]).and_then(Value::as_u64) == Some(4222)
            && str_at(p, &["targetPort"]) == Some("client")));
}

// ---------------------------------------------------------------------------------------------
// The VOD worker

#[test]
fn compose_worker_shares_the_catalogs_storage_and_queue_and_its_image_carries_the_tools() {
    let services = compose_services(&compose());
    let worker = compose_env(&services["worker"]);
    let catalog = compose_env(&services["catalog"]);
    for store in ["nats", "s3"] {
        assert_eq!(
            str_at(&services["worker"], &["depends_on", store, "condition"]),
            Some("service_healthy"),
            "the worker waits for a healthy {store}"
        );
    }
    for key in [
        "FERROCAST_S3_ENDPOINT",
        "FERROCAST_S3_BUCKET",
        "FERROCAST_S3_ACCESS_KEY",
        "FERROCAST_S3_SECRET_KEY",
        "FERROCAST_NATS_URL",
    ] {
        assert_eq!(
            worker.get(key),
            catalog.get(key),
            "the worker and the catalog agree on {key}"
        );
    }
    assert_eq!(
        host_port(&worker["FERROCAST_NATS_URL"]),
        Some(("nats".to_owned(), 4222))
    );
    let check = seq(&services["worker"], &["healthcheck", "test"])
        .iter()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(" ");
    let port = bound_port(&worker["FERROCAST_WORKER_HTTP_ADDR"]);
    assert!(
        check.contains(&format!("127.0.0.1:{port}/readyz")),
        "{check}"
    );

    let stages = dockerfile_stages("deploy/docker/Dockerfile");
    let image = stages["worker"].1.join("\n");
    assert!(image.contains("ffmpeg"), "the worker image carries ffmpeg");
    let packager = &worker["FERROCAST_WORKER_PACKAGER"];
    assert!(
        image
            .lines()
            .any(|l| l.starts_with("COPY ") && l.ends_with(&format!(" {packager}"))),
        "the worker image puts Shaka Packager at {packager}"
    );
    let scratch = &worker["FERROCAST_WORKER_SCRATCH_DIR"];
    assert!(
        image.contains(&format!("mkdir -p {scratch}")) && image.contains("chown -R 10001:10001"),
        "the worker image makes {scratch} for its user"
    );
}

#[test]
fn k8s_worker_probes_its_http_port_and_works_in_a_bounded_scratch_volume() {
    let documents = k8s_documents();
    let config_map = named(&documents, "ConfigMap", "ferrocast-config").expect("ferrocast-config");
    let data = |key: &str| {
        str_at(config_map, &["data", key]).unwrap_or_else(|| panic!("ConfigMap lacks {key}"))
    };
    let worker = named(&documents, "Deployment", "worker").expect("worker Deployment");
    assert_eq!(
        at(worker, &["spec", "replicas"]).and_then(Value::as_u64),
        Some(2)
    );
    let container = &containers(worker)[0];
    let port = seq(container, &["ports"])
        .iter()
        .find(|p| str_at(p, &["name"]) == Some("http"))
        .and_then(|p| at(p, &["containerPort"]).and_then(Value::as_u64))
        .expect("http port");
    assert_eq!(
        u64::from(bound_port(data("FERROCAST_WORKER_HTTP_ADDR"))),
        port
    );
    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        assert_eq!(
            str_at(container, &[probe, "httpGet", "path"]),
            Some(path),
            "{probe}"
        );
        assert_eq!(
            str_at(container, &[probe, "httpGet", "port"]),
            Some("http"),
            "{probe}"
        );
    }
    for key in [
        "FERROCAST_SERVICE_TOKEN",
        "FERROCAST_S3_ACCESS_KEY",
        "FERROCAST_S3_SECRET_KEY",
    ] {
        assert_eq!(
            secret_key_of(container, key).as_deref(),
            Some(key),
            "the worker's {key} comes from the Secret"
        );
    }

    // The root filesystem is read-only: the scratch folder is an emptyDir with a size limit.
    assert_eq!(
        at(container, &["securityContext", "readOnlyRootFilesystem"]).and_then(Value::as_bool),
        Some(true)
    );
    let volume_at = |path: &str| {
        let name = seq(container, &["volumeMounts"])
            .iter()
            .find(|m| str_at(m, &["mountPath"]) == Some(path))
            .and_then(|m| str_at(m, &["name"]))
            .unwrap_or_else(|| panic!("nothing is mounted at {path}"));
        seq(worker, &["spec", "template", "spec", "volumes"])
            .iter()
            .find(|v| str_at(v, &["name"]) == Some(name))
            .unwrap_or_else(|| panic!("no volume {name}"))
    };
    for path in [data("FERROCAST_WORKER_SCRATCH_DIR"), "/tmp"] {
        assert!(
            str_at(volume_at(path), &["emptyDir", "sizeLimit"]).is_some(),
            "{path}: an emptyDir with a sizeLimit"
        );
    }

    // The image the ConfigMap's tools name, and settings the worker accepts.
    let stages = dockerfile_stages("deploy/docker/Dockerfile");
    let packager = data("FERROCAST_WORKER_PACKAGER");
    assert!(
        stages["worker"]
            .1
            .iter()
            .any(|l| l.starts_with("COPY ") && l.ends_with(&format!(" {packager}"))),
        "the worker image puts Shaka Packager at {packager}"
    );
    assert_eq!(
        host_port(data("FERROCAST_NATS_URL")),
        Some(("nats".to_owned(), 4222))
    );
    let number = |key: &str| -> u64 {
        data(key)
            .parse()
            .unwrap_or_else(|_| panic!("{key} is a number"))
    };
    assert!((1..=20).contains(&number("FERROCAST_WORKER_ATTEMPTS")));
    assert!(number("FERROCAST_WORKER_ACK_WAIT_SECONDS") >= 3);
    assert!((1..=16).contains(&number("FERROCAST_WORKER_JOBS")));
}

# ./ferrocast test: every check CI runs — formatting, lints, Rust unit and integration tests
# against real Redis / document store / PostgreSQL / S3 / ffmpeg / nginx-rtmp, frontend unit
# tests and build, the browser end-to-end test and the benchmark smoke run. Sourced by
# ./ferrocast.

run_all_tests() {
  trap stop_owned EXIT
  export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

  say "cargo fmt --check"
  cargo fmt --all -- --check

  say "cargo clippy (all targets, warnings are errors)"
  cargo clippy --workspace --all-targets --locked -- -D warnings

  say "no import circles between the modules of any crate"
  python3 "$ROOT/scripts/import_circles.py"

  start_test_dependencies

  say "cargo test (unit + integration against real dependencies)"
  cargo build --workspace --bins --locked
  cargo test --workspace --locked -- --test-threads="${FERROCAST_TEST_THREADS:-2}"

  if [ -f "$ROOT/frontend/package.json" ]; then
    say "frontend: unit tests and production build"
    (cd "$ROOT/frontend" && npm test --silent && npm run build --silent)
  fi

  if [ -f "$ROOT/e2e/package.json" ]; then
    say "browser end-to-end test (real platform, ffmpeg publisher, Debian Chromium)"
    (cd "$ROOT/e2e" && npm test --silent)
  fi

  if [ -x "$ROOT/bench/run" ]; then
    say "benchmark smoke run (tiny sizes; keeps bench/ from rotting)"
    bash "$ROOT/bench/run" --smoke
  fi

  say "all checks passed"
}

# Real Redis, one shared document store, PostgreSQL and S3 for the whole run; each test
# namespaces itself (unique database name, unique Redis key prefix, unique bucket). NATS is not
# shared: a test that needs JetStream starts a nats-server of its own (testkit's Nats), found
# on PATH or in /usr/sbin, where Debian puts it.
start_test_dependencies() {
  if [ -z "${FERROCAST_TEST_REDIS_URL:-}" ]; then
    if port_open 127.0.0.1 6379; then
      export FERROCAST_TEST_REDIS_URL="redis://127.0.0.1:6379"
    else
      local redis_port
      redis_port="$(free_port)"
      say "starting a throw-away redis-server on 127.0.0.1:$redis_port"
      start_owned test-redis redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no >/dev/null
      wait_for_port 127.0.0.1 "$redis_port" 20 redis-server
      export FERROCAST_TEST_REDIS_URL="redis://127.0.0.1:$redis_port"
    fi
  fi
  export FERROCAST_SECANTUSD="$STATE/venv/bin/secantusd-py"
  if [ -z "${FERROCAST_TEST_MONGODB_URL:-}" ]; then
    local store_port
    store_port="$(free_port)"
    say "starting a throw-away document store (SecantusDB) on 127.0.0.1:$store_port"
    start_owned test-store "$FERROCAST_SECANTUSD" --host 127.0.0.1 --port "$store_port" \
      --storage-path :memory: --standalone --log-level WARNING >/dev/null
    wait_for_port 127.0.0.1 "$store_port" 60 "the document store"
    export FERROCAST_TEST_MONGODB_URL="mongodb://127.0.0.1:$store_port/?directConnection=true&serverSelectionTimeoutMS=2000"
  fi
  start_test_postgres "postgres://postgres@127.0.0.1:5432/postgres"
  start_test_object_storage
  # The VOD packaging tests skip without it; setup installs it into the virtualenv, off PATH.
  export PACKAGER="${PACKAGER:-$STATE/venv/bin/packager}"
}

# start_test_postgres CANDIDATE_URL: FERROCAST_TEST_POSTGRES_URL, a server URL whose user may
# create databases (each test creates its own). CANDIDATE_URL (the PostgreSQL on 127.0.0.1:5432)
# when its user gets in without a password and may create databases (CI's machine), else a
# throw-away cluster of our own on a free port: no fsync, since the data dies with the run; run
# as the `postgres` system user when we are root, because PostgreSQL refuses root.
start_test_postgres() {
  [ -z "${FERROCAST_TEST_POSTGRES_URL:-}" ] || return 0
  local candidate="$1"
  if postgres_can_create_databases "$candidate"; then
    export FERROCAST_TEST_POSTGRES_URL="$candidate"
    return
  fi
  local port dir
  # Clusters left behind by runs that were killed.
  for dir in $(finished_runs "$STATE/test-postgres"); do
    stop_postgres_cluster "$dir" 2>/dev/null || true
    rm -rf "$dir"
  done
  TEST_POSTGRES_DIR="$STATE/test-postgres/$$"
  port="$(free_port)"
  say "starting a throw-away PostgreSQL on 127.0.0.1:$port (in .ferrocast/test-postgres)"
  on_stop stop_test_postgres
  start_postgres_cluster "$TEST_POSTGRES_DIR" "$port" \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off
  export FERROCAST_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

stop_test_postgres() {
  stop_postgres_cluster "$TEST_POSTGRES_DIR" 2>/dev/null || true
  rm -rf "$TEST_POSTGRES_DIR"
}

# finished_runs PARENT: the folders PARENT/<pid> of test runs no longer alive. Each run keeps its
# throw-away servers in a folder named after its pid, so two runs on one checkout never share
# or delete each other's.
finished_runs() {
  local dir
  for dir in "$1"/*/; do
    dir="${dir%/}"
    [ -d "$dir" ] || continue
    kill -0 "${dir##*/}" 2>/dev/null || echo "$dir"
  done
}

# One SeaweedFS (S3 API) for the whole run, always our own: random keys for this run only, in a
# 0600 config file, exported once the server runs (its environment never holds them).
# (The test kit finds weed in .ferrocast/venv by itself; exporting FERROCAST_WEED here would
# make every service started inside this run refuse an unknown FERROCAST_* name.)
start_test_object_storage() {
  [ -z "${FERROCAST_TEST_S3_ENDPOINT:-}" ] || return 0
  local dir="$STATE/test-s3/$$" access_key secret_key ports stale
  for stale in $(finished_runs "$STATE/test-s3"); do rm -rf "$stale"; done
  mkdir -p "$dir"
  access_key="$(random_secret | tr -dc 'A-Za-z0-9' | head -c 20)"
  secret_key="$(random_secret)"
  write_s3_identity "$dir/s3.json" "$access_key" "$secret_key"
  read -ra ports <<<"$(free_ports 8)"
  say "starting a throw-away SeaweedFS (S3) on 127.0.0.1:${ports[6]}"
  # Slots for every bucket of a run whatever the free disk (volumes grow as they are written).
  start_seaweedfs test-s3 "$dir" "$dir/s3.json" "${ports[@]}" -volume.max=2000
  on_stop remove_test_object_storage
  wait_for_s3 "http://127.0.0.1:${ports[6]}" "$access_key" "$secret_key" 60 "SeaweedFS"
  export FERROCAST_TEST_S3_ENDPOINT="http://127.0.0.1:${ports[6]}"
  export FERROCAST_TEST_S3_ACCESS_KEY="$access_key" FERROCAST_TEST_S3_SECRET_KEY="$secret_key"
}

remove_test_object_storage() {
  rm -rf "$STATE/test-s3/$$"
}

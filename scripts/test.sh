# ./ferrocast test: every check CI runs — formatting, lints, Rust unit and integration tests
# against real Redis / document store / ffmpeg / nginx-rtmp, frontend unit tests and build, the
# browser end-to-end test and the benchmark smoke run. Sourced by ./ferrocast.

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

# Real Redis and one shared document store for the whole run; each test namespaces itself
# (unique database name, unique Redis key prefix).
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
}

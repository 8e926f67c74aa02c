# ./ferrocast up: builds and runs the whole platform on this machine with embedded defaults.
# Starts Redis and the document store only when none is reachable (data under .ferrocast/, kept
# across runs), then users, rooms, ingest and gateway; prints where to go. Ctrl-C stops
# everything it started, and only that. Sourced by ./ferrocast.

platform_up() {
  local demo=1 arg
  for arg in "$@"; do
    case "$arg" in
      --no-demo) demo=0 ;;
      *) die "unknown option for up: $arg (known: --no-demo)" ;;
    esac
  done
  trap 'say "stopping"; stop_owned; exit 0' INT TERM
  trap stop_owned EXIT

  if [ -f "$ROOT/frontend/package.json" ]; then
    say "building the web frontend"
    (cd "$ROOT/frontend" && npm run build --silent)
  fi
  say "building the services (release)"
  cargo build --release --workspace --bins --locked

  load_local_secrets
  start_local_redis
  start_local_document_store
  export_local_config
  start_services
  ((demo)) && create_demo_stream_key
  print_welcome
  say "running; press Ctrl-C to stop"
  wait
}

# Random per-install secrets, generated once and kept in a file only this user can read; passed
# to the services through the environment, never argv.
load_local_secrets() {
  local file="$STATE/secrets.env"
  if [ ! -f "$file" ]; then
    umask 077
    printf 'FERROCAST_JWT_SECRET=%s\nFERROCAST_SERVICE_TOKEN=%s\n' "$(random_secret)" "$(random_secret)" >"$file"
  fi
  set -a
  # shellcheck disable=SC1090
  source "$file"
  set +a
}

start_local_redis() {
  REDIS_URL="${FERROCAST_REDIS_URL:-redis://127.0.0.1:6379}"
  if port_open 127.0.0.1 6379; then
    say "using the Redis already running on 127.0.0.1:6379"
    return
  fi
  mkdir -p "$STATE/redis"
  say "starting Redis on 127.0.0.1:6379 (data in .ferrocast/redis)"
  start_owned redis redis-server --bind 127.0.0.1 --port 6379 --dir "$STATE/redis" --appendonly yes >/dev/null
  wait_for_port 127.0.0.1 6379 20 redis-server
}

start_local_document_store() {
  MONGODB_URL="${FERROCAST_MONGODB_URL:-mongodb://127.0.0.1:27017/?directConnection=true}"
  if port_open 127.0.0.1 27017; then
    say "using the document store already running on 127.0.0.1:27017"
    return
  fi
  mkdir -p "$STATE/mongo"
  say "starting the document store (SecantusDB) on 127.0.0.1:27017 (data in .ferrocast/mongo)"
  start_owned document-store "$STATE/venv/bin/secantusd-py" --host 127.0.0.1 --port 27017 \
    --storage-path "$STATE/mongo" --standalone --log-level WARNING >/dev/null
  wait_for_port 127.0.0.1 27017 60 "the document store"
}

export_local_config() {
  export FERROCAST_DEV_MODE=true FERROCAST_COOKIE_SECURE=false
  export FERROCAST_REDIS_URL="$REDIS_URL" FERROCAST_MONGODB_URL="$MONGODB_URL"
  export FERROCAST_HLS_ROOT="${FERROCAST_HLS_ROOT:-$STATE/hls}"
  export FERROCAST_INGEST_RTMP_ADDR="${FERROCAST_INGEST_RTMP_ADDR:-0.0.0.0:1935}"
  export FERROCAST_FRONTEND_DIR="${FERROCAST_FRONTEND_DIR:-$ROOT/frontend/dist}"
  mkdir -p "$FERROCAST_HLS_ROOT"
}

start_services() {
  local bin="$ROOT/target/release"
  say "starting users, rooms, ingest, gateway (logs in .ferrocast/logs)"
  start_owned users "$bin/ferrocast-users" >/dev/null
  wait_for_http "http://127.0.0.1:8081/readyz" 60 users
  start_owned rooms "$bin/ferrocast-rooms" >/dev/null
  wait_for_http "http://127.0.0.1:8082/readyz" 60 rooms
  start_owned ingest "$bin/ferrocast-ingest" >/dev/null
  wait_for_http "http://127.0.0.1:8083/readyz" 60 ingest
  start_owned gateway "$bin/ferrocast-gateway" >/dev/null
  wait_for_http "http://127.0.0.1:8080/healthz" 60 gateway
}

# A demo streamer so the first run can go live at once: signs up (or logs in on later runs),
# rotates its stream key and keeps the command that publishes a test pattern.
create_demo_stream_key() {
  local api="http://127.0.0.1:8080/api/users" password_file="$STATE/demo-password" jar
  [ -f "$password_file" ] || (umask 077 && random_secret >"$password_file")
  jar="$(mktemp)"
  local password
  password="$(cat "$password_file")"
  curl -fsS -o /dev/null -H 'content-type: application/json' \
    -d "{\"username\":\"demo\",\"email\":\"demo@ferrocast.local\",\"password\":\"$password\"}" "$api" 2>/dev/null || true
  curl -fsS -o /dev/null -c "$jar" -H 'content-type: application/json' \
    -d "{\"login\":\"demo\",\"password\":\"$password\"}" "$api/login" ||
    { warn "could not log in as the demo user; skipping the demo key"; rm -f "$jar"; return; }
  DEMO_KEY="$(curl -fsS -b "$jar" -X POST "$api/me/stream-key" | python3 -c 'import json,sys; print(json.load(sys.stdin)["stream_key"])')"
  rm -f "$jar"
}

print_welcome() {
  cat <<EOT

  ferrocast is running.

    Web:   http://127.0.0.1:8080
    RTMP:  rtmp://127.0.0.1:1935/live   (OBS: Settings → Stream → Custom; key from the dashboard)
EOT
  if [ -n "${DEMO_KEY:-}" ]; then
    cat <<EOT

    Demo user: demo / $(cat "$STATE/demo-password")   (password kept in .ferrocast/demo-password)
    Publish a test stream as demo (the key was just rotated; it is shown only here):

      ffmpeg -re -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440 \\
        -c:v libx264 -preset veryfast -b:v 2500k -g 30 -c:a aac -f flv rtmp://127.0.0.1:1935/live/$DEMO_KEY

    then watch at http://127.0.0.1:8080/watch/demo
EOT
  fi
  echo
}

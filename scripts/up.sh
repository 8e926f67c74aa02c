# ./ferrocast up: builds and runs the whole platform on this machine with embedded defaults.
# Starts Redis, the document store, PostgreSQL, the S3 storage and NATS JetStream (the VOD job
# queue) only when none is reachable (data under .ferrocast/, kept across runs), then users,
# rooms, ingest, catalog, the VOD worker and gateway; prints where to go. Ctrl-C stops everything it started,
# and only that. Sourced by ./ferrocast.

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
  start_local_postgres postgres://postgres@127.0.0.1:5432
  start_local_object_storage
  start_local_nats
  export_local_config
  start_services
  ((demo)) && create_demo_stream_key
  print_welcome
  say "running; press Ctrl-C to stop"
  wait
}

# Random per-install secrets, generated once and kept in a file only this user can read; passed
# to the services through the environment, never argv. The S3 keys and the platform key that
# seals videos' content keys (added to an older file on its first run with them) reach only the
# catalog and the worker: the other services never see them.
load_local_secrets() {
  local file="$STATE/secrets.env"
  if [ ! -f "$file" ]; then
    umask 077
    printf 'FERROCAST_JWT_SECRET=%s\nFERROCAST_SERVICE_TOKEN=%s\n' "$(random_secret)" "$(random_secret)" >"$file"
  fi
  if ! grep -q '^FERROCAST_S3_SECRET_KEY=' "$file"; then
    (
      umask 077
      printf 'FERROCAST_S3_ACCESS_KEY=%s\nFERROCAST_S3_SECRET_KEY=%s\n' \
        "$(random_secret | tr -dc 'A-Za-z0-9' | head -c 20)" "$(random_secret)" >>"$file"
    )
  fi
  if ! grep -q '^FERROCAST_CONTENT_KEY_SECRET=' "$file"; then
    (umask 077 && printf 'FERROCAST_CONTENT_KEY_SECRET=%s\n' "$(random_secret)" >>"$file")
  fi
  set -a
  # shellcheck disable=SC1090
  source "$file"
  set +a
  export -n FERROCAST_S3_ACCESS_KEY FERROCAST_S3_SECRET_KEY FERROCAST_CONTENT_KEY_SECRET
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

# start_local_postgres SHARED_SERVER: PostgreSQL for the catalog: SHARED_SERVER (the one on
# 127.0.0.1:5432) when `postgres` may create databases there without a password, else a cluster
# of our own in .ferrocast/postgres on 127.0.0.1:5433 (trust auth on loopback, like the local
# Redis; run as the postgres user when we are root).
start_local_postgres() {
  local server="$1" dir="$STATE/postgres"
  if postgres_can_create_databases "$server/postgres"; then
    say "using the PostgreSQL already running on ${server#postgres://postgres@}"
  else
    server="postgres://postgres@127.0.0.1:5433"
    if [ -f "$dir/data/postmaster.pid" ] && postgres_can_create_databases "$server/postgres"; then
      say "using the PostgreSQL left running in .ferrocast/postgres on 127.0.0.1:5433"
    else
      port_open 127.0.0.1 5433 && die "127.0.0.1:5433 is taken by a server that is not ours; stop it or free 5432 for ours"
      say "starting PostgreSQL on 127.0.0.1:5433 (data in .ferrocast/postgres)"
      start_postgres_cluster "$dir" 5433
      on_stop stop_local_postgres
    fi
  fi
  if [ "$(psql -X -w -A -t -q -d "$server/postgres" -c "select count(*) from pg_database where datname = 'ferrocast'")" != 1 ]; then
    psql -X -w -q -d "$server/postgres" -c "create database ferrocast" >/dev/null ||
      die "could not create the database ferrocast on ${server#postgres://}"
  fi
  POSTGRES_URL="$server/ferrocast"
}

stop_local_postgres() {
  stop_postgres_cluster "$STATE/postgres"
}

# S3 for the catalog's media: a SeaweedFS on 127.0.0.1:8333 unless one there already takes our
# keys. Its other ports are fixed too (a restart finds its own cluster again) and stay clear of
# the services' 8080-8084. CORS: the catalog puts its upload origins on its bucket
# (PutBucketCors), and a bucket's rule wins; the server-wide origins (SeaweedFS allows any by
# default) only cover buckets without one, so they name the web app's origins too.
start_local_object_storage() {
  S3_ENDPOINT="http://127.0.0.1:8333"
  local dir="$STATE/s3"
  if s3_signed_request_works "$S3_ENDPOINT" "$FERROCAST_S3_ACCESS_KEY" "$FERROCAST_S3_SECRET_KEY"; then
    say "using the S3 storage already running on 127.0.0.1:8333"
    return
  fi
  port_open 127.0.0.1 8333 && die "127.0.0.1:8333 answers but refuses this install's S3 keys (.ferrocast/secrets.env)"
  mkdir -p "$dir"
  write_s3_identity "$dir/s3.json" "$FERROCAST_S3_ACCESS_KEY" "$FERROCAST_S3_SECRET_KEY"
  say "starting SeaweedFS (S3) on 127.0.0.1:8333 (data in .ferrocast/s3)"
  start_seaweedfs s3 "$dir" "$dir/s3.json" 9333 19333 9334 19334 8888 18888 8333 18333 \
    -s3.allowedOrigins=http://127.0.0.1:8080,http://localhost:8080
  wait_for_s3 "$S3_ENDPOINT" "$FERROCAST_S3_ACCESS_KEY" "$FERROCAST_S3_SECRET_KEY" 90 "SeaweedFS"
}

# NATS with JetStream for the VOD job queue: the server on 127.0.0.1:4222 when it has JetStream,
# else one of our own there, its streams (queued jobs) kept in .ferrocast/nats across runs.
start_local_nats() {
  local bin
  NATS_URL="${FERROCAST_NATS_URL:-nats://127.0.0.1:4222}"
  if nats_jetstream_at 127.0.0.1 4222; then
    say "using the NATS JetStream server already running on 127.0.0.1:4222"
    return
  fi
  port_open 127.0.0.1 4222 && die "127.0.0.1:4222 answers but not as NATS with JetStream; stop it or enable JetStream (-js)"
  bin="$(nats_server_bin)"
  mkdir -p "$STATE/nats"
  say "starting NATS JetStream on 127.0.0.1:4222 (data in .ferrocast/nats)"
  # A cleared environment: the server needs none of our secrets.
  start_owned nats env -i PATH="$PATH" "$bin" -js -a 127.0.0.1 -p 4222 -sd "$STATE/nats" >/dev/null
  wait_for_nats 127.0.0.1 4222 20 nats-server
}

export_local_config() {
  export FERROCAST_DEV_MODE=true FERROCAST_COOKIE_SECURE=false
  export FERROCAST_REDIS_URL="$REDIS_URL" FERROCAST_MONGODB_URL="$MONGODB_URL"
  export FERROCAST_POSTGRES_URL="$POSTGRES_URL" FERROCAST_S3_ENDPOINT="$S3_ENDPOINT"
  export FERROCAST_S3_BUCKET="${FERROCAST_S3_BUCKET:-ferrocast-media}" FERROCAST_NATS_URL="$NATS_URL"
  export FERROCAST_HLS_ROOT="${FERROCAST_HLS_ROOT:-$STATE/hls}"
  export FERROCAST_INGEST_RECORDING_DIR="${FERROCAST_INGEST_RECORDING_DIR:-$STATE/recordings}"
  export FERROCAST_INGEST_RTMP_ADDR="${FERROCAST_INGEST_RTMP_ADDR:-0.0.0.0:1935}"
  export FERROCAST_FRONTEND_DIR="${FERROCAST_FRONTEND_DIR:-$ROOT/frontend/dist}"
  mkdir -p "$FERROCAST_HLS_ROOT"
}

start_services() {
  local bin="$ROOT/target/release"
  say "starting users, rooms, ingest, catalog, worker, gateway (logs in .ferrocast/logs)"
  start_owned users "$bin/ferrocast-users" >/dev/null
  wait_for_http "http://127.0.0.1:8081/readyz" 60 users
  start_owned rooms "$bin/ferrocast-rooms" >/dev/null
  wait_for_http "http://127.0.0.1:8082/readyz" 60 rooms
  start_owned ingest "$bin/ferrocast-ingest" >/dev/null
  wait_for_http "http://127.0.0.1:8083/readyz" 60 ingest
  start_catalog "$bin"
  start_worker "$bin"
  start_owned gateway "$bin/ferrocast-gateway" >/dev/null
  wait_for_http "http://127.0.0.1:8080/healthz" 60 gateway
}

# The catalog (media uploads, search), which holds the S3 keys and the content-key platform key:
# exported for its start only.
start_catalog() {
  export FERROCAST_S3_ACCESS_KEY FERROCAST_S3_SECRET_KEY FERROCAST_CONTENT_KEY_SECRET
  start_owned catalog "$1/ferrocast-catalog" >/dev/null
  export -n FERROCAST_S3_ACCESS_KEY FERROCAST_S3_SECRET_KEY FERROCAST_CONTENT_KEY_SECRET
  wait_for_http "http://127.0.0.1:8084/readyz" 60 catalog
}

# The VOD worker: jobs from the queue, ffmpeg and the Shaka Packager `setup` installed, a job's
# files in .ferrocast/worker while it runs. Needs the S3 keys and the platform key too: exported
# for its start only.
start_worker() {
  local scratch="$STATE/worker"
  mkdir -p "$scratch"
  export FERROCAST_S3_ACCESS_KEY FERROCAST_S3_SECRET_KEY FERROCAST_CONTENT_KEY_SECRET
  start_owned worker env FERROCAST_WORKER_PACKAGER="$STATE/venv/bin/packager" \
    FERROCAST_WORKER_SCRATCH_DIR="$scratch" "$1/ferrocast-worker" >/dev/null
  export -n FERROCAST_S3_ACCESS_KEY FERROCAST_S3_SECRET_KEY FERROCAST_CONTENT_KEY_SECRET
  wait_for_http "http://127.0.0.1:8085/readyz" 60 worker
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

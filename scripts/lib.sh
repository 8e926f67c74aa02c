# Shared shell helpers for ./ferrocast: logging, port probes, and owned background processes.
# Sourced, never run. Every process started through start_owned is stopped by stop_owned, and
# nothing else is.

OWNED_PIDS=()
# Per pid, the signal stop_owned sends instead of SIGTERM; functions stop_owned calls afterwards
# for servers that detach from us (pg_ctl's postmaster).
declare -gA OWNED_SIGNALS=()
OWNED_STOP_HOOKS=()

say() { printf '\033[1;36m==>\033[0m %s\n' "$*" >&2; }
warn() { printf '\033[1;33mwarning:\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# port_open HOST PORT: true when something accepts TCP connections there.
port_open() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# free_port: a loopback port nobody listens on right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# free_ports N: N distinct loopback ports nobody listens on right now (held open together while
# chosen, so no two are the same).
free_ports() {
  python3 -c 'import socket,sys
socks=[socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1",0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

# wait_for_port HOST PORT SECONDS NAME
wait_for_port() {
  local deadline=$((SECONDS + $3))
  until port_open "$1" "$2"; do
    ((SECONDS < deadline)) || die "$4 did not listen on $1:$2 within $3 s (logs: $STATE/logs)"
    sleep 0.2
  done
}

# wait_for_http URL SECONDS NAME: until URL answers 2xx.
wait_for_http() {
  local deadline=$((SECONDS + $2))
  until curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; do
    ((SECONDS < deadline)) || die "$3 not ready at $1 within $2 s (logs: $STATE/logs)"
    sleep 0.3
  done
}

# start_owned NAME COMMAND...: runs COMMAND in the background, output to .ferrocast/logs/NAME.log.
start_owned() {
  local name="$1"
  shift
  "$@" >"$STATE/logs/$name.log" 2>&1 &
  OWNED_PIDS+=("$!")
  echo "$!"
}

# stop_with SIGNAL: the process start_owned started last stops with SIGNAL instead of SIGTERM
# (SeaweedFS shuts down on SIGINT; SIGTERM leaves it running).
stop_with() {
  OWNED_SIGNALS[${OWNED_PIDS[-1]}]="$1"
}

# on_stop FUNCTION: stop_owned calls FUNCTION after the processes are gone, for a server that
# runs detached (a pg_ctl cluster), so it stops after the services that use it.
on_stop() {
  OWNED_STOP_HOOKS+=("$1")
}

# stop_owned: SIGTERM (or the signal given by stop_with) to everything start_owned started
# (services end their sessions cleanly), SIGKILL for whatever is still there after a grace
# period, then the on_stop hooks.
stop_owned() {
  local pid hook
  if ((${#OWNED_PIDS[@]})); then
    for pid in "${OWNED_PIDS[@]}"; do kill "-${OWNED_SIGNALS[$pid]:-TERM}" "$pid" 2>/dev/null || true; done
    for _ in $(seq 1 50); do
      local alive=0
      for pid in "${OWNED_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
      ((alive)) || break
      sleep 0.2
    done
    for pid in "${OWNED_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    # Reaped here, so the shell does not report each killed job on its own.
    for pid in "${OWNED_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    OWNED_PIDS=()
  fi
  if ((${#OWNED_STOP_HOOKS[@]})); then
    local hooks=("${OWNED_STOP_HOOKS[@]}")
    OWNED_STOP_HOOKS=()
    for hook in "${hooks[@]}"; do "$hook" || true; done
  fi
}

# random_secret: 32 bytes of CSPRNG output, base64url without padding.
random_secret() {
  head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'
}

# --- PostgreSQL ---------------------------------------------------------------------------------

# postgres_bin: the directory of initdb/pg_ctl (on PATH, else Debian's versioned directory).
postgres_bin() {
  local initdb
  initdb="$(command -v initdb || printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)"
  [ -x "$initdb" ] || die "PostgreSQL's initdb not found (Debian package postgresql; run ./ferrocast setup)"
  dirname "$(readlink -f "$initdb")"
}

# as_cluster_owner COMMAND...: PostgreSQL refuses to run as root, so a root shell runs its
# cluster as the `postgres` system user that Debian's package creates; anyone else runs it as
# themselves.
# The environment is cleared: the server needs none of our secrets.
as_cluster_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    env -i PATH="$PATH" runuser -u postgres -- "$@"
  else
    env -i PATH="$PATH" HOME="$HOME" "$@"
  fi
}

# postgres_can_create_databases URL: true when URL answers and its user may CREATE DATABASE.
# No password prompt: a server that wants one counts as not usable.
postgres_can_create_databases() {
  local answer
  answer="$(PGCONNECT_TIMEOUT=3 psql -X -w -A -t -q -d "$1" \
    -c "select rolcreatedb or rolsuper from pg_roles where rolname = current_user" 2>/dev/null)" || return 1
  [ "$answer" = "t" ]
}

# start_postgres_cluster DIR PORT [SERVER OPTION...]: a cluster of our own under DIR (data/,
# sock/, postgres.log), created on first use with trust auth for local connections only, started
# with pg_ctl on 127.0.0.1:PORT; pg_ctl stops it (stop_postgres_cluster DIR).
start_postgres_cluster() {
  local dir="$1" port="$2" bin options
  shift 2
  bin="$(postgres_bin)"
  mkdir -p "$dir/sock"
  if [ "$(id -u)" -eq 0 ]; then
    id -u postgres >/dev/null 2>&1 ||
      die "no postgres system user to run PostgreSQL as (Debian package postgresql; run ./ferrocast setup)"
    chown -R postgres: "$dir"
    runuser -u postgres -- test -w "$dir" ||
      die "the postgres user cannot write $dir (a parent folder is closed to it); move the checkout or run as a normal user"
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_cluster_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
      --no-sync >"$dir/initdb.log" 2>&1 || die "initdb failed (log: $dir/initdb.log)"
  fi
  options="-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='$dir/sock' $*"
  as_cluster_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -o "$options" -w -t 60 \
    start >/dev/null || die "PostgreSQL did not start on 127.0.0.1:$port (log: $dir/postgres.log)"
}

# stop_postgres_cluster DIR: fast shutdown (sessions are cut, data stays consistent).
stop_postgres_cluster() {
  [ -f "$1/data/postmaster.pid" ] || return 0
  as_cluster_owner "$(postgres_bin)/pg_ctl" -D "$1/data" -m fast -w -t 30 stop >/dev/null
}

# --- S3 (SeaweedFS) -------------------------------------------------------------------------------

# write_s3_identity FILE ACCESS_KEY SECRET_KEY: the SeaweedFS S3 config with one admin identity,
# readable only by this user (the keys never go into argv).
write_s3_identity() {
  (
    umask 077
    printf '{"identities":[{"name":"ferrocast","credentials":[{"accessKey":"%s","secretKey":"%s"}],"actions":["Admin","Read","Write","List","Tagging"]}]}\n' \
      "$2" "$3" >"$1"
  )
  chmod 600 "$1"
}

# s3_signed_request_works ENDPOINT ACCESS_KEY SECRET_KEY: a SigV4-signed ListBuckets succeeds
# (the S3 port of SeaweedFS listens about a second before it can serve one). The keys reach curl
# through its config on stdin, not argv.
s3_signed_request_works() {
  printf 'user = "%s:%s"\n' "$2" "$3" |
    curl -fsS -o /dev/null --max-time 2 --aws-sigv4 "aws:amz:us-east-1:s3" -K - "$1/" 2>/dev/null
}

# wait_for_s3 ENDPOINT ACCESS_KEY SECRET_KEY SECONDS NAME
wait_for_s3() {
  local deadline=$((SECONDS + $4))
  until s3_signed_request_works "$1" "$2" "$3"; do
    ((SECONDS < deadline)) || die "$5 did not answer a signed request at $1 within $4 s (logs: $STATE/logs)"
    sleep 0.3
  done
}

# start_seaweedfs NAME DIR CONFIG MASTER MASTER_GRPC VOLUME VOLUME_GRPC FILER FILER_GRPC S3 S3_GRPC
# [FLAG...]: `weed server` with master, volume, filer and S3 on 127.0.0.1, every port given (the
# defaults include 8080, the gateway's, and gRPC ports that would collide between instances),
# data and sockets under DIR, logs in $STATE/logs/NAME.log; stop_owned stops it with SIGINT.
start_seaweedfs() {
  local name="$1" dir="$2" config="$3"
  local -a p=("${@:4:8}")
  shift 11
  mkdir -p "$dir/data"
  # master.toml, read from the working directory: a bucket (a collection) gets one volume when
  # it first takes data, not seven. Each volume takes one of the server's slots (-volume.max=0:
  # free disk / 64 MB), so at seven the few hundred buckets of a test run need 100 GB free, and
  # past the slots every put fails with InternalError.
  printf '[master.volume_growth]\ncopy_1 = 1\ncopy_2 = 2\ncopy_3 = 3\ncopy_other = 1\n' >"$dir/master.toml"
  # A cleared environment: the server needs none of our secrets (its keys are in CONFIG).
  start_owned "$name" env -i -C "$dir" PATH="$PATH" HOME="$HOME" "$STATE/venv/bin/weed" -logtostderr server -dir="$dir/data" \
    -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.volumeSizeLimitMB=64 -master.electionTimeout=1s \
    -master.telemetry=false -volume.max=0 -volume.preStopSeconds=0 \
    -master.port="${p[0]}" -master.port.grpc="${p[1]}" -volume.port="${p[2]}" -volume.port.grpc="${p[3]}" \
    -filer -filer.port="${p[4]}" -filer.port.grpc="${p[5]}" -filer.localSocket="$dir/filer.sock" \
    -s3 -s3.port="${p[6]}" -s3.port.grpc="${p[7]}" -s3.port.iceberg=0 -s3.port.lance=0 \
    -s3.localSocket="$dir/s3.sock" -s3.config="$config" "$@" >/dev/null
  stop_with INT
  # Its gRPC listeners also make unix sockets in /tmp named after their ports, which a killed
  # server leaves behind.
  SEAWEEDFS_SOCKETS+=("/tmp/seaweedfs-master-grpc-${p[1]}.sock" "/tmp/seaweedfs-volume-grpc-${p[3]}.sock"
    "/tmp/seaweedfs-filer-grpc-${p[5]}.sock" "/tmp/seaweedfs-s3-grpc-${p[7]}.sock")
  on_stop remove_seaweedfs_sockets
}

SEAWEEDFS_SOCKETS=()
remove_seaweedfs_sockets() {
  ((${#SEAWEEDFS_SOCKETS[@]})) || return 0
  rm -f "${SEAWEEDFS_SOCKETS[@]}"
  SEAWEEDFS_SOCKETS=()
}

# --- NATS JetStream -------------------------------------------------------------------------------

# nats_server_bin: Debian installs nats-server in /usr/sbin, which a normal user's PATH lacks.
nats_server_bin() {
  local bin
  bin="$(command -v nats-server || echo /usr/sbin/nats-server)"
  [ -x "$bin" ] || die "nats-server not found (Debian package nats-server; run ./ferrocast setup)"
  echo "$bin"
}

# nats_jetstream_at HOST PORT: true when a NATS server answers there with JetStream enabled. A
# server greets every client with one INFO line before anything is sent; it says "jetstream":true
# only when JetStream runs.
nats_jetstream_at() {
  local info
  info="$( (exec 3<>"/dev/tcp/$1/$2" && IFS= read -r -t 2 line <&3 && printf '%s' "$line") 2>/dev/null || true)"
  [[ "$info" == INFO* && "$info" == *'"jetstream":true'* ]]
}

# wait_for_nats HOST PORT SECONDS NAME
wait_for_nats() {
  local deadline=$((SECONDS + $3))
  until nats_jetstream_at "$1" "$2"; do
    ((SECONDS < deadline)) || die "$4 did not answer with JetStream on $1:$2 within $3 s (logs: $STATE/logs)"
    sleep 0.2
  done
}

# Shared shell helpers for ./ferrocast: logging, port probes, and owned background processes.
# Sourced, never run. Every process started through start_owned is stopped by stop_owned, and
# nothing else is.

OWNED_PIDS=()

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

# stop_owned: SIGTERM to everything start_owned started (services end their sessions cleanly),
# SIGKILL for whatever is still there after a grace period.
stop_owned() {
  local pid
  ((${#OWNED_PIDS[@]})) || return 0
  for pid in "${OWNED_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    local alive=0
    for pid in "${OWNED_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.2
  done
  for pid in "${OWNED_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  OWNED_PIDS=()
}

# random_secret: 32 bytes of CSPRNG output, base64url without padding.
random_secret() {
  head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'
}

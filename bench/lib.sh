# shellcheck shell=bash
# Shared helpers for the benchmark scripts (sourced, not run).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# PORTIER_BIN=/path/to/portier benchmarks another build (an older one, for a before/after table).
BIN="${PORTIER_BIN:-$ROOT/.build/release/portier}"
WORK="$(mktemp -d /tmp/portier-bench.XXXXXX)"
PIDS=()

cleanup() {
  for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "bench: '$1' is missing; install it with: sudo apt-get install -y $2" >&2; exit 1; }
}

# build_release: the release build of portier; SKIP_BUILD=1 (or PORTIER_BIN) uses a binary as it is.
build_release() {
  if [ -n "${PORTIER_BIN:-}" ] || { [ -n "${SKIP_BUILD:-}" ] && [ "$SKIP_BUILD" != 0 ]; }; then
    [ -x "$BIN" ] || { echo "bench: SKIP_BUILD is set but $BIN does not exist; build it or unset SKIP_BUILD" >&2; exit 1; }
    echo "bench: using $BIN as built $(date -r "$BIN" '+%Y-%m-%d %H:%M')" >&2
    return 0
  fi
  (cd "$ROOT" && swift build -c release --product portier >/dev/null)
}

# wait_http URL: poll until the URL answers (any status), at most 30 s.
wait_http() {
  for _ in $(seq 1 300); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "bench: $1 did not come up" >&2
  exit 1
}

# wait_ok URL: poll until the URL answers 200 (a readiness probe), at most 30 s.
wait_ok() {
  for _ in $(seq 1 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = 200 ] && return 0
    sleep 0.1
  done
  echo "bench: $1 did not answer 200" >&2
  exit 1
}

# peak_rss PID: the process's peak resident set size in MiB (VmHWM).
peak_rss() {
  awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"
}

# The wrk script prints one machine-readable line: rps p50_ms p99_ms errors non2xx requests
# shellcheck disable=SC2034 # used by the scripts that source this file
WRK_REPORT='
done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %.0f %.2f %.2f %d %d %d\n", summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors, summary.errors.status, summary.requests))
end
'

# cpu_us PID: user+sys CPU time the process has used so far, in microseconds (from /proc).
cpu_us() {
  awk -v tck="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.0f", ($12 + $13) * 1e6 / tck }' "/proc/$1/stat"
}

# cpu_tree_us PID: cpu_us of the process plus its direct children (an nginx master and its workers);
# a child gone meanwhile counts 0.
cpu_tree_us() {
  local total=0 pid children
  children="$(pgrep -P "$1" || true)"
  for pid in "$1" $children; do total=$((total + $(cpu_us "$pid" 2>/dev/null || echo 0))); done
  echo "$total"
}

# rsa_sign_rate: RSA-2048 signatures per second on one core, as `openssl speed` measures them now.
rsa_sign_rate() {
  openssl speed -seconds "${RSA_SECONDS:-3}" rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ { printf "%.0f", $6 }'
}

# start_nginx NAME SERVERS: an nginx of its own (conf, pid, logs in $WORK/NAME), in the foreground
# as our child; prints nothing, sets NGINX_PID.
start_nginx() {
  local dir="$WORK/$1"
  mkdir -p "$dir"
  cat > "$dir/nginx.conf" <<NGINX
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
$2
}
NGINX
  nginx -e "$dir/error.log" -c "$dir/nginx.conf" -p "$dir" -g 'daemon off;' &
  NGINX_PID=$!
  PIDS+=("$NGINX_PID")
}

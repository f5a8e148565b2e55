#!/usr/bin/env bash
# Token endpoint load: wrk POSTs client-credentials requests with HTTP Basic for 10 s over 32
# connections against a freshly started release build. Prints tokens/s, p50, p99 and the token
# server's CPU per token, beside the machine's one-core RSA-2048 sign rate (`openssl speed`)
# measured in the same run (before and after the load, averaged), and the two ratios the goal is
# stated in.
#
#   bench/token.sh                 # defaults
#   DURATION=30s CONNECTIONS=64 bench/token.sh
source "$(dirname "$0")/lib.sh"
need wrk wrk
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-32}"
PORT="${PORT:-18090}"

build_release
"$BIN" auth --port "$PORT" --data-dir "$WORK/data" --keys-dir "$WORK/keys" > "$WORK/auth.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$PORT/health/live"
SECRET="$(awk '/client_secret:/ { print $2; exit }' "$WORK/auth.log")"
BASIC="$(printf 'hotel-client:%s' "$SECRET" | base64 -w0)"

# One request first: it pays the PBKDF2 check that the server then remembers.
curl -sf -u "hotel-client:$SECRET" -d grant_type=client_credentials "http://127.0.0.1:$PORT/oauth/token" > /dev/null

cat > "$WORK/token.lua" <<LUA
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $BASIC"
$WRK_REPORT
LUA

# The machine's speed drifts within minutes, so the sign rate is measured right before and right
# after the load and the two are averaged; both are printed.
echo "openssl speed rsa2048 (one core), before the load..."
rsa_before="$(rsa_sign_rate)"
echo "wrk -t1 -c$CONNECTIONS -d$DURATION POST /oauth/token (client_secret_basic), $(nproc) cores"
cpu_before="$(cpu_us "${PIDS[0]}")"
line="$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$WORK/token.lua" "http://127.0.0.1:$PORT/oauth/token" | grep '^RESULT')"
cpu_after="$(cpu_us "${PIDS[0]}")"
echo "openssl speed rsa2048 (one core), after the load..."
rsa_after="$(rsa_sign_rate)"
rsa="$(awk -v a="$rsa_before" -v b="$rsa_after" 'BEGIN { printf "%.0f", (a + b) / 2 }')"
echo "one-core sign rate: $rsa_before/s before, $rsa_after/s after, $rsa/s used"
read -r _ rps p50 p99 errors non2xx requests <<< "$line"
cpu_per_token="$(awk -v c=$((cpu_after - cpu_before)) -v n="$requests" 'BEGIN { printf "%.0f", (n > 0 ? c / n : 0) }')"
signature_us="$(awk -v r="$rsa" 'BEGIN { printf "%.0f", (r > 0 ? 1e6 / r : 0) }')"
printf '%-22s %10s %10s %10s %12s %8s %8s\n' "target" "tokens/s" "p50 ms" "p99 ms" "CPU us/tok" "errors" "non-2xx"
printf '%-22s %10s %10s %10s %12s %8s %8s\n' "portier auth" "$rps" "$p50" "$p99" "$cpu_per_token" "$errors" "$non2xx"
printf '%-22s %10s %10s %10s %12s\n' "openssl rsa2048 sign" "$rsa" "" "" "$signature_us"
awk -v cpu="$cpu_per_token" -v sig="$signature_us" -v rps="$rps" -v rsa="$rsa" 'BEGIN {
  printf "CPU per token / one signature: %.2fx (goal <= 1.3)   tokens/s / one-core sign rate: %.2fx (goal >= 1.2)\n", cpu / sig, rps / rsa }'
echo "peak RSS of the token server: $(peak_rss "${PIDS[0]}") MiB; $requests tokens signed"

#!/usr/bin/env bash
# Gateway load, side by side in one run, same machine, same upstream (nginx answering a small JSON
# body on loopback), same token, wrk -t1 -c64 -d10s against:
#   1. the upstream directly
#   2. nginx as a plain reverse proxy (no auth)
#   3. HAProxy 2.6 with jwt_verify (RS256, the token server's public key), an exp check and a
#      stick-table rate tracker keyed by client_id, nbthread 2
#   4. Portier (release build) with auth, rate limit and circuit breaker on the route
# Prints req/s, p50 and p99 for each, Portier's ratio to HAProxy, and Portier's peak RSS.
#
#   bench/gateway.sh
#   DURATION=30s CONNECTIONS=128 bench/gateway.sh
source "$(dirname "$0")/lib.sh"
need wrk wrk
need nginx nginx-light
need haproxy haproxy
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
UPSTREAM=19081 NGINX_PROXY=19082 HAPROXY=19083 PORTIER=19084 PORTIER_ADMIN=19089 AUTH=19090

build_release
mkdir -p "$WORK/nginx"

# 1. The upstream, and 2. nginx as a plain reverse proxy, in one nginx with two server blocks.
cat > "$WORK/nginx/nginx.conf" <<NGINX
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  upstream backend { server 127.0.0.1:$UPSTREAM; keepalive 128; }
  server {
    listen 127.0.0.1:$UPSTREAM;
    location / { default_type application/json; return 200 '{"room":7,"name":"Ocean view","price":1500}'; }
  }
  server {
    listen 127.0.0.1:$NGINX_PROXY;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
NGINX
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx"
wait_http "http://127.0.0.1:$UPSTREAM/"
PIDS+=("$(cat "$WORK/nginx/nginx.pid")")

# The token server, for a real token and its public key.
"$BIN" auth --port "$AUTH" --data-dir "$WORK/data" --keys-dir "$WORK/keys" > "$WORK/auth.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$AUTH/health/live"
SECRET="$(awk '/client_secret:/ { print $2; exit }' "$WORK/auth.log")"
TOKEN="$(curl -sf -u "hotel-client:$SECRET" -d grant_type=client_credentials "http://127.0.0.1:$AUTH/oauth/token" \
  | sed -E 's/.*"access_token":"([^"]+)".*/\1/')"
PUBKEY="$(ls "$WORK"/keys/*.pub.pem | head -1)"

# 3. HAProxy with JWT verification.
cat > "$WORK/haproxy.cfg" <<HAPROXY
global
  nbthread 2
  maxconn 8000
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend api
  bind 127.0.0.1:$HAPROXY
  http-request set-var(txn.bearer) http_auth_bearer
  http-request set-var(txn.alg) var(txn.bearer),jwt_header_query('\$.alg')
  http-request deny status 401 unless { var(txn.alg) -m str RS256 }
  http-request deny status 401 unless { var(txn.bearer),jwt_verify(txn.alg,"$PUBKEY") -m int 1 }
  http-request set-var(txn.exp) var(txn.bearer),jwt_payload_query('\$.exp','int')
  http-request set-var(txn.now) date()
  http-request deny status 401 if { var(txn.exp),sub(txn.now) -m int lt 0 }
  http-request set-var(txn.client_id) var(txn.bearer),jwt_payload_query('\$.client_id')
  http-request track-sc0 var(txn.client_id) table clients
  http-request deny deny_status 429 if { sc_http_req_rate(0) gt 1000000 }
  default_backend hotel
backend clients
  stick-table type string len 64 size 100k expire 60s store http_req_rate(1s)
backend hotel
  server upstream 127.0.0.1:$UPSTREAM
HAPROXY
haproxy -q -f "$WORK/haproxy.cfg" &
PIDS+=($!)
wait_http "http://127.0.0.1:$HAPROXY/"

# 4. Portier with auth, a rate limit and a circuit breaker on the route.
cat > "$WORK/routes.json" <<ROUTES
{
  "auth": { "issuer": "http://127.0.0.1:$AUTH", "audience": "hotel-api",
            "jwks": "http://127.0.0.1:$AUTH/.well-known/jwks.json" },
  "routes": [
    { "id": "rooms", "path": "/rooms", "upstreams": ["http://127.0.0.1:$UPSTREAM"],
      "scopes": { "GET": ["read"] },
      "rateLimit": { "perSecond": 1000000, "burst": 1000000, "key": "client" },
      "circuitBreaker": { "failureRatePercent": 50, "minimumCalls": 20, "windowSeconds": 10, "openSeconds": 5 },
      "timeoutMillis": 3000 }
  ]
}
ROUTES
"$BIN" gateway --port "$PORTIER" --admin-port "$PORTIER_ADMIN" --routes "$WORK/routes.json" > "$WORK/gateway.log" 2>&1 &
PORTIER_PID=$!
PIDS+=($PORTIER_PID)
wait_http "http://127.0.0.1:$PORTIER/health/ready"

for port in $UPSTREAM $NGINX_PROXY $HAPROXY $PORTIER; do
  status="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$port/rooms/7")"
  [ "$status" = 200 ] || { echo "bench: port $port answered $status, expected 200" >&2; tail -5 "$WORK/gateway.log" >&2; exit 1; }
done
# A forged token (one signature character changed) must be refused by both JWT-checking proxies,
# or the comparison means nothing.
middle=$(( ${#TOKEN} - 20 ))
if [ "${TOKEN:$middle:1}" = A ]; then swap=B; else swap=A; fi
FORGED="${TOKEN:0:$middle}$swap${TOKEN:$((middle + 1))}"
for port in $HAPROXY $PORTIER; do
  status="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $FORGED" "http://127.0.0.1:$port/rooms/7")"
  [ "$status" = 401 ] || { echo "bench: port $port accepted a forged token ($status)" >&2; exit 1; }
done

cat > "$WORK/bearer.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $TOKEN"
$WRK_REPORT
LUA

run() {
  local name="$1" port="$2"
  local line
  line="$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$WORK/bearer.lua" "http://127.0.0.1:$port/rooms/7" | grep '^RESULT')"
  read -r _ rps p50 p99 errors non2xx _ <<< "$line"
  printf '%-36s %10s %9s %9s %7s %8s\n' "$name" "$rps" "$p50" "$p99" "$errors" "$non2xx"
  eval "RPS_$3=$rps; P99_$3=$p99"
}

echo "wrk -t1 -c$CONNECTIONS -d$DURATION GET /rooms/7 with a Bearer token, $(nproc) cores, all on loopback"
printf '%-36s %10s %9s %9s %7s %8s\n' "target" "req/s" "p50 ms" "p99 ms" "errors" "non-2xx"
run "upstream direct (nginx)" $UPSTREAM direct
run "nginx reverse proxy (no auth)" $NGINX_PROXY nginx
run "HAProxy 2.6 + jwt_verify + stick table" $HAPROXY haproxy
run "Portier (auth, rate limit, breaker)" $PORTIER portier
awk -v p="$RPS_portier" -v h="$RPS_haproxy" -v pp="$P99_portier" -v hp="$P99_haproxy" \
  'BEGIN { printf "Portier / HAProxy: %.2fx req/s; p99 %s ms vs %s ms\n", p / h, pp, hp }'
echo "Portier peak RSS: $(peak_rss $PORTIER_PID) MiB"

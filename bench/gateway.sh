#!/usr/bin/env bash
# Gateway load, side by side in one run: same machine, same upstream, same token, wrk -t1 -c64 -d10s
# per target, for two request shapes, one table each:
#   A. GET /rooms/7 with a Bearer token; Portier has the one route
#   B. POST /rooms/7/book?currency=KRW&lang=en&ref=bench with a ~2 KB JSON booking body, a Bearer token
#      and Content-Type: application/json, through 200 routes with the target in the middle of each
#      proxy's list (199 generated prefixes to the same upstream, the target route unchanged)
# Targets, each its own process(es):
#   1. the upstream directly: an nginx (2 workers) answering a small JSON body to any method
#   2. nginx as a plain reverse proxy (no auth), a second nginx (2 workers); B: 200 location prefixes
#   3. HAProxy 2.6 with jwt_verify (RS256, the token server's public key), an exp check and a
#      stick-table rate tracker keyed by client_id, nbthread 2; B: 200 path_beg use_backend rules
#   4. Portier (release build) with auth, rate limit and circuit breaker on the route (GET needs scope
#      read, POST write); B: a second `portier gateway` with a 200-route routes.json
# Each table (markdown) gives req/s, p50, p99, errors, non-2xx (wrk counts status >= 400) and CPU µs per
# request: user+sys CPU of the target's own processes (nginx: master and workers) from /proc, before
# and after the run, over the requests wrk counted. A proxy's CPU leaves out the upstream's. Then
# Portier's ratios to HAProxy (req/s, p99, CPU per request); at the end Portier's peak RSS. Before the
# runs every target must answer 200 (B: two POSTs on one connection, so the body is read) and both
# JWT-checking proxies must refuse a forged token.
#
#   bench/gateway.sh
#   DURATION=30s CONNECTIONS=128 bench/gateway.sh
#   ALLOCS=1 bench/gateway.sh                also counts Portier's malloc calls per request (perf uprobe)
#   PERF_DIR=/tmp/perf bench/gateway.sh      also records a perf profile of Portier per shape
#     (PERF_CALLGRAPH=1: with frame-pointer stacks; PERF_CALLGRAPH=dwarf: DWARF unwinding)
#   SKIP_BUILD=1 bench/gateway.sh      no swift build: use the portier already in .build/release
#   PORTIER_BIN=/tmp/old/portier bench/gateway.sh   another build of portier (a before/after table)
#   SHARED=1 bench/gateway.sh          Portier's gateways share their rate limits through a throwaway
#                                      PostgreSQL cluster (--database; needs Debian's postgresql)
source "$(dirname "$0")/lib.sh"
need wrk wrk
need nginx nginx-light
need haproxy haproxy
need pgrep procps
ALLOCS_LINE=""
COUNT_ALLOCS=0
if [ "${ALLOCS:-0}" != 0 ]; then
  COUNT_ALLOCS=1
  need perf linux-perf
  # A uprobe on libc's malloc (once per boot; needs root). Both pipes read all their input, so
  # pipefail sees no SIGPIPE.
  libc="$(ldconfig -p | awk '/libc\.so\.6 / && !found { found = $NF } END { print found }')"
  if ! perf probe -l 2>/dev/null | grep 'probe_libc:malloc' > /dev/null; then
    perf probe -q -x "$libc" malloc || { echo "bench: cannot add a uprobe on malloc in '$libc' (needs root)" >&2; exit 1; }
  fi
fi
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
UPSTREAM=19081 NGINX_PROXY=19082 HAPROXY=19083 PORTIER=19084 PORTIER_ADMIN=19089 AUTH=19090 PGPORT=19091
NGINX_ROUTES=19085 HAPROXY_ROUTES=19086 PORTIER_ROUTES=19087 PORTIER_ROUTES_ADMIN=19088
GET_PATH=/rooms/7
POST_PATH="/rooms/7/book?currency=KRW&lang=en&ref=bench"

build_release

# SHARED=1: a PostgreSQL cluster of the run's own, for the gateways' --database.
GATEWAY_DATABASE=()
if [ "${SHARED:-0}" != 0 ]; then
  PGBIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
  [ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] || { echo "bench: PostgreSQL's server is missing; install it with: sudo apt-get install -y postgresql" >&2; exit 1; }
  as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
  chmod 755 "$WORK"
  mkdir -p "$WORK/pg"
  if [ "$(id -u)" = 0 ]; then chown postgres "$WORK/pg"; fi
  as_postgres "$PGBIN/initdb" -D "$WORK/pg/data" -U portier -A trust -E UTF8 --locale=C >/dev/null
  as_postgres "$PGBIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/server.log" -w -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $WORK/pg" start >/dev/null
  trap 'as_postgres "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m immediate stop >/dev/null 2>&1 || true; cleanup' EXIT
  GATEWAY_DATABASE=(--database "postgres://portier@127.0.0.1:$PGPORT/postgres?sslmode=disable")
fi

# Shape B's route list: 200 prefixes, the target /rooms 101st. Portier tries routes longest path first,
# so the 100 before it are longer (/svc000) and the 99 after it shorter (/x100): the target sits in
# the middle of its match order too. HAProxy tries rules in this order; nginx finds prefixes in a tree.
ROUTE_PATHS=()
for i in $(seq 0 198); do
  if [ "$i" -lt 100 ]; then printf -v path '/svc%03d' "$i"; else printf -v path '/x%03d' "$i"; fi
  ROUTE_PATHS+=("$path")
  if [ "$i" = 99 ]; then ROUTE_PATHS+=(/rooms); fi
done

# 1. The upstream: any method, any path, 200 and a small JSON body (`return` reads and drops a request body).
start_nginx nginx-upstream "  server {
    listen 127.0.0.1:$UPSTREAM;
    location / { default_type application/json; return 200 '{\"room\":7,\"name\":\"Ocean view\",\"price\":1500}'; }
  }"
UPSTREAM_PID=$NGINX_PID

# 2. nginx as a plain reverse proxy: one catch-all location (A), 200 location prefixes (B).
locations=""
for path in "${ROUTE_PATHS[@]}"; do locations+="    location $path { proxy_pass http://backend; }"$'\n'; done
start_nginx nginx-proxy "  upstream backend { server 127.0.0.1:$UPSTREAM; keepalive 128; }
  server {
    listen 127.0.0.1:$NGINX_PROXY;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection \"\"; }
  }
  server {
    listen 127.0.0.1:$NGINX_ROUTES;
    proxy_http_version 1.1;
    proxy_set_header Connection \"\";
$locations  }"
NGINX_PROXY_PID=$NGINX_PID
wait_http "http://127.0.0.1:$UPSTREAM/"
wait_http "http://127.0.0.1:$NGINX_PROXY/"

# The token server, for a real token and its public key.
"$BIN" auth --port "$AUTH" --data-dir "$WORK/data" --keys-dir "$WORK/keys" > "$WORK/auth.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$AUTH/health/live"
SECRET="$(awk '/client_secret:/ { print $2; exit }' "$WORK/auth.log")"
TOKEN="$(curl -sf -u "hotel-client:$SECRET" -d grant_type=client_credentials "http://127.0.0.1:$AUTH/oauth/token" \
  | sed -E 's/.*"access_token":"([^"]+)".*/\1/')"
PUBKEYS=("$WORK"/keys/*.pub.pem)
PUBKEY="${PUBKEYS[0]}"

# 3. HAProxy with JWT verification: frontend api (A) and, in the same process, frontend routes (B)
# with 200 use_backend rules in route order and no default backend (an unrouted path gets 503).
JWT_RULES="$(cat <<HAPROXY
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
HAPROXY
)"
use_backends=""
for path in "${ROUTE_PATHS[@]}"; do
  if [ "$path" = /rooms ]; then backend=hotel; else backend=services; fi
  use_backends+="  use_backend $backend if { path_beg $path }"$'\n'
done
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
$JWT_RULES
  default_backend hotel
frontend routes
  bind 127.0.0.1:$HAPROXY_ROUTES
$JWT_RULES
$use_backends
backend clients
  stick-table type string len 64 size 100k expire 60s store http_req_rate(1s)
backend hotel
  server upstream 127.0.0.1:$UPSTREAM
backend services
  server upstream 127.0.0.1:$UPSTREAM
HAPROXY
haproxy -q -f "$WORK/haproxy.cfg" &
HAPROXY_PID=$!
PIDS+=("$HAPROXY_PID")
wait_http "http://127.0.0.1:$HAPROXY/"

# 4. Portier with auth, a rate limit and a circuit breaker on the route: one gateway with that route
# alone (A), a second one with it among 199 others (B).
TARGET_ROUTE="{ \"id\": \"rooms\", \"path\": \"/rooms\", \"upstreams\": [\"http://127.0.0.1:$UPSTREAM\"],
      \"scopes\": { \"GET\": [\"read\"], \"POST\": [\"write\"] },
      \"rateLimit\": { \"perSecond\": 1000000, \"burst\": 1000000, \"key\": \"client\" },
      \"circuitBreaker\": { \"failureRatePercent\": 50, \"minimumCalls\": 20, \"windowSeconds\": 10, \"openSeconds\": 5 },
      \"timeoutMillis\": 3000 }"
# routes_json ROUTE...: a routes.json with this run's token server and the given route objects.
routes_json() {
  local IFS=, list
  list="$*"
  cat <<ROUTES
{
  "auth": { "issuer": "http://127.0.0.1:$AUTH", "audience": "hotel-api",
            "jwks": "http://127.0.0.1:$AUTH/.well-known/jwks.json" },
  "routes": [
    $list
  ]
}
ROUTES
}
routes_json "$TARGET_ROUTE" > "$WORK/routes.json"
routes=()
for path in "${ROUTE_PATHS[@]}"; do
  if [ "$path" = /rooms ]; then routes+=("$TARGET_ROUTE"); continue; fi
  routes+=("
    { \"id\": \"${path#/}\", \"path\": \"$path\", \"upstreams\": [\"http://127.0.0.1:$UPSTREAM\"],
      \"scopes\": { \"GET\": [\"read\"], \"POST\": [\"write\"] }, \"timeoutMillis\": 3000 }")
done
routes_json "${routes[@]}" > "$WORK/routes-200.json"
"$BIN" gateway --port "$PORTIER" --admin-port "$PORTIER_ADMIN" --routes "$WORK/routes.json" "${GATEWAY_DATABASE[@]}" > "$WORK/gateway.log" 2>&1 &
PORTIER_PID=$!
PIDS+=("$PORTIER_PID")
"$BIN" gateway --port "$PORTIER_ROUTES" --admin-port "$PORTIER_ROUTES_ADMIN" --routes "$WORK/routes-200.json" \
  "${GATEWAY_DATABASE[@]}" > "$WORK/gateway-200.log" 2>&1 &
PORTIER_ROUTES_PID=$!
PIDS+=("$PORTIER_ROUTES_PID")
wait_ok "http://127.0.0.1:$PORTIER/health/ready"
wait_ok "http://127.0.0.1:$PORTIER_ROUTES/health/ready"

# Shape B's body: a booking for eight guests, about 2 KB of JSON.
booking_json() {
  local names=(Minji:Kim Jonas:Berg Aiko:Tanaka Lucas:Moreau Sofia:Rossi Daniel:Park Emma:Novak Omar:Haddad)
  local guests="" i first last
  for i in "${!names[@]}"; do
    first="${names[$i]%%:*}" last="${names[$i]#*:}"
    guests+="${guests:+,}{\"firstName\":\"$first\",\"lastName\":\"$last\",\"email\":\"${first,,}.${last,,}@example.com\",\"age\":$((24 + i * 5)),\"nationality\":\"KR\",\"loyaltyId\":\"HX-$((104729 * (i + 1)))\",\"dietary\":[\"vegetarian\"]}"
  done
  printf '{"roomId":7,"hotelId":"seoul-gangnam-01","checkIn":"2025-10-14","checkOut":"2025-10-19","nights":5,"currency":"KRW","quotedTotal":7500000,"rateCode":"FLEX-BB","preferences":{"floor":"high","bed":"twin","smoking":false},"contact":{"name":"Minji Kim","email":"minji.kim@example.com","phone":"+82-10-5555-0147"},"payment":{"method":"card","token":"tok_1Nq8ZkX2eP4mR7sT9vW3yB6c","holder":"MINJI KIM","last4":"4242"},"guests":[%s],"notes":["Late arrival around 23:30, please keep the room.","Two rooms next to each other if possible, high floor, away from the elevator.","Airport pickup from ICN terminal 2 for four guests with six suitcases.","Celebrating an anniversary: a cake in the room on the second evening would be lovely."],"marketing":{"newsletter":false,"source":"partner-site","campaign":"autumn-2025"}}' "$guests"
}
BODY="$(booking_json)"
printf '%s' "$BODY" > "$WORK/body.json"

fail() { echo "bench: $*" >&2; tail -5 "$WORK/gateway.log" "$WORK/gateway-200.log" >&2; exit 1; }
for port in $UPSTREAM $NGINX_PROXY $HAPROXY $PORTIER; do
  status="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$port$GET_PATH")"
  [ "$status" = 200 ] || fail "port $port answered $status to GET $GET_PATH, expected 200"
done
# post TOKEN PORT: two POSTs on one connection (the second is read right only if the first body was);
# prints both statuses. `Expect:` keeps curl from waiting for 100-continue, which wrk does not do.
post() {
  local url="http://127.0.0.1:$2$POST_PATH"
  curl -s -H "Authorization: Bearer $1" -H 'Content-Type: application/json' -H 'Expect:' --data-binary "@$WORK/body.json" \
    -w '%{http_code} ' -o /dev/null "$url" -o /dev/null "$url"
}
for port in $UPSTREAM $NGINX_ROUTES $HAPROXY_ROUTES $PORTIER_ROUTES; do
  statuses="$(post "$TOKEN" "$port")"
  [ "$statuses" = "200 200 " ] || fail "port $port answered $statuses to POST $POST_PATH, expected 200 200"
done
# A forged token (one signature character changed) must be refused by both JWT-checking proxies,
# or the comparison means nothing.
middle=$(( ${#TOKEN} - 20 ))
if [ "${TOKEN:$middle:1}" = A ]; then swap=B; else swap=A; fi
FORGED="${TOKEN:0:$middle}$swap${TOKEN:$((middle + 1))}"
for port in $HAPROXY $PORTIER; do
  status="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $FORGED" "http://127.0.0.1:$port$GET_PATH")"
  [ "$status" = 401 ] || fail "port $port accepted a forged token ($status)"
done
for port in $HAPROXY_ROUTES $PORTIER_ROUTES; do
  statuses="$(post "$FORGED" "$port")"
  [ "$statuses" = "401 401 " ] || fail "port $port accepted a forged token on POST ($statuses)"
done

cat > "$WORK/get.lua" <<LUA
wrk.path = "$GET_PATH"
wrk.headers["Authorization"] = "Bearer $TOKEN"
$WRK_REPORT
LUA
cat > "$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.path = "$POST_PATH"
wrk.body = [==[$BODY]==]
wrk.headers["Authorization"] = "Bearer $TOKEN"
wrk.headers["Content-Type"] = "application/json"
$WRK_REPORT
LUA

ROW='| %-40s | %7s | %6s | %6s | %6s | %7s | %10s |\n'
# table TITLE: the title and the table head.
table() {
  echo
  echo "$1"
  echo "| target                                   |   req/s | p50 ms | p99 ms | errors | non-2xx | CPU µs/req |"
  echo "|------------------------------------------|--------:|-------:|-------:|-------:|--------:|-----------:|"
}
# run SHAPE KEY NAME PORT PID: one wrk run with SHAPE.lua; CPU is PID's and its children's.
run() {
  local shape="$1" key="$2" name="$3" port="$4" pid="$5"
  local before after line rps p50 p99 errors non2xx requests cpu
  local perf_pid=""
  if [ -n "${PERF_DIR:-}" ] && [ "$key" = portier ]; then
    # PERF_DIR=/tmp/p: a perf profile of Portier during each shape's run (perf.SHAPE.data).
    mkdir -p "$PERF_DIR"
    # PERF_CALLGRAPH=1 adds frame-pointer stacks; PERF_CALLGRAPH=dwarf unwinds with DWARF (Swift
    # code often omits frame pointers) at the price of much larger files.
    local graph=""
    case "${PERF_CALLGRAPH:-}" in "") ;; dwarf) graph="--call-graph dwarf,16384 -F 1000" ;; *) graph="-g" ;; esac
    # shellcheck disable=SC2086 # graph is a list of options
    perf record -q $graph -p "$pid" -o "$PERF_DIR/perf.$shape.data" > /dev/null 2>&1 &
    perf_pid=$!
  fi
  local alloc_pid=""
  if [ "$COUNT_ALLOCS" = 1 ] && [ "$key" = portier ]; then
    # ALLOCS=1: count Portier's malloc calls during the run (a uprobe on libc's malloc).
    perf stat -x, -e probe_libc:malloc -p "$pid" -o "$WORK/allocs.$shape" > /dev/null 2>&1 &
    alloc_pid=$!
  fi
  before="$(cpu_tree_us "$pid")"
  line="$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$WORK/$shape.lua" "http://127.0.0.1:$port" | grep '^RESULT')"
  after="$(cpu_tree_us "$pid")"
  if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true; fi
  read -r _ rps p50 p99 errors non2xx requests <<< "$line"
  if [ -n "$alloc_pid" ]; then
    kill -INT "$alloc_pid" 2>/dev/null || true
    wait "$alloc_pid" 2>/dev/null || true
    if [ -s "$WORK/allocs.$shape" ]; then
      ALLOCS_LINE+="$(awk -F, -v n="$requests" -v s="$shape" '/probe_libc:malloc/ { printf "%s %.1f, ", s, (n > 0 ? $1 / n : 0) }' "$WORK/allocs.$shape")"
    else
      ALLOCS_LINE+="$shape (perf stat gave nothing), "
    fi
  fi
  cpu="$(awk -v us=$((after - before)) -v n="$requests" 'BEGIN { printf "%.1f", (n > 0 ? us / n : 0) }')"
  # shellcheck disable=SC2059 # ROW is the format
  printf "$ROW" "$name" "$rps" "$p50" "$p99" "$errors" "$non2xx" "$cpu"
  printf -v "RPS_${shape}_$key" '%s' "$rps"
  printf -v "P99_${shape}_$key" '%s' "$p99"
  printf -v "CPU_${shape}_$key" '%s' "$cpu"
}
# ratios SHAPE: Portier's figures over HAProxy's.
ratios() {
  local rp="RPS_$1_portier" rh="RPS_$1_haproxy" pp="P99_$1_portier" ph="P99_$1_haproxy" cp="CPU_$1_portier" ch="CPU_$1_haproxy"
  awk -v rp="${!rp}" -v rh="${!rh}" -v pp="${!pp}" -v ph="${!ph}" -v cp="${!cp}" -v ch="${!ch}" 'BEGIN {
    printf "Portier / HAProxy: %.2fx req/s, p99 %s ms vs %s ms (%.2fx), CPU/request %s µs vs %s µs (%.2fx)\n",
      rp / rh, pp, ph, pp / ph, cp, ch, (ch > 0 ? cp / ch : 0) }'
}
# shape SHAPE: the four targets, then the ratios.
shape() {
  local s="$1"
  if [ "$s" = get ]; then
    run "$s" direct "upstream direct (nginx)" $UPSTREAM "$UPSTREAM_PID"
    run "$s" nginx "nginx reverse proxy (no auth)" $NGINX_PROXY "$NGINX_PROXY_PID"
    run "$s" haproxy "HAProxy 2.6 + jwt_verify + stick table" $HAPROXY "$HAPROXY_PID"
    run "$s" portier "Portier (auth, rate limit, breaker)" $PORTIER "$PORTIER_PID"
  else
    run "$s" direct "upstream direct (nginx)" $UPSTREAM "$UPSTREAM_PID"
    run "$s" nginx "nginx reverse proxy (no auth)" $NGINX_ROUTES "$NGINX_PROXY_PID"
    run "$s" haproxy "HAProxy 2.6 + jwt_verify + stick table" $HAPROXY_ROUTES "$HAPROXY_PID"
    run "$s" portier "Portier (auth, rate limit, breaker)" $PORTIER_ROUTES "$PORTIER_ROUTES_PID"
  fi
  ratios "$s"
}

echo "wrk -t1 -c$CONNECTIONS -d$DURATION per target, $(nproc) cores, all on loopback; CPU µs/req is the target's own"
echo "processes' user+sys CPU over the requests (a proxy's leaves out the upstream's)"
table "A. GET $GET_PATH, Bearer token, Portier with 1 route"
shape get
table "B. POST $POST_PATH, ${#BODY}-byte JSON body, Bearer token, 200 routes (target 101st)"
shape post
echo
echo "Portier peak RSS: $(peak_rss "$PORTIER_PID") MiB (A), $(peak_rss "$PORTIER_ROUTES_PID") MiB (B)"
if [ ${#GATEWAY_DATABASE[@]} -gt 0 ]; then
  syncs() { curl -s "http://127.0.0.1:$1/metrics" | awk -v r="$2" 'index($0, "portier_gateway_rate_limit_syncs_total{result=\"" r "\"}") == 1 { print $2 }'; }
  echo "Rate limits shared through PostgreSQL: exchanges ok/failed $(syncs $PORTIER_ADMIN ok)/$(syncs $PORTIER_ADMIN failed) (A), $(syncs $PORTIER_ROUTES_ADMIN ok)/$(syncs $PORTIER_ROUTES_ADMIN failed) (B)"
fi
if [ "$COUNT_ALLOCS" = 1 ]; then echo "Portier malloc calls per request: ${ALLOCS_LINE%, }"; fi

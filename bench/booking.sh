#!/usr/bin/env bash
# End-to-end booking load: the whole stack (portier up, release build) on spare ports; wrk plays
# many concurrent guests who book rooms and cancel about half of their bookings, through the
# gateway with a real token, for 30 s. Then it waits for every event to be consumed and checks
# that books, payments, notifications and mypages agree exactly: every booking paid once,
# notified once to guest and host, projected once; every cancellation likewise.
#
#   bench/booking.sh
#   DURATION=10s CONNECTIONS=32 ROOMS=500 bench/booking.sh
#   ENGINE=postgres bench/booking.sh   # every store and the event log in a throwaway PostgreSQL cluster (Debian's postgresql)
#   ENGINE=postgres PG_SERVER_OPTIONS="-c synchronous_commit=off" bench/booking.sh   # server settings for that cluster
#   ENGINE=postgres PG_STATEMENTS=1 bench/booking.sh   # and list the statements that ran most (pg_stat_statements)
#   BOOKS_REPLICAS=2 bench/booking.sh   # a second books process, the gateway balancing between the two
#
# For scale, the same wrk against an nginx answering a fixed body (no work at all) runs first.
source "$(dirname "$0")/lib.sh"
need wrk wrk
need python3 python3
need nginx nginx-light
DURATION="${DURATION:-30s}"
CONNECTIONS="${CONNECTIONS:-64}"
ROOMS="${ROOMS:-300}"
BOOKS_REPLICAS="${BOOKS_REPLICAS:-1}"
case "$BOOKS_REPLICAS" in 1|2) ;; *) echo "bench: BOOKS_REPLICAS must be 1 or 2" >&2; exit 1 ;; esac
ENGINE="${ENGINE:-sqlite}"
BASE=29000
GATEWAY="http://127.0.0.1:$((BASE + 88))"
DATABASE_ARGS=()
PGPORT=$((BASE + 32))
PGBIN=""
case "$ENGINE" in
  sqlite) ;;
  postgres)
    # A cluster of the run's own, with PostgreSQL's default durability (fsync, synchronous commit).
    PGBIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
    [ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] || { echo "bench: PostgreSQL's server is missing; install it with: sudo apt-get install -y postgresql" >&2; exit 1; }
    as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
    chmod 755 "$WORK"
    mkdir -p "$WORK/pg"
    [ "$(id -u)" = 0 ] && chown postgres "$WORK/pg"
    as_postgres "$PGBIN/initdb" -D "$WORK/pg/data" -U portier -A trust -E UTF8 --locale=C >/dev/null
    as_postgres "$PGBIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/server.log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $WORK/pg -c max_connections=300 ${PG_STATEMENTS:+-c shared_preload_libraries=pg_stat_statements} ${PG_SERVER_OPTIONS:-}" start >/dev/null
    [ -n "${PG_STATEMENTS:-}" ] && "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U portier -d postgres -qc "CREATE EXTENSION pg_stat_statements" >/dev/null
    trap 'as_postgres "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m immediate stop >/dev/null 2>&1 || true; cleanup' EXIT
    DATABASE_ARGS=(--database "postgres://portier@127.0.0.1:$PGPORT/postgres?sslmode=disable")
    ;;
  *) echo "bench: ENGINE must be sqlite or postgres, got $ENGINE" >&2; exit 1 ;;
esac

build_release
# The shipped routes.json, pointed at this run's ports, with rate limits out of the way.
python3 - "$ROOT/routes.json" "$WORK/routes.json" "$WORK/data" "$BOOKS_REPLICAS" "$((BASE + 92))" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["auth"]["revocations"]["clientSecretFile"] = sys.argv[3] + "/gateway-client.secret"
for route in doc["routes"]:
    if "rateLimit" in route:
        route["rateLimit"] = {"perSecond": 1000000, "burst": 1000000, "key": "client"}
    if route["id"] == "books" and sys.argv[4] == "2":
        route["upstreams"].append(f"http://127.0.0.1:{sys.argv[5]}")
json.dump(doc, open(sys.argv[2], "w"), indent=2)
PY
"$BIN" up --data-dir "$WORK/data" --keys-dir "$WORK/keys" --routes "$WORK/routes.json" \
  --gateway-port $((BASE + 88)) --auth-port $((BASE + 90)) --rooms-port $((BASE + 81)) --books-port $((BASE + 82)) \
  --payments-port $((BASE + 83)) --notifications-port $((BASE + 84)) --mypages-port $((BASE + 85)) --gateway-admin-port $((BASE + 89)) "${DATABASE_ARGS[@]}" > "$WORK/up.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 600); do grep -q "Portier is up" "$WORK/up.log" && break; sleep 0.2; done
grep -q "Portier is up" "$WORK/up.log" || { echo "bench: portier up did not start" >&2; cat "$WORK/up.log" >&2; exit 1; }
SECRET="$(sed -n 's/.*SECRET=\([^ ]*\).*/\1/p' "$WORK/up.log" | head -1)"
if [ "$BOOKS_REPLICAS" = 2 ]; then
  # A second books process beside the one `portier up` runs, on the same store.
  PORTIER_DATABASE_URL="${DATABASE_ARGS[1]:-}" "$BIN" serve books --port $((BASE + 92)) --data-dir "$WORK/data" \
    --payments-url "http://127.0.0.1:$((BASE + 83))" --auth-url "http://127.0.0.1:$((BASE + 90))" > "$WORK/books-2.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 300); do grep -q "books listening" "$WORK/books-2.log" && break; sleep 0.2; done
  grep -q "books listening" "$WORK/books-2.log" || { echo "bench: the second books did not start" >&2; cat "$WORK/books-2.log" >&2; exit 1; }
fi
TOKEN="$(curl -sf -u "hotel-client:$SECRET" -d grant_type=client_credentials "$GATEWAY/oauth/token" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')"

for i in $(seq 1 "$ROOMS"); do
  curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d "{\"name\":\"Room $i\",\"hostId\":$(( (i % 50) + 1 )),\"price\":$(( 80 + i % 120 ))}" "$GATEWAY/rooms"
done
# Wait until books has every room in its replica (fed by RoomRegistered events).
python3 - "$WORK/data/books.sqlite" "$ROOMS" "$ENGINE" "$PGBIN" "$PGPORT" <<'PY'
import sqlite3, subprocess, sys, time
path, rooms, engine, pgbin, pgport = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
def known():
    if engine == "postgres":
        sql = "SELECT COUNT(*) FROM portier_books.rooms"
        out = subprocess.run([f"{pgbin}/psql", "-h", "127.0.0.1", "-p", pgport, "-U", "portier", "-d", "postgres", "-qtAc", sql], capture_output=True)
        return int(out.stdout.decode().strip() or 0) if out.returncode == 0 else 0
    try:
        return sqlite3.connect(path).execute("SELECT COUNT(*) FROM rooms").fetchone()[0]
    except sqlite3.Error:
        return 0
for _ in range(600):
    if known() >= rooms: sys.exit(0)
    time.sleep(0.1)
sys.exit("books never learned all rooms")
PY

cat > "$WORK/booking.lua" <<LUA
local token = "$TOKEN"
local rooms = $ROOMS
local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
local pending = {}
local count = 0
booked, canceled, conflicts, failures = 0, 0, 0, 0
math.randomseed(os.time())

-- Counters live in the worker thread's Lua state; done() reads them through the thread objects.
local threads = {}
setup = function(thread) table.insert(threads, thread) end

local function day(offset) return os.date("!%Y-%m-%d", os.time() + offset * 86400) end

request = function()
  count = count + 1
  if #pending > 0 and count % 2 == 0 then
    return wrk.format("DELETE", "/books/" .. table.remove(pending, 1), headers, nil)
  end
  local start = math.random(2, 3650)
  local body = string.format('{"roomId":%d,"guestId":%d,"startDate":"%s","endDate":"%s"}',
    math.random(1, rooms), math.random(1, 5000), day(start), day(start + math.random(1, 3)))
  return wrk.format("POST", "/books", headers, body)
end

response = function(status, _, body)
  if status == 201 then
    booked = booked + 1
    if math.random() < 0.5 then table.insert(pending, body:match('"id":(%d+)')) end
  elseif status == 200 then canceled = canceled + 1
  elseif status == 409 then conflicts = conflicts + 1
  else failures = failures + 1 end
end

done = function(summary, latency, _)
  local b, c, k, f = 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    b = b + thread:get("booked"); c = c + thread:get("canceled"); k = k + thread:get("conflicts"); f = f + thread:get("failures")
  end
  local seconds = summary.duration / 1e6
  io.write(string.format("RESULT %.0f %.2f %.2f %d %d %d %d %d\n", b / seconds, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, b, c, k, f + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout, summary.requests))
end
LUA

# For scale: the same wrk, connections and length against an nginx that answers a fixed body.
start_nginx nginx-direct "  server {
    listen 127.0.0.1:$((BASE + 93));
    location / { default_type application/json; return 200 '{\"id\":1}'; }
  }"
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$((BASE + 93))/" && break; sleep 0.1; done
direct="$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" "http://127.0.0.1:$((BASE + 93))/" | sed -n 's/^Requests\/sec: *//p')"
kill "$NGINX_PID" 2>/dev/null || true
echo "nginx direct (a fixed body, no work), same wrk: $direct req/s"

echo "wrk -t1 -c$CONNECTIONS -d$DURATION: book (POST /books) and cancel (DELETE /books/{id}) through the gateway, $ROOMS rooms, $(nproc) cores, stores and event log on $ENGINE, $BOOKS_REPLICAS books process(es)"
line="$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$WORK/booking.lua" "$GATEWAY" | grep '^RESULT')"
read -r _ rate p50 p99 booked canceled conflicts failures requests <<< "$line"
printf '%-14s %8s %8s %8s %9s %9s %9s %9s\n' "bookings/s" "p50 ms" "p99 ms" "booked" "canceled" "conflict" "failures" "requests"
printf '%-14s %8s %8s %8s %9s %9s %9s %9s\n' "$rate" "$p50" "$p99" "$booked" "$canceled" "$conflicts" "$failures" "$requests"

# Every event consumed, then the books must balance.
set +e  # the reconciliation's verdict is the exit status, after the statement list below
python3 - "$WORK/data" "$booked" "$canceled" "$CONNECTIONS" "$ENGINE" "$PGBIN" "$PGPORT" <<'PY'
import sqlite3, subprocess, sys, time
data, answered_booked, answered_canceled, connections = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
engine, pgbin, pgport = sys.argv[5], sys.argv[6], sys.argv[7]
def psql(sql):
    out = subprocess.check_output([f"{pgbin}/psql", "-h", "127.0.0.1", "-p", pgport, "-U", "portier", "-d", "postgres", "-qtAc", sql])
    return [line.split("|") for line in out.decode().split("\n") if line]
def rows(service, sql):
    """A service's store: its SQLite file, or its schema in PostgreSQL."""
    if engine == "postgres":
        return [tuple(int(v) if v.lstrip("-").isdigit() else v for v in row) for row in psql(f"SET search_path TO portier_{service}; {sql}")]
    return sqlite3.connect(f"{data}/{service}.sqlite").execute(sql).fetchall()
db = lambda name: sqlite3.connect(f"{data}/{name}.sqlite")
def log_state():
    if engine == "postgres":
        head = int(psql("SELECT COALESCE(MAX(position), 0) FROM portier_events.log")[0][0])
        return head, {name: int(position) for name, position in psql("SELECT name, position FROM portier_events.consumer_groups")}
    log = db("events")
    return log.execute("SELECT COALESCE(MAX(position), 0) FROM events").fetchone()[0], dict(log.execute("SELECT name, position FROM consumer_groups").fetchall())
def settled():
    head, groups = log_state()
    outboxes = sum(rows(s, "SELECT COUNT(*) FROM outbox")[0][0] for s in ["rooms", "books", "payments"])
    return outboxes == 0 and all(groups.get(g) == head for g in ["rooms", "books", "payments", "notifications", "mypages"])
for _ in range(1200):
    if settled(): break
    time.sleep(0.1)
else:
    sys.exit("events were not all consumed within 120 s")

books = dict(rows("books", "SELECT status, COUNT(*) FROM books GROUP BY status"))
payments = dict(rows("payments", "SELECT status, COUNT(*) FROM payments GROUP BY status"))
kinds = dict(rows("notifications", "SELECT kind, COUNT(*) FROM notifications GROUP BY kind"))
pages = dict(rows("mypages", "SELECT booking_status || '/' || payment_status, COUNT(*) FROM mypages GROUP BY 1"))
dead = sum(rows(s, "SELECT COUNT(*) FROM dead_letters")[0][0] for s in ["rooms", "books", "payments", "notifications", "mypages"])
total = books.get("Booked", 0) + books.get("Canceled", 0)
canceled = books.get("Canceled", 0)
# wrk stops counting at the deadline while up to one request per connection is still in flight:
# those complete on the server but are not counted, so stored may exceed answered by that much.
in_flight = lambda stored, answered: answered <= stored <= answered + connections
print(f"  stored bookings {total} (wrk counted {answered_booked}), stored cancellations {canceled} (wrk counted {answered_canceled})")
checks = [
    ("stored bookings match answered (+ in flight)", in_flight(total, answered_booked), True),
    ("stored cancellations match answered (+ in flight)", in_flight(canceled, answered_canceled), True),
    ("payments approved or cancelled = bookings", payments.get("Approved", 0) + payments.get("Canceled", 0), total),
    ("payments cancelled = cancellations", payments.get("Canceled", 0), canceled),
    ("payment_approved notifications", kinds.get("payment_approved", 0), total),
    ("booked notifications", kinds.get("booked", 0), total),
    ("book_canceled notifications", kinds.get("book_canceled", 0), canceled),
    ("payment_canceled notifications", kinds.get("payment_canceled", 0), canceled),
    ("mypages Booked/Approved", pages.get("Booked/Approved", 0), total - canceled),
    ("mypages Canceled/Canceled", pages.get("Canceled/Canceled", 0), canceled),
    ("mypages rows", sum(pages.values()), total),
    ("dead letters", dead, 0),
]
ok = True
for name, got, want in checks:
    mark = "ok" if got == want else "MISMATCH"
    ok &= got == want
    print(f"  {name:50} {str(got):>8} expected {str(want):>8}  {mark}")
print("consistency: " + ("exact, nothing lost, nothing duplicated" if ok else "FAILED"))
sys.exit(0 if ok else 1)
PY
status=$?
if [ "$ENGINE" = postgres ] && [ -n "${PG_STATEMENTS:-}" ]; then
  echo "statements that ran most (calls per stored booking, mean ms):"
  "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U portier -d postgres -qtAF ' | ' -c "
    SELECT round(calls::numeric / GREATEST((SELECT count(*) FROM portier_books.books), 1), 2), round(mean_exec_time::numeric, 3),
           left(regexp_replace(query, '\s+', ' ', 'g'), 110)
    FROM pg_stat_statements ORDER BY calls DESC LIMIT 25"
fi
exit $status

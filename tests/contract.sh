#!/usr/bin/env bash
# The API contract check that `make test` runs after the Swift tests: the OpenAPI document the
# binary embeds (`portier openapi`, the same bytes as GET /openapi.json) must be a valid OpenAPI
# 3.1 document (openapi-spec-validator), and a running stack must keep it (schemathesis).
#
# It starts its own stack (`portier up` on free loopback ports, in a temporary data directory),
# waits until the gateway's /health/ready answers 200, gets a token for the demo client with curl,
# and runs schemathesis THROUGH THE GATEWAY against every operation: examples, boundary and
# negative cases, random inputs, and stateful sequences along the document's links (register a
# room, book it, read it, cancel it). Any 5xx, response that the document does not describe,
# crash or timeout is a finding and fails the run. The stack is stopped afterwards either way.
#
#   tests/contract.sh                       # uses .build/debug/portier and .build-venv
#   MAX_EXAMPLES=20 tests/contract.sh       # examples per operation (default 100)
#   PORTIER_BIN=.build/release/portier VENV=/tmp/venv tests/contract.sh
#
# schemathesis's report (JUnit XML and its summary) stays in $REPORT_DIR (default
# .build/contract-report) for a look after a failure.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${PORTIER_BIN:-$ROOT/.build/debug/portier}"
VENV="${VENV:-$ROOT/.build-venv}"
MAX_EXAMPLES="${MAX_EXAMPLES:-100}"
REPORT_DIR="${REPORT_DIR:-$ROOT/.build/contract-report}"
# schemathesis runs from a scratch directory: relative paths are the caller's.
absolute() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
BIN="$(absolute "$BIN")"; VENV="$(absolute "$VENV")"; REPORT_DIR="$(absolute "$REPORT_DIR")"

[ -x "$BIN" ] || { echo "contract: $BIN is missing; run swift build first" >&2; exit 1; }
for tool in openapi-spec-validator schemathesis; do
  [ -x "$VENV/bin/$tool" ] || { echo "contract: $VENV/bin/$tool is missing; run make venv (it installs both, pinned)" >&2; exit 1; }
done
command -v curl >/dev/null || { echo "contract: curl is missing" >&2; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/portier-contract.XXXXXX")"
UP_PID=""
cleanup() {
  if [ -n "$UP_PID" ] && kill -0 "$UP_PID" 2>/dev/null; then
    kill -TERM "$UP_PID" 2>/dev/null || true
    # `portier up` stops its children gracefully; give it a bounded while, then insist.
    for _ in $(seq 1 150); do kill -0 "$UP_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$UP_PID" 2>/dev/null || true
    wait "$UP_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# 1. The document itself.
"$BIN" openapi > "$WORK/openapi.json"
"$VENV/bin/openapi-spec-validator" "$WORK/openapi.json"

# 2. A stack of its own on free loopback ports (asked of the kernel, then handed to portier up).
read -r -a PORTS <<< "$(python3 - <<'PY'
import socket
sockets = []
for _ in range(7):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    sockets.append(s)
print(" ".join(str(s.getsockname()[1]) for s in sockets))
PY
)"
GATEWAY_PORT="${PORTS[0]}"
GATEWAY="http://127.0.0.1:$GATEWAY_PORT"
ARGS=(--data-dir "$WORK/data" --keys-dir "$WORK/keys" --routes "$ROOT/routes.json"
      --gateway-port "${PORTS[0]}" --auth-port "${PORTS[1]}" --rooms-port "${PORTS[2]}" --books-port "${PORTS[3]}"
      --payments-port "${PORTS[4]}" --notifications-port "${PORTS[5]}" --mypages-port "${PORTS[6]}")
# Every admin listener this build has, on any free port: nothing collides with a running stack.
for flag in $("$BIN" up --help | grep -o -- '--[a-z]*-admin-port' | sort -u); do
  ARGS+=("$flag" 0)
done
"$BIN" up "${ARGS[@]}" > "$WORK/up.log" 2>&1 &
UP_PID=$!

ready=""
for _ in $(seq 1 1200); do
  kill -0 "$UP_PID" 2>/dev/null || break
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "$GATEWAY/health/ready" || true)" = 200 ]; then ready=1; break; fi
  sleep 0.1
done
[ -n "$ready" ] || { echo "contract: the stack did not become ready" >&2; cat "$WORK/up.log" >&2; exit 1; }

SECRET="$(cat "$WORK/data/demo-client.secret")"
TOKEN="$(curl -sf -u "hotel-client:$SECRET" -d grant_type=client_credentials "$GATEWAY/oauth/token" \
         | sed -E 's/.*"access_token":"([^"]+)".*/\1/')"
[ -n "$TOKEN" ] || { echo "contract: no token from $GATEWAY/oauth/token" >&2; exit 1; }

# 3. schemathesis, through the gateway. Each security scheme of the document gets its credentials:
# the demo client's bearer token for the hotel API; for the OAuth endpoints the gateway's own
# client, whose scope `introspect` also opens introspection and the revocation feed.
GATEWAY_SECRET="$(cat "$WORK/data/gateway-client.secret")"
cat > "$WORK/schemathesis.toml" <<EOF
[auth.openapi.oauth2]
bearer = "$TOKEN"

[auth.openapi.clientBasic]
username = "portier-gateway"
password = "$GATEWAY_SECRET"

# Every check schemathesis has (set here, not with --checks, so the exceptions below can apply).
[checks]
enabled = true

# Rules between fields that JSON Schema cannot state: a booking's startDate is today or later,
# before endDate and at most 365 nights from it; a search's from is before its to. A request the
# document allows may break them, and the answer is then a 400 that names the rule. Only these
# operations, and only this check, accept that 400.
[[operations]]
include-operation-id = ["createBook", "searchRooms", "searchRoomsHead"]
checks.positive_data_acceptance.expected-statuses = ["2XX", "400", "401", "403", "404", "409", "429"]

# DELETE /books/{id} cancels: the booking stays readable with status Canceled (README, F8/F9),
# so "a deleted resource must be gone" does not apply to it.
[[operations]]
include-operation-id = ["getBook", "getBookHead", "cancelBook"]
checks.use_after_free.enabled = false
EOF
mkdir -p "$REPORT_DIR"
status=0
(cd "$WORK" && "$VENV/bin/schemathesis" --config-file "$WORK/schemathesis.toml" run "$WORK/openapi.json" \
  --url "$GATEWAY" \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples "$MAX_EXAMPLES" \
  --seed 1 \
  --workers 1 \
  --request-timeout 10 \
  --generation-database none \
  --no-color \
  --report junit --report-dir "$REPORT_DIR") 2>&1 | tee "$REPORT_DIR/summary.txt" || status=$?

# What the sequences did to the hotel, from the services' access logs.
count() { grep -cE "$2" "$WORK/data/logs/$1.log" || true; }
echo "contract: $(count rooms '"method":"POST","path":"/rooms","status":201') rooms registered," \
  "$(count books '"method":"POST","path":"/books","status":201') bookings made," \
  "$(count books '"method":"(DELETE","path":"/books/[0-9]+|POST","path":"/books/[0-9]+/cancel)","status":200') cancellations answered 200" \
  | tee -a "$REPORT_DIR/summary.txt"

if [ "$status" -ne 0 ]; then
  echo "contract: schemathesis found problems (exit $status); the stack's logs follow" >&2
  tail -n 20 "$WORK"/data/logs/*.log >&2 || true
fi
exit "$status"

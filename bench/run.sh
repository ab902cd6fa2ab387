#!/usr/bin/env bash
# Load benchmark: builds the release binary, starts it on a seeded temporary database and
# measures requests/s and p50/p99 latency with wrk for the main read endpoints, each beside a
# fixed-body endpoint (`/__fixed`, same size, same middleware) measured in the same run: the
# ceiling of this machine for a response of that size. Also reports cold-start times and the
# resident memory under load.
#
# Usage: bench/run.sh [duration_seconds=10] [connections=32]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
CONNS=${2:-32}
THREADS=2

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl; }
cargo build --release --quiet
BIN=$PWD/target/release/kacky-backend

WORK=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
PORT=$((20000 + RANDOM % 20000))
cat > "$WORK/config.yaml" <<YAML
port: $PORT
eventtype: KR
edition: 4
testing_mode: 1
loglevel: WARNING
database: $WORK/kacky.db
YAML
echo "jwt_secret: bench-secret" > "$WORK/secrets.yaml"
cp config/servers.yaml "$WORK/servers.yaml"
BASE="http://127.0.0.1:$PORT"

now_ms() { date +%s%3N; }
wait_200() { # path -> ms until the first 200
  local start=$1 path=$2
  until curl -fsS -o /dev/null "$BASE$path" 2>/dev/null; do sleep 0.002; done
  echo $(( $(now_ms) - start ))
}
start_server() { # extra args...
  (cd "$WORK" && exec "$BIN" "$@" >"$WORK/server.log" 2>&1) &
  PID=$!
}

# First start: creates the database and loads the history.
T0=$(now_ms); start_server; FIRST=$(wait_200 "$T0" /spreadsheet/kk/7)
kill $PID; wait $PID 2>/dev/null || true
# Cold start on the existing database.
T0=$(now_ms); start_server; COLD=$(wait_200 "$T0" /eventstatus)
kill $PID; wait $PID 2>/dev/null || true

echo "first start with seeding → first 200: ${FIRST} ms"
echo "cold start, existing database → first 200: ${COLD} ms"
echo

bench() { # label path
  local out rps p50 p99
  out=$(wrk -t$THREADS -c"$CONNS" -d"${DURATION}s" --latency "$BASE$2")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  printf '%-34s %10s req/s   p50 %8s   p99 %8s\n' "$1" "$rps" "$p50" "$p99"
  echo "$rps"  > "$WORK/last_rps"
}

ENDPOINTS=${ENDPOINTS:-"/spreadsheet/kk/7 /events /eventstatus /wrleaderboard/kk /dashboard /spreadsheet"}
stop_server() { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }

# Fetch each endpoint's body once, to serve the same bytes as the fixed-body ceiling.
start_server; wait_200 "$(now_ms)" /eventstatus >/dev/null
i=0
for path in $ENDPOINTS; do curl -fsS "$BASE$path" -o "$WORK/body$i.json"; i=$((i + 1)); done
stop_server

printf '%-34s %16s   %12s   %12s\n' endpoint throughput latency ""
i=0
for path in $ENDPOINTS; do
  start_server serve --bench-fixed-body "$WORK/body$i.json"; wait_200 "$(now_ms)" /eventstatus >/dev/null
  size=$(stat -c %s "$WORK/body$i.json")
  bench "$path ($size B)" "$path"; real=$(cat "$WORK/last_rps")
  bench "  ceiling: fixed $size B" "/__fixed"; ceil=$(cat "$WORK/last_rps")
  awk -v r="$real" -v c="$ceil" 'BEGIN { printf "  -> %.0f %% of the ceiling\n", 100 * r / c }'
  echo "  peak resident memory: $(( $(awk '/VmHWM/ {print $2}' /proc/$PID/status) / 1024 )) MB"
  stop_server
  i=$((i + 1))
done

# --- accounts: /login, the logged-in sheet, and /eventstatus while /login is hammered ---
start_server; wait_200 "$(now_ms)" /eventstatus >/dev/null
curl -fsS -o /dev/null -H 'Content-Type: application/json' -d '{"user":"benchuser","pwd":"benchpass1","mail":"b@e.nch"}' "$BASE/register" || true
TOKEN=$(curl -fsS -H 'Content-Type: application/json' -d '{"user":"benchuser","pwd":"benchpass1"}' "$BASE/login" | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
cat > "$WORK/login.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"user":"benchuser","pwd":"benchpass1"}'
wrk.headers["Content-Type"] = "application/json"
LUA
echo
out=$(wrk -t2 -c8 -d"${DURATION}s" --latency -s "$WORK/login.lua" "$BASE/login")
printf '%-34s %10s req/s   p50 %8s   p99 %8s\n' "/login (8 clients)" "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$(awk '$1=="50%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")"
out=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -H "Authorization: Bearer $TOKEN" "$BASE/spreadsheet/kk/7")
printf '%-34s %10s req/s   p50 %8s   p99 %8s\n' "/spreadsheet/kk/7 (logged in)" "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$(awk '$1=="50%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")"
wrk -t1 -c8 -d"$((DURATION + 2))s" -s "$WORK/login.lua" "$BASE/login" >/dev/null &
LOGIN_LOAD=$!
sleep 1
out=$(wrk -t1 -c4 -d"${DURATION}s" --latency "$BASE/eventstatus")
wait $LOGIN_LOAD
printf '%-34s %10s req/s   p50 %8s   p99 %8s\n' "/eventstatus during /login load" "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$(awk '$1=="50%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")"
echo "  peak resident memory: $(( $(awk '/VmHWM/ {print $2}' /proc/$PID/status) / 1024 )) MB"
stop_server

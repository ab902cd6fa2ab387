#!/usr/bin/env bash
# Load benchmark. Builds the release binary and the bare-axum ceiling (bench/ceiling.rs), starts
# the backend on a fresh temporary database (testing mode, the KR4 servers), and for every read
# endpoint — anonymous and logged in — measures requests/s and p99 with wrk beside the ceiling
# answering the very same bytes without any middleware, in the same run. Prints the share of
# the ceiling: absolute numbers on a shared 2-core machine swing by ±40 %, the share does not.
# Also: resident memory under that load, /login throughput, /eventstatus p99 during a login
# storm, and resident memory two seconds after a 15 s storm of 8 clients logging in.
#
# Usage: bench/run.sh [seconds per measurement=5] [connections=32]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-5}
CONNS=${2:-32}

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl; }
cargo build --release --quiet --bin kacky-backend --example bench_ceiling
BIN=$PWD/target/release/kacky-backend
CEILING_BIN=$PWD/target/release/examples/bench_ceiling

WORK=$(mktemp -d)
PID=""
CPID=""
cleanup() {
  for p in $PID $CPID; do kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
PORT=$((20000 + RANDOM % 20000))
CPORT=$((PORT + 1))
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
wait_200() { # url -> ms until the first 200
  local start=$1 url=$2
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do sleep 0.002; done
  echo $(( $(now_ms) - start ))
}
rss_mb() { echo $(( $(awk '/VmRSS/ {print $2}' "/proc/$1/status") / 1024 )); }
start_backend() {
  (cd "$WORK" && exec "$BIN" >"$WORK/server.log" 2>&1) &
  PID=$!
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# First start (creates the database, loads the history), then a cold start on it.
T0=$(now_ms); start_backend; FIRST=$(wait_200 "$T0" "$BASE/spreadsheet/kk/7"); stop "$PID"
T0=$(now_ms); start_backend; COLD=$(wait_200 "$T0" "$BASE/eventstatus")
echo "first start with seeding → first 200: ${FIRST} ms; cold start → first 200: ${COLD} ms"

curl -fsS -o /dev/null -H 'Content-Type: application/json' \
  -d '{"user":"benchuser","pwd":"benchpass1","mail":"b@e.nch"}' "$BASE/register"
TOKEN=$(curl -fsS -H 'Content-Type: application/json' -d '{"user":"benchuser","pwd":"benchpass1"}' "$BASE/login" \
  | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
# Give the user some sheet data, so the logged-in answers really differ from the anonymous ones.
for id in 201 215 230; do
  curl -fsS -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d "{\"mapid\":\"$id\",\"diff\":3,\"clip\":\"https://clips.example/$id\"}" "$BASE/spreadsheet/kk"
done

PEAK_RSS=0
wrk_run() { # url [auth] -> "rps p99"
  local out
  if [ -n "${2:-}" ]; then
    out=$(wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -H "Authorization: Bearer $2" "$1")
  else
    out=$(wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "$1")
  fi
  echo "$(awk '/Requests\/sec/ {print $2}' <<<"$out") $(awk '$1=="99%" {print $2}' <<<"$out")"
}

printf '\n%-36s %8s %12s %9s %12s %7s\n' endpoint bytes "req/s" p99 "ceiling/s" share
ROWS="/spreadsheet/kk/7:anon /spreadsheet/kk/7:auth /spreadsheet:anon /spreadsheet:auth /dashboard:anon
/dashboard:auth /mapinfo/kk/215:anon /mapinfo/kk/215:auth /events:anon /eventstatus:anon /wrleaderboard/kk:anon
/schedule:anon"
for row in $ROWS; do
  path=${row%%:*}; who=${row##*:}
  auth=""; [ "$who" = auth ] && auth=$TOKEN
  if [ -n "$auth" ]; then
    curl -fsS -H "Authorization: Bearer $auth" "$BASE$path" -o "$WORK/body.json"
  else
    curl -fsS "$BASE$path" -o "$WORK/body.json"
  fi
  bytes=$(stat -c %s "$WORK/body.json")
  "$CEILING_BIN" "$CPORT" "$WORK/body.json" >/dev/null 2>&1 &
  CPID=$!
  wait_200 "$(now_ms)" "http://127.0.0.1:$CPORT/" >/dev/null
  read -r crps _ < <(wrk_run "http://127.0.0.1:$CPORT$path")
  stop "$CPID"; CPID=""
  read -r rps p99 < <(wrk_run "$BASE$path" "$auth")
  rss=$(rss_mb "$PID"); [ "$rss" -gt "$PEAK_RSS" ] && PEAK_RSS=$rss
  label="$path ($([ -n "$auth" ] && echo 'logged in' || echo anonymous))"
  share=$(awk -v r="$rps" -v c="$crps" 'BEGIN { printf "%.0f %%", 100 * r / c }')
  printf '%-36s %8s %12s %9s %12s %7s\n' "$label" "$bytes" "$rps" "$p99" "$crps" "$share"
done
echo "resident memory under that load (highest sample): ${PEAK_RSS} MB"

# Logins: argon2id on the hashing threads; /eventstatus stays fast meanwhile.
cat > "$WORK/login.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"user":"benchuser","pwd":"benchpass1"}'
wrk.headers["Content-Type"] = "application/json"
LUA
echo
wrk -t2 -c8 -d15s --latency -s "$WORK/login.lua" "$BASE/login" > "$WORK/login.out" &
LOGIN_LOAD=$!
sleep 2
read -r srps sp99 < <(wrk -t1 -c4 -d10s --latency "$BASE/eventstatus" | awk '/Requests\/sec/ {r=$2} $1=="99%" {p=$2} END {print r, p}')
wait $LOGIN_LOAD
printf '%-36s %12s req/s   p99 %s\n' "/login (8 clients, 15 s)" "$(awk '/Requests\/sec/ {print $2}' "$WORK/login.out")" "$(awk '$1=="99%" {print $2}' "$WORK/login.out")"
printf '%-36s %12s req/s   p99 %s\n' "/eventstatus during the login storm" "$srps" "$sp99"
sleep 2
echo "resident memory 2 s after the login storm: $(rss_mb "$PID") MB (peak $(( $(awk '/VmHWM/ {print $2}' "/proc/$PID/status") / 1024 )) MB)"
stop "$PID"

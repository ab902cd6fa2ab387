#!/usr/bin/env bash
# /live at scale. Builds the release binary and two bench programs (bench/live_viewers.rs,
# bench/live_ceiling.rs), starts the backend in testing mode with the KR4 servers playing
# one-minute maps (so every server changes its map every minute), the open-file limit raised
# and max_connections at 10,000 (so the default live_max_streams is 5,000), then opens VIEWERS
# /live streams from 127.1.x.y source addresses (8 per address, the default per-client cap)
# for SECONDS. It prints: how many viewers stream, every map change with how many viewers got
# it and its worst delay after the change, the resident memory (highest sample), and
# /eventstatus latency (one client asking every 20 ms) meanwhile. Then the same viewers against
# the ceiling: a bare axum SSE server sending the same events, no middleware, same run.
#
# Usage: bench/live.sh [viewers=5000] [seconds=150]
set -euo pipefail
cd "$(dirname "$0")/.."
VIEWERS=${1:-5000}
SECONDS_RUN=${2:-150}

# The viewers and the server each hold VIEWERS sockets (plus files of their own).
ulimit -n "$(ulimit -Hn)"
NOFILE=$(ulimit -n)
[ "$NOFILE" -ge $((VIEWERS + 1200)) ] || { echo "open-file limit $NOFILE is too low for $VIEWERS viewers"; exit 1; }
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl; }
cargo build --release --quiet --bin kacky-backend --example bench_live_viewers --example bench_live_ceiling
BIN=$PWD/target/release/kacky-backend
VIEWERS_BIN=$PWD/target/release/examples/bench_live_viewers
CEILING_BIN=$PWD/target/release/examples/bench_live_ceiling

WORK=$(mktemp -d)
PID=""
SAMPLER=""
cleanup() {
  for p in $SAMPLER $PID; do kill "$p" 2>/dev/null || true; done
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
max_connections: 10000
YAML
echo "jwt_secret: bench-secret" > "$WORK/secrets.yaml"
sed 's/timelimit: [0-9]*/timelimit: 1/' config/servers.yaml > "$WORK/servers.yaml"
SERVERS=$(grep -c '^  server_number:' "$WORK/servers.yaml")

rss_mb() { echo $(( $(awk '/VmRSS/ {print $2}' "/proc/$1/status") / 1024 )); }
wait_200() { until curl -fsS -o /dev/null "$1" 2>/dev/null; do sleep 0.05; done; }
sample_rss() { # pid file: the highest VmRSS (MB) seen, every 250 ms
  local max=0 now
  while kill -0 "$1" 2>/dev/null; do
    now=$(rss_mb "$1" 2>/dev/null || echo 0)
    [ "$now" -gt "$max" ] && { max=$now; echo "$max" > "$2"; }
    sleep 0.25
  done
}
run_viewers() { # label pid port
  local label=$1 pid=$2 port=$3
  echo 0 > "$WORK/rss.$label"
  sample_rss "$pid" "$WORK/rss.$label" &
  SAMPLER=$!
  "$VIEWERS_BIN" "127.0.0.1:$port" "$VIEWERS" "$SECONDS_RUN" 8 /eventstatus > "$WORK/out.$label"
  kill "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true; SAMPLER=""
}
get() { awk -F= -v k="$2" '$1==k {print $2}' "$WORK/out.$1"; }

(cd "$WORK" && exec "$BIN" >"$WORK/server.log" 2>&1) &
PID=$!
wait_200 "http://127.0.0.1:$PORT/eventstatus"
curl -fsS "http://127.0.0.1:$PORT/schedule?hours=1" -o "$WORK/snapshot.json"
curl -fsS "http://127.0.0.1:$PORT/eventstatus" -o "$WORK/eventstatus.json"
IDLE_RSS=$(rss_mb "$PID")
echo "backend: $SERVERS servers changing maps every minute; $VIEWERS viewers for $SECONDS_RUN s"
run_viewers backend "$PID" "$PORT"
AFTER_RSS=$(rss_mb "$PID")
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""

"$CEILING_BIN" "$CPORT" "$WORK/snapshot.json" "$WORK/eventstatus.json" "$SERVERS" >/dev/null 2>&1 &
PID=$!
wait_200 "http://127.0.0.1:$CPORT/eventstatus"
echo "ceiling: the same viewers against a bare axum SSE server"
run_viewers ceiling "$PID" "$CPORT"
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""

echo
grep '^change ' "$WORK/out.backend" | sed 's/^/backend /'
printf '\n%-44s %12s %12s\n' figure backend ceiling
for k in viewers_streaming viewers_refused viewers_failed viewers_ended_early connected_in_ms map_changes \
         map_changes_seen_by_every_viewer map_change_worst_delay_ms probe_requests probe_p50_ms probe_p99_ms \
         probe_p999_ms probe_max_ms probe_max_at_s; do
  printf '%-44s %12s %12s\n' "$k" "$(get backend $k)" "$(get ceiling $k)"
done
printf '%-44s %12s %12s\n' "resident memory, highest sample (MB)" "$(cat "$WORK/rss.backend")" "$(cat "$WORK/rss.ceiling")"
echo "backend resident memory: ${IDLE_RSS} MB before the viewers, ${AFTER_RSS} MB after they left"
if grep -qiE 'error|panicked' "$WORK/server.log"; then
  echo "backend log lines with errors:"; grep -iE 'error|panicked' "$WORK/server.log" | head -5
fi

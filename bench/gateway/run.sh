#!/usr/bin/env bash
# The gateway benchmark: one script, one run, one machine.
#
#   (a) wrk -> echo engine
#   (b) wrk -> carve gateway -> echo engine
#   (c) wrk -> nginx (keep-alive reverse proxy, buffering off) -> echo engine
#
# at peak load (CONNS connections) and at light load (LIGHT_CONNS), then
# STREAMS concurrent SSE streams with a chunk every 10 ms, direct, through
# carve and through nginx, with carve's memory per stream and its idle RSS;
# then FEW_STREAMS, which leave a 2-CPU machine room to keep the cadence.
# Prints a Markdown table (docs/gateway.md keeps the last one).
#
# Usage: bench/gateway/run.sh     (after scripts/build; env knobs below)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build}
CARVE=$(realpath "$BUILD_DIR/carve")
DURATION=${DURATION:-10}        # seconds per wrk run
ROUNDS=${ROUNDS:-3}             # engine, carve, nginx take turns; medians are reported
CONNS=${CONNS:-64}              # peak-load connections
LIGHT_CONNS=${LIGHT_CONNS:-2}   # light-load connections (wrk has no fixed-rate mode)
PROXY_THREADS=${PROXY_THREADS:-1}  # carve threads = nginx worker_processes
STREAMS=${STREAMS:-1000}
FEW_STREAMS=${FEW_STREAMS:-200}  # a second stream run that leaves the 2 CPUs room
STREAM_TOKENS=${STREAM_TOKENS:-300}  # x 10 ms = 3 s per stream

ulimit -n "$(ulimit -Hn)"  # 1000 streams need more than the usual 1024 descriptors
source bench/gateway/lib.sh

start_gateway() {  # name, engine port -> sets GW_PORT, GW_PID
  cat >"$tmp/$1.yaml" <<YAML
listen: 127.0.0.1:0
threads: $PROXY_THREADS
access_log: "off"
models:
  - name: echo
    replicas: [http://127.0.0.1:$2]
YAML
  "$CARVE" gateway --config "$tmp/$1.yaml" --port-file "$tmp/$1.port" 2>"$tmp/$1.err" &
  GW_PID=$!
  pids+=($GW_PID)
  GW_PORT=$(wait_port_file "$tmp/$1.port")
  wait_http "http://127.0.0.1:$GW_PORT/ready"
}

start_nginx() {  # name, engine port, listen port
  local dir="$tmp/$1"
  nginx_conf "$dir" "$2" "$3" "$PROXY_THREADS"
  nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" &
  pids+=($!)
  for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$3/health" && return; sleep 0.05; done
  echo "nginx did not start: $(cat "$dir/logs/error.log")" >&2; exit 1
}

run_wrk() {  # url conns -> "rps p50_ms p99_ms errors"
  wrk -t2 -c"$2" -d"${DURATION}s" --latency -s "$tmp/post.lua" "$1/v1/chat/completions" >"$tmp/wrk.out"
  awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /Requests\/sec/ {rps=$2}
    $1=="50%" {p50=ms($2)} $1=="99%" {p99=ms($2)}
    /Non-2xx|Socket errors/ {err=err $0 ";"}
    END {printf "%s %.3f %.3f %s\n", rps, p50, p99, (err==""?"-":"errors")}' "$tmp/wrk.out"
}

echo "== request/response: engine, carve, nginx (${DURATION}s each, $CONNS and $LIGHT_CONNS connections)" >&2
start_engine e1
E1=$ENGINE_PORT
start_gateway gw1 "$E1"
IDLE_RSS_START=$(rss_kib "$GW_PID")
NGINX_PORT=$(free_port)
start_nginx ngx1 "$E1" "$NGINX_PORT"
declare -A R
for round in $(seq "$ROUNDS"); do
  for target in engine carve nginx; do
    case $target in
      engine) url="http://127.0.0.1:$E1" ;;
      carve) url="http://127.0.0.1:$GW_PORT" ;;
      nginx) url="http://127.0.0.1:$NGINX_PORT" ;;
    esac
    peak=$(run_wrk "$url" "$CONNS")
    light=$(run_wrk "$url" "$LIGHT_CONNS")
    R[$target,peak]+="$peak;"
    R[$target,light]+="$light;"
    echo "   round $round $target peak: $peak  light: $light" >&2
  done
done
IDLE_RSS_AFTER=$(rss_kib "$GW_PID")

echo "== $STREAMS streams x $STREAM_TOKENS chunks, one every 10 ms" >&2
g++ -O2 -std=c++20 -o "$tmp/stream_load" bench/gateway/stream_load.cpp -pthread
start_engine e2 --token-delay-ms 10 --tokens "$STREAM_TOKENS"
E2=$ENGINE_PORT
start_gateway gw2 "$E2"
GW2_IDLE=$(rss_kib "$GW_PID")
NGINX2_PORT=$(free_port)
start_nginx ngx2 "$E2" "$NGINX2_PORT"
S_ENGINE=$("$tmp/stream_load" "$E2" "$STREAMS" "$STREAM_TOKENS")
# carve's peak RSS while the streams run, sampled every 50 ms.
( peak=0; while kill -0 "$GW_PID" 2>/dev/null && [ ! -f "$tmp/streams.done" ]; do
    r=$(rss_kib "$GW_PID"); [ "$r" -gt "$peak" ] && peak=$r; echo "$peak" >"$tmp/peak"; sleep 0.05; done ) &
sampler=$!
S_CARVE=$("$tmp/stream_load" "$GW_PORT" "$STREAMS" "$STREAM_TOKENS")
touch "$tmp/streams.done"; wait "$sampler" || true
GW2_PEAK=$(cat "$tmp/peak")
S_NGINX=$("$tmp/stream_load" "$NGINX2_PORT" "$STREAMS" "$STREAM_TOKENS")
echo "   engine: $S_ENGINE" >&2
echo "   carve:  $S_CARVE" >&2
echo "   nginx:  $S_NGINX" >&2
echo "== $FEW_STREAMS streams x $STREAM_TOKENS chunks, one every 10 ms" >&2
F_ENGINE=$("$tmp/stream_load" "$E2" "$FEW_STREAMS" "$STREAM_TOKENS")
F_CARVE=$("$tmp/stream_load" "$GW_PORT" "$FEW_STREAMS" "$STREAM_TOKENS")
F_NGINX=$("$tmp/stream_load" "$NGINX2_PORT" "$FEW_STREAMS" "$STREAM_TOKENS")
echo "   engine: $F_ENGINE" >&2
echo "   carve:  $F_CARVE" >&2
echo "   nginx:  $F_NGINX" >&2

LOAD_AVG=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$tmp" <<PY
import statistics
R = {}
for key, runs in [$(for k in "${!R[@]}"; do printf '("%s","%s"),' "$k" "${R[$k]}"; done)]:
    rows = [r.split() for r in runs.split(";") if r.strip()]
    med = lambda i: statistics.median(float(r[i]) for r in rows)
    err = "-" if all(r[3] == "-" for r in rows) else "errors"
    R[key] = (med(0), med(1), med(2), err)
def stream(s):
    return dict(kv.split("=") for kv in s.split())
S = {"engine": stream("""$S_ENGINE"""), "carve": stream("""$S_CARVE"""), "nginx": stream("""$S_NGINX""")}
F = {"engine": stream("""$F_ENGINE"""), "carve": stream("""$F_CARVE"""), "nginx": stream("""$F_NGINX""")}
cpu = open("/proc/cpuinfo").read().count("processor")
print(f"Machine: {cpu} CPUs, load average (1, 5, 15 min) at the end $LOAD_AVG; engine 1 thread; "
      f"carve threads = nginx workers = $PROXY_THREADS; wrk -t2, ${DURATION}s per run, "
      f"median of $ROUNDS rounds taken in turn; access logs off in both proxies.\n")
print("| load | target | requests/s | p50 ms | p99 ms | added p50 ms | added p99 ms |")
print("|---|---|---:|---:|---:|---:|---:|")
for load, conns in (("peak", $CONNS), ("light", $LIGHT_CONNS)):
    base = R[("engine," + load)]
    for t in ("engine", "carve", "nginx"):
        rps, p50, p99, err = R[(t + "," + load)]
        added = "" if t == "engine" else f"{p50 - base[1]:+.3f} | {p99 - base[2]:+.3f}"
        added = added or "– | –"
        print(f"| {load} ({conns} conns) | {t}{' (errors!)' if err != '-' else ''} | {rps:,.0f} | {p50:.3f} | {p99:.3f} | {added} |")
c, n = R[("carve,peak")][0], R[("nginx,peak")][0]
print(f"\ncarve/nginx throughput at peak: **{c / n:.2f}**\n")
print("| streams, chunk every 10 ms | target | done | failed | gap p50 ms | gap p99 ms | gap p99.9 ms | added p99 ms |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for n, runs in (($STREAMS, S), ($FEW_STREAMS, F)):
    for t in ("engine", "carve", "nginx"):
        s = runs[t]
        added = "–" if t == "engine" else f"{float(s['gap_p99_ms']) - float(runs['engine']['gap_p99_ms']):+.3f}"
        print(f"| {n} | {t} | {s['done']} | {s['failed']} | {float(s['gap_p50_ms']):.3f} | {float(s['gap_p99_ms']):.3f} | {float(s['gap_p999_ms']):.3f} | {added} |")
idle0, idle1, idle2, peak = $IDLE_RSS_START, $IDLE_RSS_AFTER, $GW2_IDLE, $GW2_PEAK
print(f"\ncarve RSS: idle at start {idle0 / 1024:.1f} MiB; idle after the wrk runs {idle1 / 1024:.1f} MiB; "
      f"with $STREAMS streams {peak / 1024:.1f} MiB peak, i.e. "
      f"**{(peak - idle2) / $STREAMS:.1f} KiB per stream**.")
PY

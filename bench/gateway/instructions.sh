#!/usr/bin/env bash
# User-space instructions per proxied request, carve's gateway against nginx,
# in one run: each proxy runs under callgrind (which counts instructions, not
# time, so the numbers repeat whatever else the machine does) in front of the
# same echo engine, driven by wrk for DURATION seconds; the count covers the
# whole run (startup included) over all its requests.
#
# Usage: bench/gateway/instructions.sh   (after scripts/build; needs valgrind, wrk, nginx)
set -euo pipefail
cd "$(dirname "$0")/../.."
CARVE=$(realpath "${BUILD_DIR:-build}/carve")
DURATION=${DURATION:-6}
CONNS=${CONNS:-8}

source bench/gateway/lib.sh
start_engine e
EP=$ENGINE_PORT
# requests, instructions, per request
measure() {  # name url pid out-file
  local n
  n=$(wrk -t1 -c"$CONNS" -d"${DURATION}s" -s "$tmp/post.lua" "$2/v1/chat/completions" |
      awk '/requests in/ {print $1}')
  kill -INT "$3" 2>/dev/null || kill -QUIT "$3"
  # (a command substitution cannot wait for its parent's children: poll)
  for _ in $(seq 600); do kill -0 "$3" 2>/dev/null || break; sleep 0.1; done
  local total
  total=$(callgrind_annotate "$4" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
  echo "$1 $n $total $((total / n))"
}

printf 'listen: 127.0.0.1:0\nthreads: 1\naccess_log: "off"\nmodels:\n  - name: echo\n    replicas: [http://127.0.0.1:%s]\n' \
  "$EP" >"$tmp/gw.yaml"
valgrind --tool=callgrind --callgrind-out-file="$tmp/carve.cg" \
  "$CARVE" gateway --config "$tmp/gw.yaml" --port-file "$tmp/gw.port" >/dev/null 2>"$tmp/gw.err" &
GW=$!
pids+=($GW)
GP=$(wait_port_file "$tmp/gw.port" 600)  # valgrind starts slowly
wait_http "http://127.0.0.1:$GP/health" 600
C=$(measure carve "http://127.0.0.1:$GP" "$GW" "$tmp/carve.cg")

NP=$(free_port)
nginx_conf "$tmp/n" "$EP" "$NP" 1 "master_process off;"
valgrind --tool=callgrind --callgrind-out-file="$tmp/nginx.cg" \
  nginx -p "$tmp/n" -c "$tmp/n/nginx.conf" -e "$tmp/n/logs/error.log" 2>"$tmp/ngx.err" &
NG=$!
pids+=($NG)
wait_http "http://127.0.0.1:$NP/health" 600
N=$(measure nginx "http://127.0.0.1:$NP" "$NG" "$tmp/nginx.cg")

echo "| proxy | requests | instructions | per request |"
echo "|---|---:|---:|---:|"
for row in "$C" "$N"; do
  set -- $row
  printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4"
done
set -- $C; c=$4
set -- $N; n=$4
python3 -c "print(f'\ncarve/nginx user instructions per request: **{$c / $n:.2f}**')"

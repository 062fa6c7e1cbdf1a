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

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

"$CARVE" engine echo --port 0 --port-file "$tmp/e.port" --model echo >"$tmp/e.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/e.port" ] && break; sleep 0.05; done
EP=$(cat "$tmp/e.port")
cat >"$tmp/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"model":"echo","messages":[{"role":"user","content":"hello there"}],"max_tokens":8}'
wrk.headers["Content-Type"] = "application/json"
LUA
wait_up() {
  for _ in $(seq 300); do curl -s -o /dev/null "$1" && return; sleep 0.1; done
  echo "timed out waiting for $1" >&2; exit 1
}
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
for _ in $(seq 300); do [ -s "$tmp/gw.port" ] && break; sleep 0.1; done
wait_up "http://127.0.0.1:$(cat "$tmp/gw.port")/health"
C=$(measure carve "http://127.0.0.1:$(cat "$tmp/gw.port")" "$GW" "$tmp/carve.cg")

NP=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$tmp/n/logs"
user=""
[ "$(id -u)" -eq 0 ] && user="user root;"
cat >"$tmp/n/nginx.conf" <<NGINX
$user
master_process off; worker_processes 1; daemon off;
pid $tmp/n/nginx.pid; error_log $tmp/n/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $tmp/n/body; proxy_temp_path $tmp/n/proxy; fastcgi_temp_path $tmp/n/f;
  uwsgi_temp_path $tmp/n/u; scgi_temp_path $tmp/n/s;
  upstream engine { server 127.0.0.1:$EP; keepalive 256; }
  server {
    listen 127.0.0.1:$NP;
    location / { proxy_pass http://engine; proxy_http_version 1.1;
                 proxy_set_header Connection ""; proxy_buffering off; }
  }
}
NGINX
valgrind --tool=callgrind --callgrind-out-file="$tmp/nginx.cg" \
  nginx -p "$tmp/n" -c "$tmp/n/nginx.conf" -e "$tmp/n/logs/error.log" 2>"$tmp/ngx.err" &
NG=$!
wait_up "http://127.0.0.1:$NP/health"
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

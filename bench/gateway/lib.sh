# Shared by bench/gateway/run.sh and instructions.sh (sourced, not run): a
# scratch folder and the processes to stop on exit, the echo engine, an nginx
# keep-alive reverse proxy config, and the wrk request.
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

wait_port_file() {  # FILE [TRIES]: polls for a port file (every 50 ms), prints the port
  for _ in $(seq "${2:-200}"); do [ -s "$1" ] && { cat "$1"; return; }; sleep 0.05; done
  echo "timed out waiting for $1" >&2; exit 1
}
wait_http() {  # URL [TRIES]: polls until it answers 2xx, every 50 ms
  for _ in $(seq "${2:-200}"); do curl -sf -o /dev/null "$1" && return; sleep 0.05; done
  echo "timed out waiting for $1" >&2; exit 1
}
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

start_engine() {  # name, extra flags... -> sets ENGINE_PORT (not in a subshell: pids must stick)
  local name=$1; shift
  "$CARVE" engine echo --port 0 --port-file "$tmp/$name.port" --model echo "$@" \
    >"$tmp/$name.log" 2>&1 &
  pids+=($!)
  ENGINE_PORT=$(wait_port_file "$tmp/$name.port")
  wait_http "http://127.0.0.1:$ENGINE_PORT/health"
}

# nginx in front of an engine: keep-alive upstream, no buffering, no access log.
# Usage: nginx_conf DIR ENGINE_PORT LISTEN_PORT WORKERS [TOP-LEVEL DIRECTIVES]
nginx_conf() {
  local dir=$1
  mkdir -p "$dir/logs"
  local user=""
  [ "$(id -u)" -eq 0 ] && user="user root;"
  cat >"$dir/nginx.conf" <<NGINX
$user
${5:-}
worker_processes $4;
daemon off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  upstream engine { server 127.0.0.1:$2; keepalive 256; }
  server {
    listen 127.0.0.1:$3 reuseport;
    location / {
      proxy_pass http://engine;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
NGINX
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

cat >"$tmp/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"model":"echo","messages":[{"role":"user","content":"hello there"}],"max_tokens":8}'
wrk.headers["Content-Type"] = "application/json"
LUA

#!/usr/bin/python3
"""A stand-in inference engine for the supervisor's process tests.

Serves GET /health and GET /v1/models on 127.0.0.1:PORT like vLLM does, and
writes what it sees (pid, process group, uid, cwd, CUDA_VISIBLE_DEVICES …) to
engine-info.json in its working directory. Flags make it misbehave the ways
real engines do: crash at start, never become ready, ignore SIGTERM, lose its
port, fail its health check, start helper processes.
"""
import argparse
import http.server
import json
import os
import signal
import subprocess
import sys


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--crash", action="store_true", help="exit 3 at once")
    p.add_argument("--never-ready", action="store_true", help="/health is 503 forever")
    p.add_argument("--ignore-term", action="store_true", help="ignore SIGTERM")
    p.add_argument("--helper", action="store_true", help="start a `sleep` in the group")
    p.add_argument("--lose-port-once", metavar="FILE",
                   help="the first run (FILE absent) fails as if the port were taken")
    p.add_argument("--sick-file", metavar="FILE", help="/health is 500 while FILE exists")
    p.add_argument("--no-bind", action="store_true", help="load forever, never bind the port")
    p.add_argument("--spam", type=int, default=0, help="print this many lines at start")
    return p.parse_args()


def write_info(args, extra):
    info = {
        "pid": os.getpid(), "pgid": os.getpgrp(), "uid": os.getuid(), "gid": os.getgid(),
        "cwd": os.getcwd(), "port": args.port,
        "cuda": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "nvidia": os.environ.get("NVIDIA_VISIBLE_DEVICES"),
        "home": os.environ.get("HOME"),
    }
    info.update(extra)
    with open("engine-info.json.tmp", "w") as f:
        json.dump(info, f)
    os.rename("engine-info.json.tmp", "engine-info.json")


def main():
    args = parse()
    print(f"fake engine for {args.model} on port {args.port}", flush=True)
    for i in range(args.spam):
        print(f"spam line {i} " + "x" * 60, flush=True)
    if args.crash:
        print("fatal: CUDA error: no kernel image is available (simulated)", file=sys.stderr,
              flush=True)
        sys.exit(3)
    if args.lose_port_once and not os.path.exists(args.lose_port_once):
        open(args.lose_port_once, "w").close()
        print(f"OSError: [Errno 98] Address already in use: ('127.0.0.1', {args.port})",
              file=sys.stderr, flush=True)
        sys.exit(1)
    if args.ignore_term:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if args.no_bind:
        print("loading weights (forever)", flush=True)
        signal.pause()
    extra = {}
    if args.helper:
        extra["helper_pid"] = subprocess.Popen(["sleep", "300"]).pid
    if args.never_ready:
        for shard in range(1, 4):
            print(f"loading shard {shard}/3", flush=True)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/health":
                sick = args.sick_file and os.path.exists(args.sick_file)
                code = 503 if args.never_ready else 500 if sick else 200
                self.reply(code, {"status": "ok" if code == 200 else "loading"})
            elif self.path == "/v1/models":
                self.reply(200, {"object": "list", "data": [{"id": args.model, "object": "model"}]})
            else:
                self.reply(404, {"error": "not found"})

        def reply(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, fmt, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    write_info(args, extra)
    signal.signal(signal.SIGTERM, signal.SIG_IGN) if args.ignore_term else signal.signal(
        signal.SIGTERM, lambda *_: sys.exit(0))
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

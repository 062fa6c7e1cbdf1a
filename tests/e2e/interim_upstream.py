"""A small HTTP/1.1 engine for the gateway's protocol tests that answers the way
uvicorn (under vLLM and SGLang) does where it matters: an interim
`100 Continue` for a request with `Expect: 100-continue`, on keep-alive
connections. Modes add what other servers may send:

  interim  also a `103 Early Hints` before every final answer
  switch   `101 Switching Protocols` instead of an answer
  forge    a final answer carrying the gateway's own error marker

The final answer to POST is JSON: the request body's "tag", the request's
header names and values, and the model. GET /health and /v1/models answer as
an engine would; GET /seen counts what came in (requests, how many had Expect).
Listens on 127.0.0.1 only; writes its port to --port-file."""
import argparse
import json
import os
import socketserver
import threading

SEEN = {"requests": 0, "expect": 0}
LOCK = threading.Lock()


def read_head(f):
    line = f.readline(65536)
    if not line:
        return None, None, None
    method, target, _ = line.decode("latin-1").split(" ", 2)
    headers = {}
    while True:
        h = f.readline(65536).decode("latin-1")
        if h in ("\r\n", "\n", ""):
            break
        k, _, v = h.partition(":")
        headers.setdefault(k.strip().lower(), v.strip())
    return method, target, headers


def read_body(f, headers):
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int(f.readline().split(b";")[0], 16)
            if size == 0:
                while f.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return body
            body += f.read(size)
            f.readline()
    return f.read(int(headers.get("content-length", "0")))


def answer(w, status, body, extra=b""):
    data = json.dumps(body).encode()
    w.write(b"HTTP/1.1 %d OK\r\nContent-Type: application/json\r\n%s"
            b"Content-Length: %d\r\n\r\n" % (status, extra, len(data)) + data)
    w.flush()


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        mode = self.server.mode
        while True:
            method, target, headers = read_head(self.rfile)
            if method is None:
                return
            if method == "GET":
                self.get(target)
                continue
            with LOCK:
                SEEN["requests"] += 1
                SEEN["expect"] += "expect" in headers
            if headers.get("expect", "").lower() == "100-continue":
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            body = read_body(self.rfile, headers)
            if mode == "switch":
                self.wfile.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n"
                                 b"Connection: Upgrade\r\n\r\n")
                self.wfile.flush()
                return
            if mode == "interim":
                self.wfile.write(b"HTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n")
                self.wfile.flush()
            try:
                tag = json.loads(body).get("tag")
            except ValueError:
                tag = None
            extra = b"X-Carve-Gateway-Error: 1\r\n" if mode == "forge" else b""
            answer(self.wfile, 200, {"tag": tag, "model": "m1", "headers": headers}, extra)

    def get(self, target):
        if target == "/seen":
            with LOCK:
                return answer(self.wfile, 200, dict(SEEN))
        if target == "/v1/models":
            return answer(self.wfile, 200, {"object": "list", "data": [
                {"id": "m1", "object": "model", "created": 0, "owned_by": "test"}]})
        return answer(self.wfile, 200, {"status": "ok"})


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--mode", default="interim", choices=["interim", "switch", "forge", "plain"])
    args = p.parse_args()
    server = Server(("127.0.0.1", 0), Handler)
    server.mode = args.mode
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()

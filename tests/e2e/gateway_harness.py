"""Real processes for the gateway's end-to-end tests: echo engines, a gateway,
curl. Every wait polls a condition with a bound; nothing sleeps to synchronise.
All traffic stays on 127.0.0.1."""
import http.client
import json
import os
import signal
import subprocess
import time

CARVE = os.environ.get("CARVE_BIN", "carve")


def wait_for(cond, timeout=10.0, what="condition", interval=0.01):
    """Polls cond() until it returns a truthy value; fails after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def read_port(path, proc, what):
    def ready():
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited with {proc.returncode}: {proc.stderr_text()}")
        try:
            text = open(path).read().strip()
        except FileNotFoundError:
            return None
        return int(text) if text else None
    return wait_for(ready, what=f"{what} port file")


def get(port, path, headers=None, timeout=5.0):
    """(status, headers dict lower-case, body bytes) of a GET."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def post(port, path, body, headers=None, timeout=10.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        conn.request("POST", path, body=data, headers=h)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def alive(port, path):
    try:
        return get(port, path, timeout=1.0)[0] == 200
    except OSError:
        return False


class Proc:
    def __init__(self, args, workdir, name, env=None):
        self.name = name
        self.err_path = os.path.join(workdir, f"{name}.err")
        self.out_path = os.path.join(workdir, f"{name}.out")
        e = dict(os.environ)
        e.update(env or {})
        self.proc = subprocess.Popen(args, stdout=open(self.out_path, "wb"),
                                     stderr=open(self.err_path, "wb"), env=e, cwd=workdir)

    def poll(self):
        return self.proc.poll()

    @property
    def pid(self):
        return self.proc.pid

    @property
    def returncode(self):
        return self.proc.returncode

    def stderr_text(self):
        try:
            return open(self.err_path).read()[-2000:]
        except OSError:
            return ""

    def signal(self, sig):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Engine(Proc):
    """`carve engine echo` on a free port, ready when /v1/models lists its models."""

    def __init__(self, workdir, name, models=("m1",), port=0, device=None, extra=()):
        port_file = os.path.join(workdir, f"{name}.port")
        if os.path.exists(port_file):
            os.remove(port_file)
        args = [CARVE, "engine", "echo", "--port", str(port), "--port-file", port_file]
        for m in models:
            args += ["--model", m]
        args += list(extra)
        env = {"CUDA_VISIBLE_DEVICES": device} if device else {}
        super().__init__(args, workdir, name, env)
        self.port = read_port(port_file, self, name)
        self.url = f"http://127.0.0.1:{self.port}"
        wait_for(lambda: alive(self.port, "/health"), what=f"{name} /health")

    def requests(self):
        return json.loads(get(self.port, "/echo/requests")[2])["requests"]

    def request(self, request_id):
        for r in self.requests():
            if r["id"] == request_id:
                return r
        return None


class Gateway(Proc):
    """`carve gateway` with `config` (a dict, written as JSON, which is YAML)."""

    def __init__(self, workdir, config, name="gateway", ready=True):
        self.config_path = os.path.join(workdir, f"{name}.yaml")
        config = dict(config)
        config.setdefault("listen", "127.0.0.1:0")
        config.setdefault("threads", 2)
        config.setdefault("health", {"interval_ms": 200, "timeout_ms": 500})
        config.setdefault("access_log", os.path.join(workdir, f"{name}.access.log"))
        self.write_config(config)
        port_file = os.path.join(workdir, f"{name}.port")
        super().__init__([CARVE, "gateway", "--config", self.config_path, "--port-file", port_file],
                         workdir, name)
        self.port = read_port(port_file, self, name)
        if ready:
            wait_for(lambda: alive(self.port, "/ready"), what="gateway /ready")

    def write_config(self, config):
        self.config = config
        tmp = self.config_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(config, f)
        os.replace(tmp, self.config_path)


def curl(port, path, *args, data=None, headers=()):
    """Runs curl; returns (status, headers dict lower-case, body bytes)."""
    cmd = ["curl", "-sS", "-i", "--max-time", "20", f"http://127.0.0.1:{port}{path}"]
    for h in headers:
        cmd += ["-H", h]
    if data is not None:
        cmd += ["-H", "Content-Type: application/json", "--data-binary",
                data if isinstance(data, str) else json.dumps(data)]
    cmd += list(args)
    out = subprocess.run(cmd, capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    raw = out.stdout
    # Skip interim 100 Continue answers.
    while raw.startswith(b"HTTP/1.1 100"):
        raw = raw.split(b"\r\n\r\n", 1)[1]
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, body


def chat(model="m1", stream=False, text="alpha beta gamma", **extra):
    body = {"model": model, "messages": [{"role": "user", "content": text}]}
    if stream:
        body["stream"] = True
    body.update(extra)
    return body

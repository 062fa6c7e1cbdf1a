"""The gateway against hostile or unusual HTTP (issue #12): interim answers,
Expect, authentication before the body, trailers, hop-by-hop fields, malformed
and smuggling-shaped requests, absolute-form targets, the drain. Each case
asserts the status the gateway gives and that good traffic keeps flowing after
it. The engines are real processes: carve's echo engine, or a small upstream
written here that behaves as uvicorn does (vLLM and SGLang run on uvicorn).
All traffic stays on 127.0.0.1; every wait polls a condition with a bound."""
import hashlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading

import pytest

from gateway_harness import Engine, Gateway, Proc, chat, curl, get, post, read_port, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
UPSTREAM = os.path.join(HERE, "interim_upstream.py")
KEY = "sk-protocol-test"


def model(url, name="m1"):
    return {"name": name, "replicas": [{"url": url}]}


class Upstream(Proc):
    """interim_upstream.py: answers every request with interim answers first."""

    def __init__(self, workdir, name="up", mode="interim"):
        port_file = os.path.join(workdir, f"{name}.port")
        super().__init__([sys.executable, UPSTREAM, "--port-file", port_file, "--mode", mode],
                         workdir, name)
        self.port = read_port(port_file, self, name)
        self.url = f"http://127.0.0.1:{self.port}"

    def seen(self):
        return json.loads(get(self.port, "/seen")[2])


def raw(port, data, timeout=5.0):
    """Sends `data` on a fresh connection and returns all it gets back until
    the gateway closes (or `timeout` passes with nothing more)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


def status_of(answer):
    assert answer.startswith(b"HTTP/1."), answer[:200]
    return int(answer.split(b" ", 2)[1])


def error_code(answer):
    body = answer.split(b"\r\n\r\n", 1)[1]
    return json.loads(body)["error"]["code"]


def still_serves(gw):
    status, _, body = post(gw.port, "/v1/chat/completions", chat())
    assert status == 200, body


def errors_counted(gw, code):
    text = get(gw.port, "/metrics")[2].decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith("carve_gateway_errors_total{") and f'code="{code}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.fixture
def echo(tmp_path, procs):
    engine = Engine(str(tmp_path), "e1")
    procs.append(engine)
    gw = Gateway(str(tmp_path), {"models": [model(engine.url)]})
    procs.append(gw)
    return engine, gw


def test_interim_answers_never_hand_a_response_to_another_client(tmp_path, procs):
    """#12.1: an engine's 100/103 before its answer, on pooled connections,
    under concurrent clients some of which send Expect: every client gets the
    answer to its own request, every time."""
    up = Upstream(str(tmp_path))
    procs.append(up)
    gw = Gateway(str(tmp_path), {"models": [model(up.url)]})
    procs.append(gw)
    mismatches, failures = [], []

    def client(n):
        conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=10)
        for i in range(60):
            tag = f"c{n}-r{i}"
            headers = {"Content-Type": "application/json"}
            if i % 2:
                headers["Expect"] = "100-continue"
            try:
                conn.request("POST", "/v1/completions",
                             body=json.dumps({"model": "m1", "tag": tag}), headers=headers)
                r = conn.getresponse()
                body = r.read()
            except (OSError, http.client.HTTPException) as e:
                failures.append(f"{tag}: {e}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=10)
                continue
            if r.status != 200 or json.loads(body).get("tag") != tag:
                mismatches.append((tag, r.status, body[:200]))
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not mismatches, mismatches[:5]
    assert not failures, failures[:5]
    seen = up.seen()
    assert seen["requests"] >= 360
    assert seen["expect"] == 0  # Expect never left the gateway


def test_expect_100_continue_is_answered_by_the_gateway(echo):
    engine, gw = echo
    body = json.dumps(chat()).encode()
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
    try:
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: g\r\nExpect: 100-continue\r\n"
                  b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
        interim = s.recv(4096)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), interim
        s.sendall(body)
        final = b""
        while b"\r\n\r\n" not in final:
            final += s.recv(65536)
        assert status_of(final) == 200
    finally:
        s.close()
    still_serves(gw)


def test_a_101_from_an_engine_is_a_502_and_never_relayed(tmp_path, procs):
    up = Upstream(str(tmp_path), mode="switch")
    procs.append(up)
    gw = Gateway(str(tmp_path), {"models": [model(up.url)], "retries": 0})
    procs.append(gw)
    status, headers, body = post(gw.port, "/v1/completions", {"model": "m1", "tag": "x"})
    assert status == 502, body
    assert json.loads(body)["error"]["code"] == "bad_upstream_response"
    assert "101" in json.loads(body)["error"]["message"]


@pytest.fixture
def keyed(tmp_path, procs):
    engine = Engine(str(tmp_path), "e1")
    procs.append(engine)
    sha = hashlib.sha256(KEY.encode()).hexdigest()
    gw = Gateway(str(tmp_path), {"models": [model(engine.url)],
                                 "keys": [{"name": "t", "sha256": sha, "models": ["*"]}]})
    procs.append(gw)
    return engine, gw


def test_a_request_without_a_key_is_refused_before_its_body_is_read(keyed):
    """#12.2: the 401 comes back for the head alone; the 30 MB the head
    announces is never sent, never waited for, never buffered."""
    engine, gw = keyed
    answer = raw(gw.port, b"POST /v1/chat/completions HTTP/1.1\r\nHost: g\r\n"
                          b"Content-Type: application/json\r\nContent-Length: 30000000\r\n\r\n")
    assert status_of(answer) == 401
    assert b"Connection: close" in answer or b"connection: close" in answer.lower()
    # A client that waits for 100-continue without a key gets the 401 instead.
    answer = raw(gw.port, b"POST /v1/chat/completions HTTP/1.1\r\nHost: g\r\n"
                          b"Expect: 100-continue\r\nContent-Length: 1000\r\n\r\n")
    assert status_of(answer) == 401
    assert b"100 Continue" not in answer
    status, _, body = post(gw.port, "/v1/chat/completions", chat(),
                           headers={"Authorization": f"Bearer {KEY}"})
    assert status == 200, body


def chunked_request(trailer, key_in_head=None):
    head = b"POST /v1/completions HTTP/1.1\r\nHost: g\r\nContent-Type: application/json\r\n"
    if key_in_head:
        head += b"Authorization: Bearer " + key_in_head.encode() + b"\r\n"
    body = json.dumps({"model": "m1", "tag": "trailer"}).encode()
    return (head + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
            b"%x\r\n" % len(body) + body + b"\r\n0\r\n" + trailer + b"\r\n")


def test_trailer_fields_never_authenticate_and_never_reach_the_engine(tmp_path, procs):
    """#12.8 (RFC 9110 6.5.1)."""
    up = Upstream(str(tmp_path), mode="plain")
    procs.append(up)
    sha = hashlib.sha256(KEY.encode()).hexdigest()
    gw = Gateway(str(tmp_path), {"models": [model(up.url)],
                                 "keys": [{"name": "t", "sha256": sha, "models": ["*"]}]})
    procs.append(gw)
    answer = raw(gw.port, chunked_request(b"Authorization: Bearer " + KEY.encode() + b"\r\n"))
    assert status_of(answer) == 401
    answer = raw(gw.port, chunked_request(b"X-Sneaky: 1\r\n", key_in_head=KEY))
    assert status_of(answer) == 200, answer[:300]
    seen = json.loads(answer.split(b"\r\n\r\n", 1)[1])["headers"]
    assert "x-sneaky" not in seen and "trailer" not in seen


def test_hop_by_hop_fields_stay_on_their_hop(tmp_path, procs):
    """#12.12: fields named by Connection and Proxy-Authorization are not
    forwarded; an engine cannot forge the gateway's error marker."""
    up = Upstream(str(tmp_path), mode="forge")
    procs.append(up)
    gw = Gateway(str(tmp_path), {"models": [model(up.url)]})
    procs.append(gw)
    status, headers, body = post(
        gw.port, "/v1/completions", {"model": "m1", "tag": "hop"},
        headers={"X-Hop": "1", "Connection": "X-Hop", "Proxy-Authorization": "Basic eA==",
                 "X-Kept": "2"})
    assert status == 200, body
    got = {k.lower() for k in json.loads(body)["headers"]}
    assert "x-kept" in got
    assert "x-hop" not in got and "proxy-authorization" not in got
    assert "x-carve-gateway-error" not in headers  # the engine's forgery is dropped


MALFORMED = {
    "content-length and chunked": b"POST /v1/chat/completions HTTP/1.1\r\nHost: g\r\n"
                                  b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  b"0\r\n\r\n",
    "two content-lengths": b"POST /v1/chat/completions HTTP/1.1\r\nHost: g\r\n"
                           b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    "bad chunk": b"POST /v1/chat/completions HTTP/1.1\r\nHost: g\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    "no host": b"GET /v1/models HTTP/1.1\r\n\r\n",
    "two hosts": b"GET /v1/models HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "bad request line": b"GET /v1/models HTTP/9\r\nHost: g\r\n\r\n",
    "bad field": b"GET /v1/models HTTP/1.1\r\nHost: g\r\nBad Field: x\r\n\r\n",
    "dot-segments": b"POST /v1/../../admin/reset HTTP/1.1\r\nHost: g\r\nContent-Length: 2\r\n\r\n{}",
    "encoded dot-segments": b"POST /v1/%2e%2e/admin HTTP/1.1\r\nHost: g\r\nContent-Length: 2\r\n\r\n{}",
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_requests_get_a_400_that_is_counted_and_logged(echo, case):
    """#12.13: answered 400 (RFC 9112), counted in /metrics, written to the
    access log; the connection closes and good traffic goes on."""
    engine, gw = echo
    before = errors_counted(gw, "bad_request")
    answer = raw(gw.port, MALFORMED[case])
    assert status_of(answer) == 400, answer[:300]
    assert error_code(answer) == "bad_request"
    assert errors_counted(gw, "bad_request") == before + 1
    log = os.path.join(os.path.dirname(gw.config_path), "gateway.access.log")
    wait_for(lambda: os.path.exists(log) and '"bad_request"' in open(log).read(),
             what="the refusal in the access log")
    assert engine.requests() == []  # none of it reached the engine
    still_serves(gw)


def test_absolute_form_targets_are_served(echo):
    engine, gw = echo
    answer = raw(gw.port, b"GET http://127.0.0.1/v1/models HTTP/1.1\r\nHost: g\r\n"
                          b"Connection: close\r\n\r\n")
    assert status_of(answer) == 200, answer[:300]
    assert b'"m1"' in answer


def test_ready_says_503_through_the_drain_and_streams_past_it_end_cleanly(tmp_path, procs):
    """#12.16 and #12.20: during the drain the listener still answers, /ready
    says 503 and new model requests get gateway_draining; a stream still running
    when drain_ms runs out ends with an error event and a proper last chunk."""
    engine = Engine(str(tmp_path), "e1", extra=["--token-delay-ms", "100", "--tokens", "200"])
    procs.append(engine)
    gw = Gateway(str(tmp_path), {"models": [model(engine.url)],
                                 "timeouts": {"drain_ms": 1500}})
    procs.append(gw)
    cmd = ["curl", "-sS", "-N", "--max-time", "30", "-H", "Content-Type: application/json",
           "-H", "X-Request-Id: long-stream", "--data-binary", json.dumps(chat(stream=True)),
           f"http://127.0.0.1:{gw.port}/v1/chat/completions"]
    stream = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(lambda: engine.request("long-stream"), what="the stream to start")
    gw.signal(signal.SIGTERM)

    def ready_status():
        try:
            return get(gw.port, "/ready", timeout=1.0)
        except OSError:
            return None
    status, _, body = wait_for(lambda: (lambda r: r if r and r[0] == 503 else None)(ready_status()),
                               what="/ready to say 503")
    assert json.loads(body)["draining"] is True
    status, headers, body = post(gw.port, "/v1/chat/completions", chat())
    assert status == 503 and json.loads(body)["error"]["code"] == "gateway_draining"
    assert headers.get("retry-after")
    out, err = stream.communicate(timeout=30)
    assert stream.returncode == 0, err  # curl saw a complete chunked body
    assert b'"code":"upstream_disconnected"' in out
    assert b"data: [DONE]" not in out  # cut, and said so
    assert gw.proc.wait(timeout=10) == 0


def test_an_unknown_model_is_echoed_clipped(echo):
    """#12.10: a 1 MB model name gave a 1 MB answer and log line."""
    engine, gw = echo
    status, _, body = post(gw.port, "/v1/chat/completions", chat(model="x" * 1_000_000))
    assert status == 404 and len(body) < 1000
    log = os.path.join(os.path.dirname(gw.config_path), "gateway.access.log")
    wait_for(lambda: os.path.exists(log) and "model_not_found" in open(log).read(),
             what="the 404 in the access log")
    assert max(len(line) for line in open(log)) < 2000

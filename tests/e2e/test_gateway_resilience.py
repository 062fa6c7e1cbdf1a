"""The gateway when things go wrong: clients that leave, engines that die,
reloads and shutdowns with streams in flight."""
import http.client
import json
import os
import re
import signal
import socket
import threading
import time

from gateway_harness import Engine, Gateway, chat, curl, get, post, wait_for

CANCEL_BOUND_NS = 100_000_000  # the bound: upstream closed within 100 ms


def one_model(engines, model="m1"):
    return {"name": model, "replicas": [{"url": e.url, "gpu": "0", "slice": f"s{i}"}
                                        for i, e in enumerate(engines)]}


def raw_request(port, body, request_id):
    """A client socket with a request sent and nothing read yet."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    data = json.dumps(body).encode()
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/json\r\nX-Request-Id: " + request_id.encode() +
              b"\r\nContent-Length: " + str(len(data)).encode() + b"\r\n\r\n" + data)
    return s


def closed_within_bound(engine, request_id, t0):
    entry = wait_for(lambda: (lambda r: r if r and r["outcome"] != "in_progress" else None)(
        engine.request(request_id)), timeout=5, what=f"{request_id} to end at the engine")
    assert entry["outcome"] == "client_closed", entry
    took = entry["end_ns"] - t0
    assert took < CANCEL_BOUND_NS, f"upstream closed {took / 1e6:.1f} ms after the client left"


def test_client_leaving_mid_stream_closes_upstream_within_100ms(tmp_path, procs):
    engine = Engine(str(tmp_path), "e1", extra=["--token-delay-ms", "50", "--tokens", "1000"])
    procs.append(engine)
    gw = Gateway(str(tmp_path), {"models": [one_model([engine])]})
    procs.append(gw)
    s = raw_request(gw.port, chat(stream=True), "cancel-stream")
    got = b""
    while b"data: " not in got:
        chunk = s.recv(4096)
        assert chunk, "stream ended early"
        got += chunk
    t0 = time.monotonic_ns()
    s.close()
    closed_within_bound(engine, "cancel-stream", t0)


def test_client_leaving_mid_request_closes_upstream_within_100ms(tmp_path, procs):
    engine = Engine(str(tmp_path), "e1", extra=["--first-token-ms", "10000"])
    procs.append(engine)
    gw = Gateway(str(tmp_path), {"models": [one_model([engine])]})
    procs.append(gw)
    s = raw_request(gw.port, chat(), "cancel-request")
    wait_for(lambda: engine.request("cancel-request"), what="the request at the engine")
    t0 = time.monotonic_ns()
    s.close()
    closed_within_bound(engine, "cancel-request", t0)


def read_stream(port, request_id, out):
    """Reads a whole stream; stores its body, or the exception it raised."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/v1/chat/completions", body=json.dumps(chat(stream=True)),
                     headers={"Content-Type": "application/json", "X-Request-Id": request_id})
        r = conn.getresponse()
        out[request_id] = (r.status, r.read())
    except Exception as e:  # recorded: the test asserts there is none
        out[request_id] = (0, repr(e).encode())
    finally:
        conn.close()


def test_failover_when_a_replica_dies_under_load(tmp_path, procs):
    flags = ["--token-delay-ms", "20", "--tokens", "150"]
    a = Engine(str(tmp_path), "a", extra=flags)
    b = Engine(str(tmp_path), "b", extra=flags)
    procs += [a, b]
    gw = Gateway(str(tmp_path), {"models": [one_model([a, b])], "retries": 2})
    procs.append(gw)
    streams = {}
    stream_threads = [threading.Thread(target=read_stream, args=(gw.port, f"s{i}", streams))
                      for i in range(4)]
    for t in stream_threads:
        t.start()
    wait_for(lambda: all(a.request(f"s{i}") or b.request(f"s{i}") for i in range(4)),
             what="all streams to start")
    on_a = {f"s{i}" for i in range(4) if a.request(f"s{i}")}
    assert on_a and len(on_a) < 4, "least-outstanding should spread 4 streams over 2 replicas"

    statuses, stop = [], threading.Event()
    def load():
        while not stop.is_set():
            try:
                statuses.append(post(gw.port, "/v1/chat/completions", chat(max_tokens=3))[0])
            except OSError as e:
                statuses.append(repr(e))
    workers = [threading.Thread(target=load) for _ in range(4)]
    for w in workers:
        w.start()
    wait_for(lambda: len(statuses) >= 20, what="load before the kill")
    a.proc.kill()
    a.proc.wait()
    killed_at = len(statuses)
    wait_for(lambda: len(statuses) >= killed_at + 40, what="load after the kill")
    stop.set()
    for w in workers:
        w.join(timeout=20)
    for t in stream_threads:
        t.join(timeout=30)
    assert statuses and all(s == 200 for s in statuses), [s for s in statuses if s != 200][:5]
    for rid, (status, body) in streams.items():
        assert status == 200, body
        if rid in on_a:  # cut short, but with a clean SSE error event and a clean end
            last = body.rstrip(b"\n").split(b"\n\n")[-1]
            assert last.startswith(b"data: {\"error\""), body[-300:]
            assert json.loads(last[6:])["error"]["code"] == "upstream_disconnected"
        else:
            assert body.endswith(b"data: [DONE]\n\n"), body[-200:]


def test_probes_bring_a_replica_back(tmp_path, procs):
    engine = Engine(str(tmp_path), "e1")
    procs.append(engine)
    port = engine.port
    gw = Gateway(str(tmp_path), {"models": [one_model([engine])], "timeouts": {"hold_ms": 200}})
    procs.append(gw)
    engine.stop()
    assert curl(gw.port, "/v1/chat/completions", data=chat())[0] == 503
    wait_for(lambda: get(gw.port, "/ready")[0] == 503, what="/ready 503")
    again = Engine(str(tmp_path), "e1-again", port=port)
    procs.append(again)
    wait_for(lambda: get(gw.port, "/ready")[0] == 200, timeout=5, what="the probe to bring it back")
    assert curl(gw.port, "/v1/chat/completions", data=chat())[0] == 200


def queued(port, model="m1"):
    text = get(port, "/metrics")[2].decode()
    m = re.search(r'^carve_gateway_queue_depth\{model="%s"\} (\d+)$' % model, text, re.M)
    return int(m.group(1)) if m else 0


def test_a_model_with_no_ready_replica_holds_requests_until_one_is(tmp_path, procs):
    engine = Engine(str(tmp_path), "e1")
    procs.append(engine)
    port = engine.port
    gw = Gateway(str(tmp_path), {"models": [one_model([engine])],
                                 "timeouts": {"hold_ms": 60000}})
    procs.append(gw)
    engine.stop()
    wait_for(lambda: get(gw.port, "/ready")[0] == 503, what="/ready 503")
    # Nothing is ready: the request waits in the queue instead of failing.
    got = {}
    t = threading.Thread(target=lambda: got.update(
        r=curl(gw.port, "/v1/chat/completions", data=chat())))
    t.start()
    try:
        wait_for(lambda: queued(gw.port) == 1, what="the request to wait in the queue")
        assert not got
        again = Engine(str(tmp_path), "e1-again", port=port)
        procs.append(again)
    finally:
        t.join(timeout=30)
    status, _, body = got["r"]
    assert status == 200, body  # the client saw only a slower answer
    assert queued(gw.port) == 0


def test_a_hold_that_runs_out_is_a_503_with_retry_after(tmp_path, procs):
    engine = Engine(str(tmp_path), "e1")
    procs.append(engine)
    gw = Gateway(str(tmp_path), {"models": [one_model([engine])], "timeouts": {"hold_ms": 300}})
    procs.append(gw)
    engine.stop()
    wait_for(lambda: get(gw.port, "/ready")[0] == 503, what="/ready 503")
    status, hdrs, body = curl(gw.port, "/v1/chat/completions", data=chat())
    assert status == 503 and hdrs["retry-after"] == "2", body
    err = json.loads(body)["error"]
    assert err["code"] == "upstream_unavailable" and "ready within 300 ms" in err["message"]
    # hold_ms: 0 refuses at once, as a gateway without the hold did.
    gw.write_config(dict(gw.config, timeouts={"hold_ms": 0}))
    gw.signal(signal.SIGHUP)
    wait_for(lambda: "ready within" not in json.loads(
        curl(gw.port, "/v1/chat/completions", data=chat())[2])["error"]["message"],
        what="the reload to take hold_ms: 0")


def test_sighup_reload_keeps_streams_and_adds_models(tmp_path, procs):
    engine = Engine(str(tmp_path), "e1", models=["m1", "m2"],
                    extra=["--token-delay-ms", "10", "--tokens", "100"])
    procs.append(engine)
    gw = Gateway(str(tmp_path), {"models": [one_model([engine])]})
    procs.append(gw)
    streams = {}
    t = threading.Thread(target=read_stream, args=(gw.port, "during-reload", streams))
    t.start()
    wait_for(lambda: engine.request("during-reload"), what="the stream to start")
    config = dict(gw.config)
    config["models"] = [one_model([engine]), one_model([engine], "m2")]
    gw.write_config(config)
    gw.signal(signal.SIGHUP)
    ids = lambda: [c["id"] for c in json.loads(get(gw.port, "/v1/models")[2])["data"]]
    wait_for(lambda: ids() == ["m1", "m2"], what="m2 after the reload")
    # A broken file is refused and the running config stays.
    with open(gw.config_path, "w") as f:
        f.write("models: [\n")
    gw.signal(signal.SIGHUP)
    wait_for(lambda: "reload of" in gw.stderr_text(), what="the refused reload to be logged")
    assert ids() == ["m1", "m2"]
    t.join(timeout=20)
    status, body = streams["during-reload"]
    direct = curl(engine.port, "/v1/chat/completions", data=chat(stream=True))[2]
    assert status == 200 and body == direct


def test_sigterm_drains_streams_then_exits(tmp_path, procs):
    engine = Engine(str(tmp_path), "e1", extra=["--token-delay-ms", "10", "--tokens", "100"])
    procs.append(engine)
    gw = Gateway(str(tmp_path), {"models": [one_model([engine])],
                                 "timeouts": {"drain_ms": 10000}})
    procs.append(gw)
    streams = {}
    t = threading.Thread(target=read_stream, args=(gw.port, "during-drain", streams))
    t.start()
    wait_for(lambda: engine.request("during-drain"), what="the stream to start")
    gw.signal(signal.SIGTERM)

    def draining():  # the listener answers through the drain: /ready says 503
        try:
            return get(gw.port, "/ready", timeout=1.0)[0] == 503
        except OSError:
            return False
    wait_for(draining, what="/ready to say 503 while draining")
    t.join(timeout=20)
    status, body = streams["during-drain"]
    assert status == 200 and body.endswith(b"data: [DONE]\n\n")
    assert gw.proc.wait(timeout=10) == 0


def test_silent_engine_mid_stream_gets_idle_timeout_not_total(tmp_path, procs):
    # Tokens every 300 ms pass an idle timeout of 1 s however long the stream;
    # a 3 s silence does not, and ends the stream with the error event.
    engine = Engine(str(tmp_path), "e1", extra=["--token-delay-ms", "300", "--tokens", "8"])
    slow = Engine(str(tmp_path), "e2", models=["m2"],
                  extra=["--token-delay-ms", "3000", "--tokens", "3"])
    procs += [engine, slow]
    gw = Gateway(str(tmp_path), {"models": [one_model([engine]), one_model([slow], "m2")],
                                 "timeouts": {"upstream_idle_ms": 1000}})
    procs.append(gw)
    status, _, body = post(gw.port, "/v1/chat/completions", chat(stream=True), timeout=20)
    assert status == 200 and body.endswith(b"data: [DONE]\n\n")  # 2.1 s in total: no cut
    status, _, body = post(gw.port, "/v1/chat/completions", chat("m2", stream=True), timeout=20)
    assert status == 200
    last = json.loads(body.rstrip(b"\n").split(b"\n\n")[-1][6:])
    assert last["error"]["code"] == "upstream_disconnected"
    assert "sent nothing for 1000 ms" in last["error"]["message"]
    assert get(gw.port, "/ready")[0] == 200  # slow is not dead: still in rotation

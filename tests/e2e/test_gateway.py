"""The gateway in front of real echo engines: routing, streaming, every error
case through curl, keys, limits, metrics through promtool."""
import hashlib
import json
import subprocess
import threading

import pytest

from gateway_harness import Engine, Gateway, chat, curl, get, post, wait_for

GATEWAY_HEADER = "x-carve-gateway-error"


def one_model(engine, model="m1", **extra):
    m = {"name": model, "replicas": [{"url": engine.url, "gpu": "0", "slice": "1g.10gb@0"}]}
    m.update(extra)
    return m


@pytest.fixture
def setup(tmp_path, procs):
    engine = Engine(str(tmp_path), "e1", models=["m1", "m2"], device="MIG-test-uuid-1")
    procs.append(engine)
    gw = Gateway(str(tmp_path), {"models": [one_model(engine), one_model(engine, "m2")]})
    procs.append(gw)
    return engine, gw


def assert_gateway_error(status, headers, body, want_status, want_code):
    assert status == want_status, body
    assert headers.get(GATEWAY_HEADER) == "1"
    err = json.loads(body)["error"]
    assert err["code"] == want_code
    assert isinstance(err["message"], str) and err["message"]
    assert "type" in err and "param" in err


def test_chat_is_routed_and_identical_to_the_engine(setup):
    engine, gw = setup
    direct = curl(engine.port, "/v1/chat/completions", data=chat())
    via = curl(gw.port, "/v1/chat/completions", data=chat())
    assert via[0] == 200
    assert via[2] == direct[2]
    assert json.loads(via[2])["model"] == "m1"
    assert GATEWAY_HEADER not in via[1]
    assert via[1].get("x-request-id")


def test_streaming_is_byte_exact_with_no_buffering_headers(setup):
    engine, gw = setup
    body = chat(stream=True, max_tokens=40, stream_options={"include_usage": True})
    direct = curl(engine.port, "/v1/chat/completions", "-N", data=body)
    via = curl(gw.port, "/v1/chat/completions", "-N", data=body)
    assert via[0] == 200
    assert via[2] == direct[2]
    assert via[2].endswith(b"data: [DONE]\n\n")
    assert via[1]["content-type"].startswith("text/event-stream")
    assert via[1]["cache-control"] == "no-cache"
    assert via[1]["x-accel-buffering"] == "no"


def test_models_are_aggregated_with_the_engine_card(setup):
    engine, gw = setup
    status, _, body = curl(gw.port, "/v1/models")
    assert status == 200
    cards = {c["id"]: c for c in json.loads(body)["data"]}
    assert set(cards) == {"m1", "m2"}
    # The prober fetched each engine's own card: it carries the engine's device.
    wait_for(lambda: json.loads(curl(gw.port, "/v1/models/m1")[2]).get("carve_device")
             == "MIG-test-uuid-1", what="engine card through the gateway")
    assert_gateway_error(*curl(gw.port, "/v1/models/nope"), 404, "model_not_found")


def test_missing_or_empty_model_is_400_and_never_routed(setup):
    engine, gw = setup
    before = len(engine.requests())
    for body in ({"messages": []}, {"model": "", "messages": []}, {"model": None}):
        assert_gateway_error(*curl(gw.port, "/v1/chat/completions", data=body), 400,
                             "model_required")
    assert_gateway_error(*curl(gw.port, "/v1/chat/completions", data="{not json"), 400,
                         "invalid_json")
    assert len(engine.requests()) == before


def test_unknown_model_is_404(setup):
    _, gw = setup
    assert_gateway_error(*curl(gw.port, "/v1/chat/completions", data=chat("gpt-9")), 404,
                         "model_not_found")


def test_unknown_route_and_wrong_method(setup):
    _, gw = setup
    assert_gateway_error(*curl(gw.port, "/admin"), 404, "route_not_found")
    assert_gateway_error(*curl(gw.port, "/v1/chat/completions"), 405, "method_not_allowed")


def test_multipart_audio_is_routed_by_its_form_field(setup, tmp_path):
    engine, gw = setup
    audio = tmp_path / "a.wav"
    audio.write_bytes(b"RIFF\x00\x00model\x00")
    status, headers, body = curl(gw.port, "/v1/audio/transcriptions", "-F", "model=m2",
                                 "-F", f"file=@{audio}")
    assert status == 200, body
    assert json.loads(body) == {"text": "echo"}
    assert engine.requests()[-1]["path"] == "/v1/audio/transcriptions"
    assert_gateway_error(*curl(gw.port, "/v1/audio/transcriptions", "-F", f"file=@{audio}"),
                         400, "model_required")


def test_upstream_errors_pass_verbatim(tmp_path, procs):
    engine = Engine(str(tmp_path), "e1", models=["m1"])
    procs.append(engine)
    # The gateway believes the engine serves "ghost"; the engine says it does not.
    gw = Gateway(str(tmp_path), {"models": [one_model(engine, "ghost")]})
    procs.append(gw)
    direct = curl(engine.port, "/v1/chat/completions", data=chat("ghost"))
    via = curl(gw.port, "/v1/chat/completions", data=chat("ghost"))
    assert via[0] == direct[0] == 404
    assert via[2] == direct[2]
    assert json.loads(via[2])["error"]["code"] == 404  # the engine's integer code, untouched
    assert GATEWAY_HEADER not in via[1]


def sha(key):
    return hashlib.sha256(key.encode()).hexdigest()


def test_keys_401_and_per_key_models(tmp_path, procs):
    engine = Engine(str(tmp_path), "e1", models=["m1", "m2"])
    procs.append(engine)
    keys = [{"name": "team-a", "sha256": sha("sk-a"), "models": ["m1"]},
            {"name": "admin", "sha256": sha("sk-admin"), "models": ["*"]}]
    gw = Gateway(str(tmp_path), {"models": [one_model(engine), one_model(engine, "m2")],
                                 "keys": keys})
    procs.append(gw)
    a = ("Authorization: Bearer sk-a",)
    assert_gateway_error(*curl(gw.port, "/v1/chat/completions", data=chat()), 401,
                         "invalid_api_key")
    assert_gateway_error(*curl(gw.port, "/v1/chat/completions", data=chat(),
                               headers=("Authorization: Bearer sk-wrong",)), 401,
                         "invalid_api_key")
    assert_gateway_error(*curl(gw.port, "/v1/models"), 401, "invalid_api_key")
    assert curl(gw.port, "/v1/chat/completions", data=chat(), headers=a)[0] == 200
    # A model the key may not use looks exactly like one that does not exist.
    forbidden = curl(gw.port, "/v1/chat/completions", data=chat("m2"), headers=a)
    unknown = curl(gw.port, "/v1/chat/completions", data=chat("m9"), headers=a)
    assert_gateway_error(*forbidden, 404, "model_not_found")
    assert_gateway_error(*unknown, 404, "model_not_found")
    ids = [c["id"] for c in json.loads(curl(gw.port, "/v1/models", headers=a)[2])["data"]]
    assert ids == ["m1"]
    assert_gateway_error(*curl(gw.port, "/v1/models/m2", headers=a), 404, "model_not_found")
    admin = ("x-api-key: sk-admin",)
    ids = [c["id"] for c in json.loads(curl(gw.port, "/v1/models", headers=admin)[2])["data"]]
    assert ids == ["m1", "m2"]
    # Metrics count requests by the key's name, never the key or its hash.
    metrics = curl(gw.port, "/metrics")[2].decode()
    assert 'model="m1",engine="",replica="%s",key="team-a",status="200"} 1' % engine.url in metrics
    assert "sk-a" not in metrics and sha("sk-a") not in metrics
    # Keys never reach the log, only their names.
    gw.signal(15)
    gw.proc.wait(timeout=10)
    log = open(gw.config["access_log"]).read()
    assert "sk-a" not in log and "sk-admin" not in log
    assert '"key":"team-a"' in log


def test_body_over_the_limit_is_413(tmp_path, procs):
    engine = Engine(str(tmp_path), "e1")
    procs.append(engine)
    gw = Gateway(str(tmp_path), {"models": [one_model(engine)],
                                 "limits": {"max_body_bytes": 65536}})
    procs.append(gw)
    big = tmp_path / "big.json"
    big.write_text(json.dumps(chat(text="x " * 100000)))
    refused = curl(gw.port, "/v1/chat/completions", "--data-binary", f"@{big}",
                   headers=("Content-Type: application/json",))
    assert_gateway_error(*refused, 413, "request_too_large")
    message = json.loads(refused[2])["error"]["message"]
    assert "65536 bytes" in message and "limits.max_body_bytes" in message, message
    small = chat(text="x " * 1000)
    assert curl(gw.port, "/v1/chat/completions", data=small)[0] == 200


def test_headers_over_the_limit_are_431(tmp_path, procs):
    engine = Engine(str(tmp_path), "e1")
    procs.append(engine)
    gw = Gateway(str(tmp_path), {"models": [one_model(engine)],
                                 "limits": {"max_header_bytes": 1024}})
    procs.append(gw)
    before = len(engine.requests())
    refused = curl(gw.port, "/v1/chat/completions", data=chat(),
                   headers=("X-Padding: " + "p" * 2000,))
    assert_gateway_error(*refused, 431, "headers_too_large")
    message = json.loads(refused[2])["error"]["message"]
    assert "1024 bytes" in message and "limits.max_header_bytes" in message, message
    assert len(engine.requests()) == before
    assert curl(gw.port, "/v1/chat/completions", data=chat())[0] == 200


def test_full_queue_is_429_and_no_replica_is_503_with_retry_after(tmp_path, procs):
    engine = Engine(str(tmp_path), "e1", extra=["--first-token-ms", "5000"])
    procs.append(engine)
    gw = Gateway(str(tmp_path), {"models": [one_model(engine, max_in_flight=1, max_queue=0)]})
    procs.append(gw)
    slow = threading.Thread(target=lambda: post(gw.port, "/v1/chat/completions", chat(),
                                                {"X-Request-Id": "slow-1"}, timeout=20))
    slow.start()
    wait_for(lambda: engine.request("slow-1"), what="the slow request at the engine")
    status, headers, body = curl(gw.port, "/v1/chat/completions", data=chat())
    assert_gateway_error(status, headers, body, 429, "queue_full")
    assert int(headers["retry-after"]) >= 1
    engine.stop()
    slow.join(timeout=20)
    status, headers, body = curl(gw.port, "/v1/chat/completions", data=chat())
    assert_gateway_error(status, headers, body, 503, "upstream_unavailable")
    assert int(headers["retry-after"]) >= 1
    wait_for(lambda: get(gw.port, "/ready")[0] == 503, what="/ready to report the dead replica")


def test_a_queued_request_gets_the_freed_slot(tmp_path, procs):
    engine = Engine(str(tmp_path), "e1", extra=["--first-token-ms", "300"])
    procs.append(engine)
    gw = Gateway(str(tmp_path), {"models": [one_model(engine, max_in_flight=1, max_queue=4)]})
    procs.append(gw)
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        post(gw.port, "/v1/chat/completions", chat(), timeout=20)[0])) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert results == [200, 200, 200]
    starts = sorted(r["start_ns"] for r in engine.requests())
    # One at a time: each started after the one before had its 300 ms.
    assert all(b - a >= 250e6 for a, b in zip(starts, starts[1:]))


def test_metrics_pass_promtool(setup):
    engine, gw = setup
    curl(gw.port, "/v1/chat/completions", data=chat())
    curl(gw.port, "/v1/chat/completions", data=chat(stream=True))
    curl(gw.port, "/v1/chat/completions", data=chat("nope"))
    status, headers, body = curl(gw.port, "/metrics")
    assert status == 200
    assert headers["content-type"].startswith("text/plain; version=0.0.4")
    check = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True)
    assert check.returncode == 0, check.stdout + check.stderr
    text = body.decode()
    labels = ('gpu="0",gpu_uuid="",profile="1g.10gb",placement="",mig_uuid="",model="m1",'
              'engine="",replica="%s"' % engine.url)
    assert 'carve_gateway_requests_total{%s,key="",status="200"} 2' % labels in text
    assert 'carve_gateway_errors_total{model="",key="",code="model_not_found",status="404"} 1' in text
    assert "carve_gateway_time_to_first_token_seconds_bucket" in text
    assert 'carve_gateway_upstream_healthy{%s} 1' % labels in text


def test_access_log_is_json_lines(setup):
    engine, gw = setup
    curl(gw.port, "/v1/chat/completions", data=chat(), headers=("X-Request-Id: trace-42",))
    def logged():
        try:
            lines = open(gw.config["access_log"]).read().splitlines()
        except FileNotFoundError:
            return None
        return [json.loads(l) for l in lines if '"trace-42"' in l]
    entry = wait_for(logged, what="the access log line")[0]
    assert entry["status"] == 200 and entry["model"] == "m1" and entry["replica"] == engine.url
    assert engine.request("trace-42") is not None  # the id travels to the engine

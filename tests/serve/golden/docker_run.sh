#!/bin/sh
# carve render docker: 5 replicas, one container per MIG slice, and the gateway
# on 127.0.0.1:8000. Needs Docker, the NVIDIA Container Toolkit and carve
# ($CARVE, default: carve on the PATH), which looks each slice's MIG UUID up
# when this runs: after a reboot, or after the slices were re-created, run it
# again (create the slices first: carve apply, or the boot unit). It replaces
# containers of the same names. Engines listen on 127.0.0.1:20000-20004 only.
set -eu

CARVE=${CARVE:-carve}

# The MIG UUID of each slice now (GPU:PROFILE@START).
uuid_0=$("$CARVE" gpus --uuid 0:3g.40gb@0)  # qwen3-4b/0
uuid_1=$("$CARVE" gpus --uuid 0:3g.40gb@4)  # qwen3-4b/1
uuid_2=$("$CARVE" gpus --uuid 1:1g.10gb@6)  # resnet50/0

# qwen3-4b (vllm) on GPU 0:3g.40gb@0
docker rm -f carve-qwen3-4b-0 >/dev/null 2>&1 || true
docker run -d --name carve-qwen3-4b-0 --restart unless-stopped \
  --gpus "device=${uuid_0}" -p 127.0.0.1:20000:8000 \
  --ipc=host -v "${HF_HOME:-$HOME/.cache/huggingface}:/root/.cache/huggingface" -e HF_TOKEN \
  --health-cmd 'python3 -c "import sys, urllib.request as u; u.urlopen(sys.argv[1], timeout=5)" http://127.0.0.1:8000/health' --health-interval 5s --health-retries 3 --health-start-period 900s \
  vllm/vllm-openai:v0.10.2 \
  Qwen/Qwen3-4B --host 0.0.0.0 --port 8000 --served-model-name qwen3-4b --gpu-memory-utilization 0.9 --max-model-len 8192

# qwen3-4b (vllm) on GPU 0:3g.40gb@4
docker rm -f carve-qwen3-4b-1 >/dev/null 2>&1 || true
docker run -d --name carve-qwen3-4b-1 --restart unless-stopped \
  --gpus "device=${uuid_1}" -p 127.0.0.1:20002:8000 \
  --ipc=host -v "${HF_HOME:-$HOME/.cache/huggingface}:/root/.cache/huggingface" -e HF_TOKEN \
  --health-cmd 'python3 -c "import sys, urllib.request as u; u.urlopen(sys.argv[1], timeout=5)" http://127.0.0.1:8000/health' --health-interval 5s --health-retries 3 --health-start-period 900s \
  vllm/vllm-openai:v0.10.2 \
  Qwen/Qwen3-4B --host 0.0.0.0 --port 8000 --served-model-name qwen3-4b --gpu-memory-utilization 0.9 --max-model-len 8192

# phi-4-mini (llama.cpp) on MIG-c0e3aaaa-3333-5000-8000-000000000003
docker rm -f carve-phi-4-mini-0 >/dev/null 2>&1 || true
docker run -d --name carve-phi-4-mini-0 --restart unless-stopped \
  --gpus device=MIG-c0e3aaaa-3333-5000-8000-000000000003 -p 127.0.0.1:20001:8000 \
  --health-cmd 'curl -fsS http://127.0.0.1:8000/health' --health-interval 5s --health-retries 3 --health-start-period 600s \
  -v /srv/models:/models:ro \
  ghcr.io/ggml-org/llama.cpp:server-cuda \
  --model /models/phi-4-mini-q4_k_m.gguf --host 0.0.0.0 --port 8000 --alias phi-4-mini --n-gpu-layers 999 -ngl 99

# llama-3.1-8b (sglang) on MIG-d00dbbbb-4444-5000-8000-000000000004
docker rm -f carve-llama-3.1-8b-0 >/dev/null 2>&1 || true
docker run -d --name carve-llama-3.1-8b-0 --restart unless-stopped \
  --gpus device=MIG-d00dbbbb-4444-5000-8000-000000000004 -p 127.0.0.1:20003:8000 \
  --ipc=host -v "${HF_HOME:-$HOME/.cache/huggingface}:/root/.cache/huggingface" -e HF_TOKEN \
  -e 'SGLANG_LOG=it'\''s verbose' \
  --health-cmd 'python3 -c "import sys, urllib.request as u; u.urlopen(sys.argv[1], timeout=5)" http://127.0.0.1:8000/health' --health-interval 5s --health-retries 3 --health-start-period 900s \
  lmsysorg/sglang:latest \
  python3 -m sglang.launch_server --model-path meta-llama/Llama-3.1-8B-Instruct --host 0.0.0.0 --port 8000 --served-model-name llama-3.1-8b --mem-fraction-static 0.8

# resnet50 (command) on GPU 1:1g.10gb@6
docker rm -f carve-resnet50-0 >/dev/null 2>&1 || true
docker run -d --name carve-resnet50-0 --restart unless-stopped \
  --gpus "device=${uuid_2}" -p 127.0.0.1:20004:8000 \
  --health-cmd 'curl -fsS http://127.0.0.1:8000/health' --health-interval 5s --health-retries 3 --health-start-period 600s \
  registry.example.com/resnet-server:1.2 \
  ./serve.sh --port 8000 --device "${uuid_2}"

# The gateway: one OpenAI-compatible endpoint for every model (docs/gateway.md).
gateway_config='listen: 127.0.0.1:8000
models:
  - name: qwen3-4b
    replicas: [http://127.0.0.1:20000]
'
docker rm -f carve-gateway >/dev/null 2>&1 || true
docker run -d --name carve-gateway --restart unless-stopped --network host \
  -e "CARVE_GATEWAY_CONFIG=${gateway_config}" --entrypoint sh \
  ghcr.io/carve-project/carve:test \
  -c 'printf "%s\n" "$CARVE_GATEWAY_CONFIG" > /tmp/gateway.yaml && exec carve gateway --config /tmp/gateway.yaml'

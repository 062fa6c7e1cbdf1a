#!/bin/sh
# carve render docker: 5 replicas, one container per MIG slice.
# Needs Docker and the NVIDIA Container Toolkit; ports listen on 127.0.0.1 only.
set -e

# qwen3-4b (vllm) on MIG-8d1f0c2e-1111-5000-8000-000000000001
docker run -d --name carve-qwen3-4b-0 --restart unless-stopped \
  --gpus device=MIG-8d1f0c2e-1111-5000-8000-000000000001 -p 127.0.0.1:20000:8000 \
  --ipc=host -v "${HF_HOME:-$HOME/.cache/huggingface}:/root/.cache/huggingface" -e HF_TOKEN \
  --health-cmd 'python3 -c "import sys, urllib.request as u; u.urlopen(sys.argv[1], timeout=5)" http://127.0.0.1:8000/health' --health-interval 5s --health-retries 3 --health-start-period 900s \
  vllm/vllm-openai:latest \
  --model Qwen/Qwen3-4B --host 0.0.0.0 --port 8000 --served-model-name qwen3-4b --gpu-memory-utilization 0.9 --max-model-len 8192

# qwen3-4b (vllm) on MIG-2a77c0de-2222-5000-8000-000000000002
docker run -d --name carve-qwen3-4b-1 --restart unless-stopped \
  --gpus device=MIG-2a77c0de-2222-5000-8000-000000000002 -p 127.0.0.1:20002:8000 \
  --ipc=host -v "${HF_HOME:-$HOME/.cache/huggingface}:/root/.cache/huggingface" -e HF_TOKEN \
  --health-cmd 'python3 -c "import sys, urllib.request as u; u.urlopen(sys.argv[1], timeout=5)" http://127.0.0.1:8000/health' --health-interval 5s --health-retries 3 --health-start-period 900s \
  vllm/vllm-openai:latest \
  --model Qwen/Qwen3-4B --host 0.0.0.0 --port 8000 --served-model-name qwen3-4b --gpu-memory-utilization 0.9 --max-model-len 8192

# phi-4-mini (llama.cpp) on MIG-c0e3aaaa-3333-5000-8000-000000000003
docker run -d --name carve-phi-4-mini-0 --restart unless-stopped \
  --gpus device=MIG-c0e3aaaa-3333-5000-8000-000000000003 -p 127.0.0.1:20001:8000 \
  --health-cmd 'curl -fsS http://127.0.0.1:8000/health' --health-interval 5s --health-retries 3 --health-start-period 600s \
  -v /srv/models:/models:ro \
  ghcr.io/ggml-org/llama.cpp:server-cuda \
  -m /models/phi-4-mini-q4_k_m.gguf --host 0.0.0.0 --port 8000 --alias phi-4-mini -ngl 99

# llama-3.1-8b (sglang) on MIG-d00dbbbb-4444-5000-8000-000000000004
docker run -d --name carve-llama-3.1-8b-0 --restart unless-stopped \
  --gpus device=MIG-d00dbbbb-4444-5000-8000-000000000004 -p 127.0.0.1:20003:8000 \
  --ipc=host -v "${HF_HOME:-$HOME/.cache/huggingface}:/root/.cache/huggingface" -e HF_TOKEN \
  -e 'SGLANG_LOG=it'\''s verbose' \
  --health-cmd 'python3 -c "import sys, urllib.request as u; u.urlopen(sys.argv[1], timeout=5)" http://127.0.0.1:8000/health' --health-interval 5s --health-retries 3 --health-start-period 900s \
  lmsysorg/sglang:latest \
  python3 -m sglang.launch_server --model-path meta-llama/Llama-3.1-8B-Instruct --host 0.0.0.0 --port 8000 --served-model-name llama-3.1-8b --mem-fraction-static 0.8

# resnet50 (command) on MIG-e11ecccc-5555-5000-8000-000000000005
docker run -d --name carve-resnet50-0 --restart unless-stopped \
  --gpus device=MIG-e11ecccc-5555-5000-8000-000000000005 -p 127.0.0.1:20004:8000 \
  --health-cmd 'curl -fsS http://127.0.0.1:8000/health' --health-interval 5s --health-retries 3 --health-start-period 600s \
  registry.example.com/resnet-server:1.2 \
  ./serve.sh --port 8000 --device MIG-e11ecccc-5555-5000-8000-000000000005

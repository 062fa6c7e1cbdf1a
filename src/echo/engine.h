// `echo`: carve's own OpenAI-compatible engine, for demos, tests and benchmarks.
//
// It answers chat completions, completions, embeddings and model listing with
// deterministic content: the same request gives the same bytes (ids are hashes
// of the request, `created` is fixed). Generated tokens repeat the words of the
// prompt. Timing is configurable (time to first token, delay per token), so a
// test can hold a request open and a benchmark can stream at a known rate.
//
// This file is the pure half: request in, reply plan out. server.cpp does
// the sockets, the waiting and the request log.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace carve::echo {

struct EchoOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;      // 0: pick a free port
  std::string port_file;  // written once listening
  std::vector<std::string> models = {"echo"};
  int tokens = 16;         // completion length when the request sets none
  int first_token_ms = 0;  // before the first token
  int token_delay_ms = 0;  // between tokens
  int startup_delay_ms =
      0;  // before it listens: a model's load time (its port is closed meanwhile)
  int embedding_dim = 16;
  int threads = 1;
  std::string device;  // CUDA_VISIBLE_DEVICES as seen at start (a MIG UUID)
  // CARVE_ACTIVITY_FILE: where to count the tokens served, so the simulator
  // can make this engine's slice busy (util/activity_file.h); "" for none.
  std::string activity_file;
  // While this file exists the engine's GPU instance has failed (the
  // simulator writes it, util/activity_file.h): /health answers 503, every
  // other request 500 with CUDA's error, and the engine exits 1 after the
  // first such answer; it refuses to start while it exists. "" for none.
  std::string fault_file;
};

// One SSE event, sent as one write after `delay_ms`.
struct EchoEvent {
  int delay_ms = 0;
  std::string data;  // "data: …\n\n"
};

struct EchoReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;  // when !stream
  int delay_ms = 0;  // when !stream: the whole generation time
  bool stream = false;
  std::vector<EchoEvent> events;  // when stream, ending with "data: [DONE]\n\n"
  std::string model;              // for the request log ("" if none)
  size_t prompt_tokens = 0;       // the work it stands for (activity_file)
  size_t completion_tokens = 0;
};

// The reply to one request. Never fails: bad requests get the engine's error
// shape (vLLM-like, with an integer code), which the gateway passes through.
EchoReply EchoRespond(const EchoOptions& o, std::string_view method, std::string_view path,
                      std::string_view body);

// What a fault file says (its first line, trimmed; "" when unreadable), or
// nullopt when there is none or it names other devices than `device` (the
// lines after the first, MIG UUIDs, when there are any): a stale file in a
// working directory its successor on a healthy slice reuses concerns not it.
// One open(2), cheap enough for every request.
std::optional<std::string> ReadFault(const std::string& fault_file, const std::string& device);

// CUDA's words for a failed device, as an engine reports them: "CUDA error:
// uncorrectable ECC error encountered (Xid 94: contained ECC error)".
std::string CudaFaultMessage(std::string_view fault);

// The model list, with each card carrying the device the engine sees.
std::string EchoModels(const EchoOptions& o);

// Runs the engine until SIGINT/SIGTERM (server.cpp).
Status RunEchoEngine(const EchoOptions& o);

}  // namespace carve::echo

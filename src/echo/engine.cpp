#include "echo/engine.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <sstream>

namespace carve::echo {
namespace {

namespace json = boost::json;
constexpr int64_t kCreated = 1735689600;  // fixed, so replies are byte-for-byte repeatable
constexpr int kMaxTokens = 100000;

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string Hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

EchoReply Json(std::string body) {
  EchoReply r;
  r.body = std::move(body);
  return r;
}

EchoReply Error(int status, std::string_view type, std::string message) {
  EchoReply r;
  r.status = status;
  json::object e{{"message", message}, {"type", type}, {"param", nullptr}, {"code", status}};
  r.body = json::serialize(json::object{{"error", std::move(e)}});
  return r;
}

std::vector<std::string> Words(std::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    size_t j = i;
    while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    if (j > i) out.emplace_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

// The text of a chat message's content: a string, or the text parts of a list.
std::string ContentText(const json::value& content) {
  if (content.is_string()) return std::string(content.as_string());
  std::string out;
  if (!content.is_array()) return out;
  for (const auto& part : content.as_array())
    if (part.is_object())
      if (auto* t = part.as_object().if_contains("text"); t && t->is_string())
        out += std::string(t->as_string()) + " ";
  return out;
}

std::string PromptText(const json::object& req, bool chat) {
  if (chat) {
    auto* msgs = req.if_contains("messages");
    if (!msgs || !msgs->is_array() || msgs->as_array().empty()) return {};
    const auto& last = msgs->as_array().back();
    auto* c = last.is_object() ? last.as_object().if_contains("content") : nullptr;
    return c ? ContentText(*c) : std::string();
  }
  auto* p = req.if_contains("prompt");
  if (!p) return {};
  if (p->is_string()) return std::string(p->as_string());
  if (p->is_array() && !p->as_array().empty() && p->as_array()[0].is_string())
    return std::string(p->as_array()[0].as_string());
  return {};
}

int RequestedTokens(const EchoOptions& o, const json::object& req) {
  for (const char* key : {"max_completion_tokens", "max_tokens"})
    if (auto* v = req.if_contains(key); v && v->is_int64())
      return static_cast<int>(std::clamp<int64_t>(v->as_int64(), 1, kMaxTokens));
  return o.tokens;
}

std::vector<std::string> Tokens(const std::string& prompt, int n) {
  auto words = Words(prompt);
  if (words.empty()) words = {"echo"};
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back((i ? " " : "") + words[i % words.size()]);
  return out;
}

std::string Sse(const json::value& v) { return "data: " + json::serialize(v) + "\n\n"; }

json::object Usage(size_t prompt, size_t completion) {
  return {{"prompt_tokens", prompt},
          {"completion_tokens", completion},
          {"total_tokens", prompt + completion}};
}

}  // namespace

namespace {

struct Generation {
  std::string id;
  std::string model;
  bool chat = true;
  std::vector<std::string> tokens;
  size_t prompt_tokens = 0;
  std::string finish = "stop";
};

json::object Head(const Generation& g, std::string_view object) {
  return {{"id", g.id}, {"object", object}, {"created", kCreated}, {"model", g.model}};
}

json::object Choice(const Generation& g, json::value content, json::value finish) {
  json::object c{{"index", 0}};
  c[g.chat ? "delta" : "text"] = std::move(content);
  c["logprobs"] = nullptr;
  c["finish_reason"] = std::move(finish);
  return c;
}

std::string Joined(const Generation& g) {
  std::string out;
  for (const auto& t : g.tokens) out += t;
  return out;
}

std::string Whole(const Generation& g) {
  json::object o = Head(g, g.chat ? "chat.completion" : "text_completion");
  json::object c{{"index", 0}};
  if (g.chat) {
    c["message"] = json::object{{"role", "assistant"}, {"content", Joined(g)}};
  } else {
    c["text"] = Joined(g);
  }
  c["logprobs"] = nullptr;
  c["finish_reason"] = g.finish;
  o["choices"] = json::array{std::move(c)};
  o["usage"] = Usage(g.prompt_tokens, g.tokens.size());
  return json::serialize(o);
}

std::vector<EchoEvent> Stream(const EchoOptions& o, const Generation& g, bool usage) {
  std::string_view object = g.chat ? "chat.completion.chunk" : "text_completion";
  std::vector<EchoEvent> events;
  for (size_t i = 0; i < g.tokens.size(); ++i) {
    json::value content(json::string(g.tokens[i]));
    if (g.chat) {
      json::object delta;
      if (i == 0) delta["role"] = "assistant";
      delta["content"] = g.tokens[i];
      content = std::move(delta);
    }
    json::object chunk = Head(g, object);
    chunk["choices"] = json::array{Choice(g, std::move(content), nullptr)};
    events.push_back({i == 0 ? o.first_token_ms : o.token_delay_ms, Sse(chunk)});
  }
  json::object last = Head(g, object);
  last["choices"] = json::array{
      Choice(g, g.chat ? json::value(json::object{}) : json::value(""), json::value(g.finish))};
  events.push_back({0, Sse(last)});
  if (usage) {
    json::object u = Head(g, object);
    u["choices"] = json::array{};
    u["usage"] = Usage(g.prompt_tokens, g.tokens.size());
    events.push_back({0, Sse(u)});
  }
  events.push_back({0, "data: [DONE]\n\n"});
  return events;
}

EchoReply Complete(const EchoOptions& o, const json::object& req, std::string_view body,
                   bool chat) {
  Generation g;
  g.chat = chat;
  g.model = std::string(req.at("model").as_string());
  g.id = (chat ? "chatcmpl-echo-" : "cmpl-echo-") + Hex(Fnv1a(body));
  std::string prompt = PromptText(req, chat);
  g.prompt_tokens = Words(prompt).size();
  int n = RequestedTokens(o, req);
  if (req.contains("max_tokens") || req.contains("max_completion_tokens")) g.finish = "length";
  g.tokens = Tokens(prompt, n);
  EchoReply r;
  r.model = g.model;
  r.prompt_tokens = g.prompt_tokens;
  r.completion_tokens = g.tokens.size();
  auto* stream = req.if_contains("stream");
  if (stream && stream->is_bool() && stream->as_bool()) {
    bool usage = false;
    if (auto* so = req.if_contains("stream_options"); so && so->is_object())
      if (auto* iu = so->as_object().if_contains("include_usage"); iu && iu->is_bool())
        usage = iu->as_bool();
    r.stream = true;
    r.content_type = "text/event-stream";
    r.events = Stream(o, g, usage);
    return r;
  }
  r.body = Whole(g);
  r.delay_ms = o.first_token_ms + std::max(0, n - 1) * o.token_delay_ms;
  return r;
}

std::vector<std::string> EmbeddingInputs(const json::value& input) {
  if (input.is_string()) return {std::string(input.as_string())};
  std::vector<std::string> out;
  if (!input.is_array()) return out;
  const auto& a = input.as_array();
  bool tokens = !a.empty() && a[0].is_number();  // one tokenized input
  if (tokens) return {json::serialize(input)};
  for (const auto& item : a)
    out.push_back(item.is_string() ? std::string(item.as_string()) : json::serialize(item));
  return out;
}

std::vector<float> Vector(std::string_view text, int dim) {
  uint64_t s = Fnv1a(text) | 1;
  std::vector<float> v(dim);
  double norm = 0;
  for (int i = 0; i < dim; ++i) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;  // xorshift64
    v[i] = static_cast<float>(static_cast<double>(s % 20001) / 10000.0 - 1.0);
    norm += v[i] * v[i];
  }
  for (auto& x : v) x = static_cast<float>(x / std::sqrt(norm > 0 ? norm : 1));
  return v;
}

std::string Base64(const std::vector<float>& v) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes(v.size() * 4, '\0');
  std::memcpy(bytes.data(), v.data(), bytes.size());  // little-endian float32, as OpenAI sends
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

EchoReply Embed(const EchoOptions& o, const json::object& req) {
  auto* input = req.if_contains("input");
  auto inputs = input ? EmbeddingInputs(*input) : std::vector<std::string>{};
  if (inputs.empty()) return Error(400, "BadRequestError", "'input' must be a string or a list");
  bool b64 = false;
  if (auto* f = req.if_contains("encoding_format"); f && f->is_string())
    b64 = f->as_string() == "base64";
  json::array data;
  size_t words = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    auto v = Vector(inputs[i], o.embedding_dim);
    words += Words(inputs[i]).size();
    json::value emb = b64 ? json::value(Base64(v)) : json::value(json::array(v.begin(), v.end()));
    data.push_back(
        json::object{{"object", "embedding"}, {"embedding", std::move(emb)}, {"index", i}});
  }
  EchoReply r;
  r.model = std::string(req.at("model").as_string());
  r.prompt_tokens = words;
  json::object o2{{"object", "list"},
                  {"data", std::move(data)},
                  {"model", r.model},
                  {"usage", json::object{{"prompt_tokens", words}, {"total_tokens", words}}}};
  r.body = json::serialize(o2);
  return r;
}

json::object Card(const EchoOptions& o, const std::string& model) {
  return {{"id", model},         {"object", "model"},
          {"created", kCreated}, {"owned_by", "carve-echo"},
          {"root", model},       {"carve_device", o.device}};
}

bool Serves(const EchoOptions& o, std::string_view model) {
  return std::find(o.models.begin(), o.models.end(), model) != o.models.end();
}

}  // namespace

std::optional<std::string> ReadFault(const std::string& fault_file, const std::string& device) {
  if (fault_file.empty()) return std::nullopt;
  int fd = ::open(fault_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? std::nullopt : std::optional<std::string>("");
  char buf[4096];
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  std::istringstream in(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0));
  std::string text, line;
  std::getline(in, text);
  bool named = false, mine = false;
  while (std::getline(in, line))
    if (!line.empty()) named = true, mine = mine || line == device;
  if (named && !mine && !device.empty()) return std::nullopt;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return text;
}

std::string CudaFaultMessage(std::string_view fault) {
  // An Xid about memory (ECC) reaches a CUDA program as an uncorrectable ECC
  // error; others (a GPU off the bus, NVLink) as a failed launch.
  std::string_view what = fault.find("ECC") != std::string_view::npos
                              ? "uncorrectable ECC error encountered"
                              : "unspecified launch failure";
  return fmt::format("CUDA error: {} ({})", what, fault.empty() ? "device failed" : fault);
}

std::string EchoModels(const EchoOptions& o) {
  json::array data;
  for (const auto& m : o.models) data.push_back(Card(o, m));
  return json::serialize(json::object{{"object", "list"}, {"data", std::move(data)}});
}

EchoReply EchoRespond(const EchoOptions& o, std::string_view method, std::string_view path,
                      std::string_view body) {
  path = path.substr(0, path.find('?'));
  if (method == "GET") {
    if (path == "/health") return Json("");  // vLLM answers with an empty body too
    if (path == "/v1/models") return Json(EchoModels(o));
    if (path.starts_with("/v1/models/") && Serves(o, path.substr(11)))
      return Json(json::serialize(Card(o, std::string(path.substr(11)))));
    return Error(404, "NotFoundError", "Not found: " + std::string(path));
  }
  if (method != "POST") return Error(405, "MethodNotAllowed", "Method not allowed");
  if (path == "/v1/audio/transcriptions") return Json(R"({"text":"echo"})");
  const bool chat = path == "/v1/chat/completions";
  if (!chat && path != "/v1/completions" && path != "/v1/embeddings")
    return Error(404, "NotFoundError", "Not found: " + std::string(path));
  json::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec || !doc.is_object()) return Error(400, "BadRequestError", "The body is not a JSON object");
  const auto& req = doc.as_object();
  auto* model = req.if_contains("model");
  if (!model || !model->is_string()) return Error(400, "BadRequestError", "'model' is required");
  if (!Serves(o, model->as_string()))
    return Error(404, "NotFoundError",
                 "The model `" + std::string(model->as_string()) + "` does not exist.");
  if (path == "/v1/embeddings") return Embed(o, req);
  return Complete(o, req, body, chat);
}

}  // namespace carve::echo

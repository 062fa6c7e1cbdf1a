// API keys: kept as SHA-256 hashes, each with an allow-list of models.
//
// The key itself never reaches a config file or a log; only its hash and the
// key's name do. A KeyRing is immutable after construction, so sessions on any
// thread read it without locks; a reload builds a new one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace carve::gateway {

struct ApiKey {
  std::string name;                 // shown in logs and metrics instead of the key
  std::string sha256;               // lower-case hex of SHA-256(key)
  std::vector<std::string> models;  // "*" allows every model
  bool admin = false;               // may see the dashboard (/ui)
  uint64_t tag = 0;                 // KeyTag(name): how metrics count it; KeyRing sets it
};

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

// The key a request presents: "Authorization: Bearer K" or, for Anthropic-style
// clients, "x-api-key: K". Empty when neither is present.
std::string_view PresentedKey(std::string_view authorization, std::string_view x_api_key);
// The password of "Authorization: Basic base64(user:password)", which is how a
// browser sends a key to the dashboard; empty when the header is not Basic or
// not valid base64.
std::string BasicPassword(std::string_view authorization);

class KeyRing {
 public:
  KeyRing() = default;
  explicit KeyRing(std::vector<ApiKey> keys);

  // False when no keys are configured: every request is let in.
  bool enabled() const { return !keys_.empty(); }
  // The key whose hash matches `presented`, or nullptr.
  const ApiKey* Find(std::string_view presented) const;
  // Whether `key` may use `model`; a null key (keys disabled) may use any.
  static bool Allows(const ApiKey* key, std::string_view model);
  const std::vector<ApiKey>& keys() const { return keys_; }

 private:
  std::vector<ApiKey> keys_;
  std::unordered_map<std::string, size_t> by_hash_;
};

}  // namespace carve::gateway

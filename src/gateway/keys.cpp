#include "gateway/keys.h"

#include <openssl/evp.h>

#include <algorithm>

#include "gateway/keyed_counts.h"

namespace carve::gateway {

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

std::string_view PresentedKey(std::string_view authorization, std::string_view x_api_key) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() > kBearer.size()) {
    std::string_view scheme = authorization.substr(0, kBearer.size());
    bool bearer = std::equal(scheme.begin(), scheme.end(), kBearer.begin(), kBearer.end(),
                             [](char a, char b) { return std::tolower(a) == std::tolower(b); });
    if (bearer) return authorization.substr(kBearer.size());
  }
  return x_api_key;
}

std::string BasicPassword(std::string_view authorization) {
  constexpr std::string_view kBasic = "Basic ";
  if (authorization.size() <= kBasic.size() || authorization.size() > 4096) return {};
  std::string_view scheme = authorization.substr(0, kBasic.size());
  if (!std::equal(scheme.begin(), scheme.end(), kBasic.begin(), kBasic.end(),
                  [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
    return {};
  std::string_view b64 = authorization.substr(kBasic.size());
  if (b64.size() % 4 != 0) return {};
  std::string out(b64.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  if (n < 0) return {};
  // EVP_DecodeBlock counts the padding as zero bytes.
  size_t pad = b64.ends_with("==") ? 2 : b64.ends_with('=') ? 1 : 0;
  out.resize(static_cast<size_t>(n) - pad);
  size_t colon = out.find(':');
  return colon == std::string::npos ? std::string() : out.substr(colon + 1);
}

KeyRing::KeyRing(std::vector<ApiKey> keys) : keys_(std::move(keys)) {
  for (size_t i = 0; i < keys_.size(); ++i) {
    keys_[i].tag = KeyTag(keys_[i].name);
    by_hash_.emplace(keys_[i].sha256, i);
  }
}

const ApiKey* KeyRing::Find(std::string_view presented) const {
  if (presented.empty()) return nullptr;
  auto it = by_hash_.find(Sha256Hex(presented));
  return it == by_hash_.end() ? nullptr : &keys_[it->second];
}

bool KeyRing::Allows(const ApiKey* key, std::string_view model) {
  if (key == nullptr) return true;
  return std::any_of(key->models.begin(), key->models.end(),
                     [&](const std::string& m) { return m == "*" || m == model; });
}

}  // namespace carve::gateway

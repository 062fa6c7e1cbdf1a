// Models by Hugging Face id (`Qwen/Qwen3-4B`) from the local Hugging Face cache,
// the way the hub's own libraries lay it out:
//   $HF_HUB_CACHE (or $HF_HOME/hub, or $XDG_CACHE_HOME/huggingface/hub, or
//   ~/.cache/huggingface/hub) / models--ORG--NAME / snapshots / REVISION /
// with refs/main naming the revision. carve reads only what is there: it
// never downloads.
#pragma once

#include <string>
#include <vector>

#include "util/status.h"

namespace carve::spec {

// "org/name" (or "name") made of the characters hub ids use. (Whether such a
// string is a path instead is the caller's question.)
bool IsHubId(const std::string& s);

// The cache folders looked in, in order (from the environment).
std::vector<std::string> HubCacheDirs();

// The snapshot folder holding `id`'s config.json: refs/main's revision, or
// the only snapshot there is. kNotFound says where it looked and what to do.
Result<std::string> FindInHubCache(const std::string& id);

}  // namespace carve::spec

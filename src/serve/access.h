// What the engine user may reach. carve runs as root and engines as an
// unprivileged user (process.h), so a path carve can open may still be out of
// an engine's reach: a private directory above the state directory, a model
// under /root. These checks ask the kernel as that user (a forked child that
// switches to it), so ACLs and groups count as they will for the engine.
#pragma once

#include <string>

#include "serve/process.h"

namespace carve::serve {

// 0 when `user` may access `path` with `mode` (R_OK, W_OK, X_OK, F_OK, or'ed),
// else the errno access(2) gave it (EACCES, ENOENT, …). Without a user switch
// carve asks for itself.
int AccessAs(const EngineUser& user, const std::string& path, int mode);

// The first directory on the way to `path` (an absolute path) that `user`
// cannot search, "" when it can reach it. For messages: the directory to fix.
std::string FirstUnsearchable(const EngineUser& user, const std::string& path);

// Creates `dir` (absolute) and its missing parents, each 0755 whatever the umask, so
// the engine user can pass through what carve makes. kIo naming the one
// that failed.
Status CreateSearchableDirs(const std::string& dir);

// "0700 root:root" for a message; "" when it cannot be read.
std::string ModeAndOwner(const std::string& path);

}  // namespace carve::serve

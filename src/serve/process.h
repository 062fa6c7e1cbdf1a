// Engine processes: who they run as, and how one is started and ended.
//
// A child is started with fork+exec, and between the two it
//   - leads its own process group (so a stop reaches every process it made),
//   - gets default signal dispositions and an empty signal mask,
//   - writes stdout and stderr to the pipe the caller gave, reads /dev/null,
//   - drops to the engine user (setgroups, setgid, setuid) when carve is root,
//   - then (a credential change clears it) asks for SIGKILL when its parent
//     thread dies (PR_SET_PDEATHSIG), and checks that the parent did not die
//     before the request took effect,
//   - enters its working directory, closes every other descriptor, and execs.
// A failure in any step comes back to Spawn as a Status naming the step.
//
// PR_SET_PDEATHSIG fires when the *thread* that forked exits, so a child must
// be spawned by a thread that lives as long as the child (the replica's own).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "serve/engine.h"
#include "util/status.h"

namespace carve::serve {

// The user engines run as.
struct EngineUser {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::string home;
  bool switch_to = false;  // carve is root and drops to this user in the child
};

// The user for `requested` ("" means the default, "carve"). When carve runs
// as root: that user from the passwd database, kNotFound when it does not
// exist, kNoPermission when it is root. When carve is not root it cannot
// switch: the engines run as carve's own user, and naming another one is
// kNoPermission.
Result<EngineUser> ResolveEngineUser(const std::string& requested);

// carve's own user, never switched to: the docker CLI runs as carve (the
// container as its image's user), since access to Docker is root's anyway.
Result<EngineUser> CarveUser();

// Who runs a replica's launch: the engine user (ResolveEngineUser) for a
// process, carve itself for `launcher: docker`.
Result<EngineUser> LaunchUser(const ReplicaSpec& spec);

// Creates `dir` (and missing parents, 0755) and gives it to `user` (0750).
Status PrepareDir(const std::string& dir, const EngineUser& user);

struct SpawnRequest {
  std::vector<std::string> argv;           // argv[0] without '/' is searched on the env's PATH
  std::map<std::string, std::string> env;  // the complete environment
  std::string cwd;
  EngineUser user;
  int output_fd = -1;  // becomes the child's stdout and stderr
};

struct Child {
  pid_t pid = -1;  // also the process group id
  int pidfd = -1;  // readable once the child exits; the caller closes it
};

// The path exec would run for `name`: itself when it holds a '/', else the
// first executable on the PATH in `env`; "" when there is none.
std::string FindProgram(const std::string& name, const std::map<std::string, std::string>& env);

// Starts the child; kNotFound when the program is not on PATH, kIo naming
// the step that failed otherwise. The child is not reaped: see Reap.
Result<Child> Spawn(const SpawnRequest& request);

// Reaps `pid` if it has exited: its wait status, or -1 while it runs.
int Reap(pid_t pid);
// "exit 1", "signal 9 (Killed)".
std::string DescribeWaitStatus(int status);

// The processes of group `pgid` that have not exited (zombies do not count),
// read from /proc.
std::vector<pid_t> LiveGroupMembers(pid_t pgid);

// True when a process of group `pgid` holds a TCP socket listening on `port`
// (from /proc/net/tcp{,6} and the members' descriptors): the engine on the
// port is ours, not a stranger serving the same model name.
bool GroupListensOn(pid_t pgid, int port);

// SIGKILLs group `pgid` and waits, at most `limit`, until no member is left:
// kill(2) returns before the kernel has finished the processes off.
void KillGroupAndWait(pid_t pgid, std::chrono::milliseconds limit);

// carve's environment with `overrides` on top, and HOME/USER/LOGNAME of `user`
// when carve switches to it.
std::map<std::string, std::string> EngineEnvironment(
    const std::map<std::string, std::string>& overrides, const EngineUser& user);

}  // namespace carve::serve

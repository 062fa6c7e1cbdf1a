// Shared by the supervisor's process tests: a temporary state directory, the
// fake engine (tests/serve/fake_engine.py) as a `command` replica, and the
// `carve` user when the tests run as root.
#pragma once

#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "serve/supervisor.h"

namespace carve::serve::testing {

namespace fs = std::filesystem;

// The user engines run as in these tests ("" when not root: carve's own).
// Creates `carve` like scripts/install-deps does when it is missing.
inline std::string EngineUserOrSkipReason(std::string& skip) {
  if (::geteuid() != 0) return "";
  if (!::getpwnam("carve") &&
      std::system("useradd --system --user-group --home-dir /var/lib/carve --create-home "
                  "--shell /usr/sbin/nologin carve >/dev/null 2>&1") != 0)
    skip = "running as root and cannot create the unprivileged `carve` user (useradd failed)";
  return "carve";
}

class FakeEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string skip;
    user_ = EngineUserOrSkipReason(skip);
    if (!skip.empty()) GTEST_SKIP() << skip;
    char tmpl[] = "/tmp/carve-serve-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ::chmod(dir_.c_str(), 0755);  // the engine user must reach its working dir
    script_ = dir_ + "/fake_engine.py";
    fs::copy_file(std::string(CARVE_SOURCE_DIR) + "/tests/serve/fake_engine.py", script_);
    ::chmod(script_.c_str(), 0644);
  }
  void TearDown() override {
    sup_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  SupervisorOptions Options() {
    SupervisorOptions o;
    o.state_dir = dir_ + "/state";
    o.ports = std::make_shared<PortAllocator>(24000, 24899);
    o.stop_grace = Millis(3000);
    o.restart.base = Millis(50);
    o.restart.max = Millis(200);
    return o;
  }
  Supervisor& Make(SupervisorOptions o) {
    sup_ = std::make_unique<Supervisor>(std::move(o));
    sup_->SetObserver([this](const ReplicaStatus& s) {
      std::lock_guard lock(seen_mu_);
      seen_.push_back(s);
    });
    return *sup_;
  }
  Supervisor& Make() { return Make(Options()); }

  // A command replica running the fake engine with `flags`.
  ReplicaSpec Fake(const std::string& id, const std::string& uuid,
                   std::vector<std::string> flags = {}) {
    ReplicaSpec s;
    s.id = id;
    s.model = id.substr(0, id.find('/'));
    s.engine = EngineKind::kCommand;
    s.command = {"/usr/bin/python3", script_, "--port", "{port}", "--model", "{model}"};
    s.command.insert(s.command.end(), flags.begin(), flags.end());
    s.uuid = uuid;
    s.user = user_;
    ProbeSpec p = DefaultProbe(EngineKind::kVllm);  // /health and /v1/models
    p.ready_interval_ms = 50;
    p.ready_timeout_ms = 20'000;
    p.live_interval_ms = 100;
    p.timeout_ms = 1000;
    s.probe = p;
    return s;
  }

  // What the engine of `status` wrote about itself.
  nlohmann::json Info(const ReplicaStatus& s) {
    std::ifstream in(s.workdir + "/engine-info.json");
    return nlohmann::json::parse(in, nullptr, false);
  }

  std::vector<ReplicaStatus> Seen() {
    std::lock_guard lock(seen_mu_);
    return seen_;
  }

  static bool IsReady(const ReplicaStatus& s) { return s.state == State::kReady; }

  std::string dir_, script_, user_;
  std::unique_ptr<Supervisor> sup_;
  std::mutex seen_mu_;
  std::vector<ReplicaStatus> seen_;
};

}  // namespace carve::serve::testing

#include "echo/engine.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

namespace carve::echo {
namespace {

EchoOptions Opts() {
  EchoOptions o;
  o.models = {"m1", "m2"};
  o.tokens = 4;
  o.first_token_ms = 30;
  o.token_delay_ms = 5;
  o.device = "MIG-1234";
  return o;
}

constexpr char kChat[] = R"({"model":"m1","messages":[{"role":"user","content":"one two"}]})";

TEST(EchoEngine, SameRequestSameBytes) {
  auto a = EchoRespond(Opts(), "POST", "/v1/chat/completions", kChat);
  auto b = EchoRespond(Opts(), "POST", "/v1/chat/completions", kChat);
  ASSERT_EQ(a.status, 200);
  EXPECT_EQ(a.body, b.body);
  auto doc = boost::json::parse(a.body).as_object();
  EXPECT_EQ(doc["object"].as_string(), "chat.completion");
  EXPECT_EQ(doc["choices"].as_array()[0].as_object()["message"].as_object()["content"].as_string(),
            "one two one two");
  EXPECT_EQ(a.delay_ms, 30 + 3 * 5);  // first token, then three more
}

TEST(EchoEngine, RepliesCarryTheTokensTheyStandFor) {
  auto chat = EchoRespond(Opts(), "POST", "/v1/chat/completions", kChat);
  EXPECT_EQ(chat.prompt_tokens, 2u);
  EXPECT_EQ(chat.completion_tokens, 4u);
  auto embed = EchoRespond(Opts(), "POST", "/v1/embeddings", R"({"model":"m1","input":"a b c"})");
  EXPECT_EQ(embed.prompt_tokens, 3u);
  EXPECT_EQ(embed.completion_tokens, 0u);
}

TEST(EchoEngine, StreamsOneEventPerTokenThenDone) {
  std::string req =
      R"({"model":"m1","stream":true,"max_tokens":3,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"a"}]})";
  auto r = EchoRespond(Opts(), "POST", "/v1/chat/completions", req);
  ASSERT_TRUE(r.stream);
  EXPECT_EQ(r.content_type, "text/event-stream");
  ASSERT_EQ(r.events.size(), 3u + 3u);  // tokens, finish, usage, [DONE]
  EXPECT_EQ(r.events[0].delay_ms, 30);
  EXPECT_EQ(r.events[1].delay_ms, 5);
  EXPECT_NE(r.events[0].data.find(R"("role":"assistant")"), std::string::npos);
  EXPECT_NE(r.events[3].data.find(R"("finish_reason":"length")"), std::string::npos);
  EXPECT_NE(r.events[4].data.find(R"("choices":[],"usage")"), std::string::npos);
  EXPECT_EQ(r.events.back().data, "data: [DONE]\n\n");
  for (const auto& e : r.events) EXPECT_TRUE(e.data.ends_with("\n\n"));
}

TEST(EchoEngine, CompletionsUseTextCompletionObject) {
  auto r = EchoRespond(Opts(), "POST", "/v1/completions",
                       R"({"model":"m2","prompt":"hi","stream":true})");
  ASSERT_TRUE(r.stream);
  EXPECT_NE(r.events[0].data.find(R"("object":"text_completion")"), std::string::npos);
  EXPECT_NE(r.events[0].data.find(R"("text":"hi")"), std::string::npos);
}

TEST(EchoEngine, EmbeddingsFloatAndBase64AreTheSameVector) {
  auto f = EchoRespond(Opts(), "POST", "/v1/embeddings", R"({"model":"m1","input":["x","y"]})");
  auto b = EchoRespond(Opts(), "POST", "/v1/embeddings",
                       R"({"model":"m1","input":["x","y"],"encoding_format":"base64"})");
  ASSERT_EQ(f.status, 200);
  auto fd = boost::json::parse(f.body).as_object()["data"].as_array();
  ASSERT_EQ(fd.size(), 2u);
  EXPECT_EQ(fd[0].as_object()["embedding"].as_array().size(), 16u);
  auto bd = boost::json::parse(b.body).as_object()["data"].as_array();
  // 16 float32 = 64 bytes = 88 base64 characters (with padding).
  EXPECT_EQ(bd[1].as_object()["embedding"].as_string().size(), 88u);
  EXPECT_NE(fd[0].as_object()["embedding"], fd[1].as_object()["embedding"]);
}

TEST(EchoEngine, ModelsCarryTheDevice) {
  auto r = EchoRespond(Opts(), "GET", "/v1/models", "");
  auto data = boost::json::parse(r.body).as_object()["data"].as_array();
  ASSERT_EQ(data.size(), 2u);
  EXPECT_EQ(data[0].as_object()["carve_device"].as_string(), "MIG-1234");
  EXPECT_EQ(EchoRespond(Opts(), "GET", "/v1/models/m2", "").status, 200);
  EXPECT_EQ(EchoRespond(Opts(), "GET", "/v1/models/m3", "").status, 404);
  EXPECT_EQ(EchoRespond(Opts(), "GET", "/health", "").status, 200);
}

TEST(EchoEngine, ErrorsUseTheEngineShapeWithIntegerCode) {
  auto r = EchoRespond(Opts(), "POST", "/v1/chat/completions", R"({"model":"nope"})");
  EXPECT_EQ(r.status, 404);
  auto err = boost::json::parse(r.body).as_object()["error"].as_object();
  EXPECT_EQ(err["code"].as_int64(), 404);
  EXPECT_EQ(EchoRespond(Opts(), "POST", "/v1/chat/completions", "{").status, 400);
  EXPECT_EQ(EchoRespond(Opts(), "POST", "/v1/chat/completions", "{}").status, 400);
}

// A failed device (the simulator's fault file): the engine dies as a CUDA
// program does (tests/e2e/test_sim_fail.py runs it), and will not start.
class EchoFault : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/echo-fault-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::create_directories(dir_);
    file_ = dir_ + "/fault";
    std::filesystem::remove(file_);
  }
  void Write(const std::string& text) { std::ofstream(file_) << text; }
  std::string dir_, file_;
};

TEST_F(EchoFault, NoFileNoFault) {
  EXPECT_EQ(ReadFault(file_, "MIG-a"), std::nullopt);
  EXPECT_EQ(ReadFault("", "MIG-a"), std::nullopt);
  Write("Xid 94: contained ECC error\n");
  EXPECT_EQ(ReadFault(file_, "MIG-a"), "Xid 94: contained ECC error");
}

TEST_F(EchoFault, AFileNamingOtherDevicesConcernsNotThisOne) {
  Write("Xid 94: contained ECC error\nMIG-a\nMIG-b\n");
  EXPECT_EQ(ReadFault(file_, "MIG-b"), "Xid 94: contained ECC error");
  EXPECT_EQ(ReadFault(file_, "MIG-c"), std::nullopt);  // a successor elsewhere
}

TEST_F(EchoFault, CudasWordsForTheXid) {
  EXPECT_EQ(CudaFaultMessage("Xid 94: contained ECC error"),
            "CUDA error: uncorrectable ECC error encountered (Xid 94: contained ECC error)");
  EXPECT_EQ(CudaFaultMessage("Xid 79: GPU has fallen off the bus"),
            "CUDA error: unspecified launch failure (Xid 79: GPU has fallen off the bus)");
}

TEST_F(EchoFault, RefusesToStartWhileTheFileIsThere) {
  Write("Xid 94: contained ECC error\n");
  EchoOptions o = Opts();
  o.fault_file = file_;
  Status st = RunEchoEngine(o);          // returns before it listens
  EXPECT_EQ(st.code(), Code::kUnknown);  // exit status 1
  EXPECT_NE(st.message().find("cannot start: CUDA error: uncorrectable ECC error encountered "
                              "(Xid 94: contained ECC error) on device MIG-1234"),
            std::string::npos)
      << st.message();
}

// --startup-delay-ms stands for a model's load: the port stays closed, and a
// stop during it ends the engine at once, before it ever listens.
TEST(EchoStartup, AStopDuringTheLoadEndsItBeforeItListens) {
  std::string dir = ::testing::TempDir() + "/echo-startup";
  std::filesystem::create_directories(dir);
  EchoOptions o = Opts();
  o.port_file = dir + "/port";
  std::filesystem::remove(o.port_file);
  o.startup_delay_ms = 600'000;  // ten minutes: the test would time out without the stop
  sigset_t term, old;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &term, &old);  // the engine's thread inherits it: never fatal
  Status st = Status::Internal("did not run");
  std::thread engine([&] { st = RunEchoEngine(o); });
  pthread_kill(engine.native_handle(), SIGTERM);
  engine.join();
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_FALSE(std::filesystem::exists(o.port_file));  // it never listened
}

}  // namespace
}  // namespace carve::echo

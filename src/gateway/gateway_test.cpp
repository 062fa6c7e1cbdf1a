// The gateway's hooks for on-demand models (issue #16), through a real
// server on a free port and real HTTP requests: the demand handler, the
// states in /v1/models, FailWaiting, a full queue while a model loads, and
// when a replica was last used.
#include "gateway/gateway.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <thread>

namespace carve::gateway {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

struct Reply {
  int status = 0;
  std::string retry_after;
  std::string body;
};

// One request on its own connection, answered whole (blocking).
Reply Send(uint16_t port, http::verb verb, const std::string& target, const std::string& body) {
  asio::io_context ioc;
  tcp::socket socket(ioc);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  if (!body.empty()) req.set(http::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  http::write(socket, req);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(socket, buffer, res);
  return {static_cast<int>(res.result_int()), std::string(res[http::field::retry_after]),
          res.body()};
}

Reply Chat(uint16_t port, const std::string& model) {
  return Send(port, http::verb::post, "/v1/chat/completions",
              R"({"model":")" + model + R"(","messages":[{"role":"user","content":"hi"}]})");
}

// A stand-in engine on a free port: answers every request (probes too) 200
// with `{}` and closes the connection.
class StubEngine {
 public:
  StubEngine() : acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    Accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~StubEngine() {
    ioc_.stop();
    thread_.join();
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }

 private:
  struct Exchange {
    explicit Exchange(tcp::socket s) : socket(std::move(s)) {}
    tcp::socket socket;
    boost::beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::response<http::string_body> res{http::status::ok, 11};
  };
  void Accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec) return;
      auto x = std::make_shared<Exchange>(std::move(socket));
      http::async_read(x->socket, x->buffer, x->req, [x](boost::system::error_code rec, size_t) {
        if (rec) return;
        x->res.set(http::field::content_type, "application/json");
        x->res.body() = "{}";
        x->res.keep_alive(false);
        x->res.prepare_payload();
        http::async_write(x->socket, x->res, [x](boost::system::error_code, size_t) {});
      });
      Accept();
    });
  }
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread thread_;
};

// Counts demand calls by model; a test waits for a count with a deadline.
class Demands {
 public:
  void Add(const std::string& model) {
    std::lock_guard lock(mu_);
    ++count_[model];
    cv_.notify_all();
  }
  int Count(const std::string& model) {
    std::lock_guard lock(mu_);
    return count_[model];
  }
  bool WaitFor(const std::string& model, int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return count_[model] >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, int> count_;
};

class OnDemandTest : public testing::Test {
 protected:
  void Start(std::vector<ModelConfig> models) {
    GatewayConfig config;
    config.listen = "127.0.0.1:0";
    config.listen_port = 0;
    config.threads = 2;
    config.access_log = "off";
    config.timeouts.hold_ms = 30000;  // longer than any test: only the test ends a wait
    config.models = std::move(models);
    auto gw = Gateway::Start(config);
    ASSERT_TRUE(gw.ok()) << gw.status().message();
    gw_ = std::move(*gw);
    gw_->SetDemandHandler([this](const std::string& model) { demands_.Add(model); });
  }
  // A request in the background; it must be answered within the deadline.
  std::future<Reply> ChatLater(const std::string& model) {
    return std::async(std::launch::async, [this, model] { return Chat(gw_->port(), model); });
  }
  static Reply Answered(std::future<Reply>& f) {
    EXPECT_EQ(f.wait_for(10s), std::future_status::ready);
    return f.get();
  }

  Demands demands_;
  std::unique_ptr<Gateway> gw_;
};

TEST_F(OnDemandTest, AHeldRequestIsDemandedAndAFailedLoadAnswersItWithTheReason) {
  Start({});
  ASSERT_TRUE(gw_->UpdateBackends({}, {"chat"}).ok());
  gw_->SetModelStates({{"chat", "cold"}});
  Reply models = Send(gw_->port(), http::verb::get, "/v1/models", "");
  EXPECT_NE(models.body.find(R"("id":"chat")"), std::string::npos) << models.body;
  EXPECT_NE(models.body.find(R"("carve":{"state":"cold"})"), std::string::npos) << models.body;

  auto held = ChatLater("chat");
  ASSERT_TRUE(demands_.WaitFor("chat", 1));
  EXPECT_EQ(held.wait_for(0s), std::future_status::timeout);  // held, not refused
  EXPECT_EQ(gw_->QueueDepths().at("chat"), 1);  // carve status's queue for a cold model
  const std::string why = "chat could not be loaded: its engine exited (exit 1); see carve status";
  gw_->FailWaiting("chat", why);
  Reply r = Answered(held);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.retry_after, "5");
  EXPECT_NE(r.body.find(R"("code":"model_load_failed")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(why), std::string::npos) << r.body;
  EXPECT_EQ(gw_->QueueDepths().at("chat"), 0);

  // The next request is held again (a next load may work), and demanded.
  auto again = ChatLater("chat");
  ASSERT_TRUE(demands_.WaitFor("chat", 2));
  gw_->FailWaiting("chat", why);
  EXPECT_EQ(Answered(again).status, 503);
  Reply metrics = Send(gw_->port(), http::verb::get, "/metrics", "");
  EXPECT_NE(metrics.body.find("carve_model_wait_for_replica_seconds_count{model=\"chat\"} 2\n"),
            std::string::npos);
}

TEST_F(OnDemandTest, AFullQueueWhileLoadingIs503ForOnDemandAnd429ForPinned) {
  Limits one{.max_in_flight = 0, .max_queue = 1};
  Start({ModelConfig{"chat", {}, one}, ModelConfig{"pinned", {}, one}});
  gw_->SetModelStates({{"chat", "loading"}});
  auto chat_held = ChatLater("chat");
  auto pinned_held = ChatLater("pinned");
  ASSERT_TRUE(demands_.WaitFor("chat", 1));
  ASSERT_TRUE(demands_.WaitFor("pinned", 1));

  Reply chat = Chat(gw_->port(), "chat");
  EXPECT_EQ(chat.status, 503);
  EXPECT_EQ(chat.retry_after, "5");
  EXPECT_NE(chat.body.find(R"("code":"load_queue_full")"), std::string::npos) << chat.body;
  EXPECT_NE(chat.body.find("1 requests already wait for 'chat' to load"), std::string::npos)
      << chat.body;
  Reply pinned = Chat(gw_->port(), "pinned");
  EXPECT_EQ(pinned.status, 429);
  EXPECT_NE(pinned.body.find(R"("code":"queue_full")"), std::string::npos) << pinned.body;

  gw_->FailWaiting("chat", "stopped by the test");
  gw_->FailWaiting("pinned", "stopped by the test");
  EXPECT_EQ(Answered(chat_held).status, 503);
  EXPECT_EQ(Answered(pinned_held).status, 503);
}

TEST_F(OnDemandTest, CountersSayWhenAReplicaLastGotARequest) {
  StubEngine engine;
  Start({});
  ASSERT_TRUE(gw_->UpdateBackends({Backend{"m", engine.url(), "0", "1g.10gb@0"}}).ok());
  auto counters = gw_->Counters();
  ASSERT_EQ(counters.size(), 1u);
  EXPECT_EQ(counters[0].last_request, std::chrono::steady_clock::time_point{});  // never
  const auto before = std::chrono::steady_clock::now();
  EXPECT_EQ(Chat(gw_->port(), "m").status, 200);
  counters = gw_->Counters();
  ASSERT_EQ(counters.size(), 1u);
  const auto first = counters[0].last_request;
  EXPECT_GE(first, before);
  EXPECT_LE(first, std::chrono::steady_clock::now());
  EXPECT_EQ(Chat(gw_->port(), "m").status, 200);
  EXPECT_GT(gw_->Counters()[0].last_request, first);
  EXPECT_EQ(demands_.Count("m"), 0);  // a model with a ready replica is not demanded
}

}  // namespace
}  // namespace carve::gateway

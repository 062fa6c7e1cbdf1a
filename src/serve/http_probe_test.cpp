#include "serve/http_probe.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <thread>

#include "serve/ports.h"

namespace carve::serve {
namespace {

using Millis = std::chrono::milliseconds;

// A listening socket on 127.0.0.1 that answers one connection with `reply`
// (or keeps silent when `reply` is empty), on its own thread.
class OneShotServer {
 public:
  explicit OneShotServer(std::string reply) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), len), 0);
    EXPECT_EQ(::listen(fd_, 4), 0);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this, reply] {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[4096];
      request_ = std::string(buf, std::max<ssize_t>(0, ::recv(c, buf, sizeof(buf), 0)));
      if (!reply.empty()) {
        ssize_t n = ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
        (void)n;
      } else {
        ::recv(c, buf, sizeof(buf), 0);  // silent until the client gives up
      }
      ::close(c);
    });
  }
  ~OneShotServer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }
  std::string request_;

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

TEST(HttpProbe, ReadsAContentLengthReply) {
  OneShotServer s("HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{\"status\":\"ok\"}");
  auto r = HttpGet(s.port(), "/health", Millis(2000));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "{\"status\":\"ok\"}");
}

TEST(HttpProbe, ReadsAChunkedReplyAndSendsAProperRequest) {
  OneShotServer s(
      "HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n"
      "7\r\nLoading\r\n6\r\n model\r\n0\r\n\r\n");
  auto r = HttpGet(s.port(), "/health", Millis(2000));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body, "Loading model");
  EXPECT_EQ(s.request_.rfind("GET /health HTTP/1.1\r\n", 0), 0u) << s.request_;
}

TEST(HttpProbe, ReadsAnHttp10ReplyEndedByClose) {
  OneShotServer s("HTTP/1.0 200 OK\r\n\r\nhello");
  auto r = HttpGet(s.port(), "/", Millis(2000));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "hello");
}

TEST(HttpProbe, SilentServerTimesOut) {
  OneShotServer s("");
  auto start = std::chrono::steady_clock::now();
  auto r = HttpGet(s.port(), "/health", Millis(200));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, Millis(2000));
}

TEST(HttpProbe, NobodyListeningIsUnavailable) {
  PortAllocator ports(24900, 24999);
  auto port = ports.Acquire();  // free right now, and nobody binds it
  ASSERT_TRUE(port.ok());
  auto r = HttpGet(*port, "/health", Millis(1000));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
}

TEST(HttpProbe, ModelListMustNameTheModel) {
  EXPECT_TRUE(ModelsListIncludes(R"({"object":"list","data":[{"id":"a"},{"id":"qwen"}]})", "qwen"));
  EXPECT_FALSE(ModelsListIncludes(R"({"object":"list","data":[{"id":"other"}]})", "qwen"));
  EXPECT_FALSE(ModelsListIncludes("not json", "qwen"));
  EXPECT_FALSE(ModelsListIncludes(R"({"data":"qwen"})", "qwen"));
}

TEST(HttpProbe, ChecksReportWhichOneFailed) {
  OneShotServer s("HTTP/1.1 200 OK\r\nContent-Length: 22\r\n\r\n{\"data\":[{\"id\":\"xx\"}]}");
  Status st = RunChecks({{"/v1/models", true}}, s.port(), "qwen", Millis(2000));
  EXPECT_EQ(st.message(), "GET /v1/models: does not list \"qwen\"");
}

TEST(Ports, FixedPortHeldByAnotherProcessIsAClearError) {
  OneShotServer holder("");  // listening on a port the kernel picked
  PortAllocator ports(24900, 24999);
  Status st = ports.AcquireFixed(holder.port());
  EXPECT_EQ(st.code(), Code::kInUse);
  EXPECT_NE(st.message().find("already taken by another process"), std::string::npos);
  EXPECT_NE(st.hint().find("leave the port out"), std::string::npos);
}

TEST(Ports, EachPortGoesToOneReplicaAndBusyOnesAreSkipped) {
  // A held port whose next two are free: the kernel's pick can sit next to a
  // port another process (a concurrent test, a client) has taken.
  std::unique_ptr<OneShotServer> holder;
  for (int i = 0; i < 20 && !holder; ++i) {
    holder = std::make_unique<OneShotServer>("");
    if (!PortIsFree(holder->port() + 1) || !PortIsFree(holder->port() + 2)) holder.reset();
  }
  ASSERT_TRUE(holder) << "no held port with two free ports after it";
  PortAllocator ports(holder->port(), holder->port() + 2);
  auto a = ports.Acquire(), b = ports.Acquire();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, holder->port());
  EXPECT_NE(*b, holder->port());
  EXPECT_NE(*a, *b);
  EXPECT_EQ(ports.AcquireFixed(*a).code(), Code::kInUse);
  ports.Release(*a);
  EXPECT_TRUE(ports.AcquireFixed(*a).ok());
}

TEST(Ports, AddressInUseIsRecognisedInLogs) {
  EXPECT_TRUE(LogSaysAddressInUse("OSError: [Errno 98] Address already in use"));
  EXPECT_TRUE(LogSaysAddressInUse("error: bind: EADDRINUSE"));
  EXPECT_FALSE(LogSaysAddressInUse("CUDA out of memory"));
}

}  // namespace
}  // namespace carve::serve

// N concurrent SSE streams against one URL; reports the gaps between the
// chunks each stream receives (the engine sends one every --token-delay-ms),
// so the same run against the engine and against a proxy shows what the proxy
// adds per chunk. One thread, epoll, no HTTP library: it only needs arrival
// times (it reads raw bytes and only looks for the end of the chunked body).
// Built and run by bench/gateway/run.sh.
//
// Usage: stream_load PORT STREAMS TOKENS
#include <algorithm>
#include <boost/asio.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Stream : std::enable_shared_from_this<Stream> {
  Stream(asio::io_context& io, std::vector<double>& gaps, int& done, int& failed)
      : socket(io), gaps(gaps), done(done), failed(failed) {}
  tcp::socket socket;
  std::string request;
  char buf[16384];
  Clock::time_point last;
  bool first = true;
  std::string tail;
  std::vector<double>& gaps;
  int& done;
  int& failed;

  void Start(tcp::endpoint ep) {
    auto self = shared_from_this();
    socket.async_connect(ep, [self](boost::system::error_code ec) {
      if (ec) return self->Fail(ec, "connect");
      asio::async_write(self->socket, asio::buffer(self->request),
                        [self](boost::system::error_code ec, size_t) {
                          if (ec) return self->Fail(ec, "write");
                          self->Read();
                        });
    });
  }
  void Read() {
    auto self = shared_from_this();
    socket.async_read_some(asio::buffer(buf), [self](boost::system::error_code ec, size_t n) {
      if (ec) return self->Fail(ec, "read");
      auto now = Clock::now();
      if (!self->first)
        self->gaps.push_back(std::chrono::duration<double, std::milli>(now - self->last).count());
      self->first = false;
      self->last = now;
      self->tail = (self->tail + std::string(self->buf, n));
      // The end of the chunked body, not "[DONE]": a proxy may split an event
      // across HTTP chunks, so the event is not contiguous in the raw bytes.
      if (self->tail.find("\r\n0\r\n\r\n") != std::string::npos) return void(++self->done);
      if (self->tail.size() > 64) self->tail.erase(0, self->tail.size() - 64);
      self->Read();
    });
  }
  void Fail(const boost::system::error_code& ec, const char* where) {
    if (failed++ < 3)
      std::fprintf(stderr, "stream failed in %s: %s\n", where, ec.message().c_str());
  }
};

double Pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * v.size()));
  std::nth_element(v.begin(), v.begin() + i, v.end());
  return v[i];
}

int main(int argc, char** argv) {
  if (argc != 4) return std::fprintf(stderr, "usage: stream_load PORT STREAMS TOKENS\n"), 2;
  int port = std::atoi(argv[1]), n = std::atoi(argv[2]), tokens = std::atoi(argv[3]);
  asio::io_context io;
  std::vector<double> gaps;
  gaps.reserve(size_t(n) * tokens);
  int done = 0, failed = 0;
  std::string body =
      "{\"model\":\"echo\",\"stream\":true,\"max_tokens\":" + std::to_string(tokens) +
      ",\"messages\":[{\"role\":\"user\",\"content\":\"a b c\"}]}";
  std::string req =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
  for (int i = 0; i < n; ++i) {
    auto s = std::make_shared<Stream>(io, gaps, done, failed);
    s->request = req;
    s->Start(ep);
  }
  auto t0 = Clock::now();
  io.run();
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  // The first gaps include the first token delay; keep the steady-state ones.
  std::printf(
      "streams=%d done=%d failed=%d chunks=%zu secs=%.2f gap_p50_ms=%.3f gap_p99_ms=%.3f "
      "gap_p999_ms=%.3f gap_max_ms=%.3f\n",
      n, done, failed, gaps.size(), secs, Pct(gaps, 0.5), Pct(gaps, 0.99), Pct(gaps, 0.999),
      gaps.empty() ? 0 : *std::max_element(gaps.begin(), gaps.end()));
  return failed ? 1 : 0;
}

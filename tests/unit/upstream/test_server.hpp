#pragma once
// A tiny HTTP/1.1 (optionally TLS) server on 127.0.0.1, port 0, with its own
// io_context thread, for tests of code that talks to upstreams. A route
// function decides each answer as raw bytes (any status, malformed HTTP,
// pieces sent after pauses, a close or a stall after it); the server counts accepted connections and
// records every request.
#include "regcache/core/result.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace regcache::test {

// Deterministic body bytes, so a misplaced or lost chunk shows.
inline std::string pattern(std::size_t n) {
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>('a' + (i * 7 + i / 26) % 26);
  return out;
}

// The N of a "size=N" query parameter; 0 without one.
inline std::size_t query_size(std::string_view target) {
  const auto at = target.find("size=");
  if (at == std::string_view::npos) return 0;
  return static_cast<std::size_t>(std::stoull(std::string(target.substr(at + 5))));
}

// What the test server does after writing its answer.
enum class then { keep, close, stall };

struct reply {
  std::string bytes;
  then after = then::keep;
  // Sent after `bytes`, each after a pause of `gap` (a slow upstream).
  std::vector<std::string> later{};
  std::chrono::milliseconds gap{0};
};

struct seen_request {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> fields;

  std::vector<std::string> values(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [n, v] : fields)
      if (boost::beast::iequals(n, name)) out.push_back(v);
    return out;
  }
  std::string path() const { return target.substr(0, target.find('?')); }
};

// The answer to a request, given the requests earlier on the same connection.
using route_function = std::function<reply(const seen_request& req, std::size_t nth_on_connection)>;

// What the loopback test servers share: a listener on 127.0.0.1 (port 0), an
// io_context on a thread of its own, the count of accepted connections and
// the requests seen. A server starts its accept loop with start() and calls
// stop() first thing in its destructor, so the thread never runs into members
// already gone.
class loopback_server {
 public:
  loopback_server(const loopback_server&) = delete;
  loopback_server& operator=(const loopback_server&) = delete;

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()); }
  std::size_t connections() const { return connections_.load(); }
  std::vector<seen_request> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 protected:
  loopback_server()
      : acceptor_(ioc_, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {}
  ~loopback_server() = default;

  void start(boost::asio::awaitable<void> accept_loop) {
    boost::asio::co_spawn(ioc_, std::move(accept_loop), boost::asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void stop() {
    ioc_.stop();
    thread_.join();
  }
  void remember(const seen_request& seen) {
    std::lock_guard lock(mutex_);
    requests_.push_back(seen);
  }

  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::atomic<std::size_t> connections_{0};

 private:
  mutable std::mutex mutex_;
  std::vector<seen_request> requests_;
  std::thread thread_;
};

class test_server : public loopback_server {
 public:
  explicit test_server(route_function route, boost::asio::ssl::context* tls = nullptr)
      : route_(std::move(route)), tls_(tls) {
    start(accept_loop());
  }
  ~test_server() { stop(); }

 private:
  static constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);

  boost::asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
      if (ec) co_return;
      ++connections_;
      if (tls_)
        boost::asio::co_spawn(ioc_, serve_tls(std::move(socket)), boost::asio::detached);
      else
        boost::asio::co_spawn(ioc_, serve_plain(std::move(socket)), boost::asio::detached);
    }
  }

  boost::asio::awaitable<void> serve_plain(boost::asio::ip::tcp::socket socket) {
    boost::beast::tcp_stream stream(std::move(socket));
    co_await serve(&stream);
  }

  boost::asio::awaitable<void> serve_tls(boost::asio::ip::tcp::socket socket) {
    boost::beast::ssl_stream<boost::beast::tcp_stream> stream(std::move(socket), *tls_);
    auto [ec] = co_await stream.async_handshake(boost::asio::ssl::stream_base::server, use_tuple);
    if (ec) co_return;
    co_await serve(&stream);
  }

  template <class Stream>
  boost::asio::awaitable<void> serve(Stream* stream) {
    boost::beast::flat_buffer buffer;
    for (std::size_t nth = 0;; ++nth) {
      boost::beast::http::request<boost::beast::http::empty_body> req;
      auto [ec, n] = co_await boost::beast::http::async_read(*stream, buffer, req, use_tuple);
      if (ec) co_return;
      const auto seen = record(req);
      const auto answer = route_(seen, nth);
      if (!answer.bytes.empty()) {
        auto [write_ec, written] =
            co_await boost::asio::async_write(*stream, boost::asio::buffer(answer.bytes), use_tuple);
        if (write_ec) co_return;
      }
      for (const auto& piece : answer.later) {
        boost::asio::steady_timer pause(co_await boost::asio::this_coro::executor, answer.gap);
        auto [pause_ec] = co_await pause.async_wait(use_tuple);
        if (pause_ec) co_return;
        auto [write_ec, written] = co_await boost::asio::async_write(*stream, boost::asio::buffer(piece), use_tuple);
        if (write_ec) co_return;
      }
      if (answer.after == then::close) co_return;
      if (answer.after == then::stall) {
        boost::asio::steady_timer forever(co_await boost::asio::this_coro::executor, std::chrono::hours(1));
        auto [wait_ec] = co_await forever.async_wait(use_tuple);
        ignore_error(wait_ec, "only the server's shutdown ends the stall");
        co_return;
      }
    }
  }

  seen_request record(const boost::beast::http::request<boost::beast::http::empty_body>& req) {
    seen_request seen{std::string(req.method_string()), std::string(req.target()), {}};
    for (const auto& f : req) seen.fields.emplace_back(std::string(f.name_string()), std::string(f.value()));
    remember(seen);
    return seen;
  }

  const route_function route_;
  boost::asio::ssl::context* tls_;
};

template <class T>
boost::asio::awaitable<void> store_into(boost::asio::awaitable<T> task, std::optional<T>* out) {
  out->emplace(co_await std::move(task));
}

// Drives one coroutine on `ioc` to completion on the calling thread. (co_spawn
// wants a default-constructible result, which result<T> is not.)
template <class T>
T run(boost::asio::io_context& ioc, boost::asio::awaitable<T> task) {
  std::optional<T> out;
  auto done = boost::asio::co_spawn(ioc, store_into(std::move(task), &out), boost::asio::use_future);
  ioc.restart();
  ioc.run();
  done.get();
  return std::move(*out);
}

}  // namespace regcache::test

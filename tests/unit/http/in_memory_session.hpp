#pragma once
// An http::server driven through socketpairs: every connection is one end of
// a fresh AF_UNIX socketpair handed to server::serve, the test holds the
// other. No listener, no port, no network; the server's own session code
// (head parsing, limits, keep-alive, sendfile, access log) runs unchanged.
// The server runs on one background thread; the test's end is blocking.
#include "regcache/http/server.hpp"
#include "regcache/metrics/registry.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace regcache::http::testing {

namespace asio = boost::asio;
namespace beast_http = boost::beast::http;
using response = beast_http::response<beast_http::string_body>;

class in_memory_session {
 public:
  explicit in_memory_session(handler h, server_options options = {})
      : server_(ioc_.get_executor(), {ioc_.get_executor()}, std::move(options), std::move(h), metrics_),
        thread_([this] { ioc_.run(); }) {}
  // Ends the server's connections the way a shutdown does (drain closes the
  // idle keep-alive ones) before stopping: a session still waiting for its
  // next request when the io_context stops would be reported as a leak.
  ~in_memory_session() {
    asio::post(ioc_, [this] { server_.drain(); });
    for (int i = 0; i < 500 && server_.open_connections() > 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    work_.reset();
    ioc_.stop();
    thread_.join();
  }
  in_memory_session(const in_memory_session&) = delete;
  in_memory_session& operator=(const in_memory_session&) = delete;

  // A new connection: the server serves one end, the caller gets the other.
  asio::local::stream_protocol::socket connect() {
    asio::local::stream_protocol::socket server_end(ioc_), client_end(client_ioc_);
    asio::local::connect_pair(server_end, client_end);
    server_.serve(asio::generic::stream_protocol::socket(std::move(server_end)));
    return client_end;
  }

  // Writes `req` and reads one response on `client` (HEAD: the head only).
  static response exchange_on(asio::local::stream_protocol::socket& client, beast_http::request<beast_http::string_body> req,
                              boost::beast::flat_buffer& buffer) {
    req.prepare_payload();
    const bool head = req.method() == beast_http::verb::head;
    beast_http::write(client, req);
    beast_http::response_parser<beast_http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    parser.skip(head);
    beast_http::read(client, buffer, parser);
    return parser.release();
  }

  // One request on a fresh connection.
  response request(beast_http::verb method, std::string target,
                   std::vector<std::pair<std::string, std::string>> fields = {}, std::string body = {}) {
    auto client = connect();
    beast_http::request<beast_http::string_body> req(method, target, 11);
    req.set(beast_http::field::host, "regcache.test");
    for (const auto& [name, value] : fields) req.set(name, value);
    req.body() = std::move(body);
    boost::beast::flat_buffer buffer;
    return exchange_on(client, std::move(req), buffer);
  }

  // Sends raw bytes on a fresh connection and returns everything the server
  // sends back until it closes the connection.
  std::string raw(std::string bytes) {
    auto client = connect();
    asio::write(client, asio::buffer(bytes));
    return read_until_closed(client);
  }

  static std::string read_until_closed(asio::local::stream_protocol::socket& client) {
    std::string out;
    char chunk[4096];
    for (;;) {
      boost::system::error_code ec;
      const auto n = client.read_some(asio::buffer(chunk), ec);
      out.append(chunk, n);
      if (ec) return out;
    }
  }

  metrics::registry& metrics() { return metrics_; }
  http::server& server() { return server_; }

 private:
  asio::io_context ioc_{1};
  asio::io_context client_ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{ioc_.get_executor()};
  metrics::registry metrics_;
  http::server server_;
  std::thread thread_;
};

}  // namespace regcache::http::testing

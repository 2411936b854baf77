#pragma once
// HTTP/1.1 and HTTP/2 server: accepts connections, parses request heads
// within limits and timeouts, runs one coroutine per connection, and calls
// the handler for each request. It knows nothing about OCI or the cache.
//
//   acceptor ──▶ connection coroutine (on one worker thread)
//                  TLS listener: handshake (header_timeout; a plain HTTP
//                        request gets a 400 in plain text)
//                  HTTP/2? (ALPN h2 on TLS; the client preface
//                        "PRI * HTTP/2.0" first on plain): h2_session, one
//                        handler coroutine per stream
//                  loop: read head (idle timeout until its first byte, then
//                        header_timeout for all of it; header limit)
//                        handler(exchange)      ← registry::handler
//                        access log line + request metrics
//                        keep-alive? next : close
//
// Graceful shutdown: drain() closes idle keep-alive connections, lets
// in-flight responses finish, and from then on ends every connection after
// its current response. It keeps accepting: until Kubernetes has taken the
// pod out of its Service, new requests still arrive and are answered (and
// the readiness probe must get through to see the 503). An HTTP/2
// connection gets GOAWAY instead: its open streams finish, it takes no new
// ones. wait_drained() resolves when no connection is open or the grace
// period passed.
#include "regcache/core/result.hpp"
#include "regcache/http/exchange.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/generic/stream_protocol.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace boost::asio::ssl {
class context;
}

namespace regcache::metrics {
class registry;
}

namespace regcache::http {

// server.http2: HTTP/2 and the limits that keep one connection's streams
// from costing more than the client's share (see docs/PROTOCOL.md).
struct http2_options {
  bool enabled = true;
  // The receive windows regcache announces (request bodies); how fast
  // regcache sends is the client's windows' business.
  std::uint32_t connection_window = 16 * 1024 * 1024;
  std::uint32_t stream_window = 4 * 1024 * 1024;
  // Streams open at once; also the cap on handlers still running for
  // streams the client already reset (further streams are refused).
  std::uint32_t max_concurrent_streams = 128;
  // Names and values of one request's headers, plus 32 bytes per field
  // (RFC 9113's measure): past it the request gets 431, however many
  // CONTINUATION frames carried it.
  std::uint32_t max_header_list_size = 32 * 1024;
  // RST_STREAM frames a client may send (rapid reset, CVE-2023-44487): a
  // bucket of reset_burst refilled at reset_rate per second; past it, GOAWAY.
  std::uint32_t reset_burst = 1000;
  std::uint32_t reset_rate = 33;
  // The same for frames that ask for work but carry no request: PING,
  // SETTINGS, PRIORITY, empty DATA and tiny WINDOW_UPDATEs.
  std::uint32_t control_frame_burst = 1000;
  std::uint32_t control_frame_rate = 100;
};

struct server_options {
  std::string address = "0.0.0.0";
  std::uint16_t port = 5000;
  std::size_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds idle_timeout{60'000};
  // From the first byte of a request head to its end, in total: a client
  // trickling its head byte by byte cannot hold a connection longer.
  std::chrono::milliseconds header_timeout{10'000};
  // A request body, in total.
  std::chrono::milliseconds read_timeout{30'000};
  std::chrono::milliseconds write_timeout{300'000};
  std::size_t max_connections = 4096;
  bool access_log = true;
  http2_options http2;
  // Set: every connection is TLS, its handshake with the context this returns
  // when the connection is accepted (the newest certificate, see
  // tls::server_context); the handshake must end within header_timeout.
  // Empty: plain HTTP.
  std::function<std::shared_ptr<boost::asio::ssl::context>()> tls_context;
};

using handler = std::function<boost::asio::awaitable<void>(exchange&)>;

// The process must ignore SIGPIPE (regcache serve does): sendfile(2) and
// OpenSSL write to sockets without MSG_NOSIGNAL, and a client that went away
// must be an error code.
class server {
 public:
  // `executor` runs the acceptor; accepted connections are spread round-robin
  // over `workers`, which must each be single-threaded (one io_context per
  // core): a connection's handlers then never run concurrently and never
  // wake another thread, so no strand is needed.
  server(boost::asio::any_io_executor executor, std::vector<boost::asio::any_io_executor> workers,
         server_options options, handler h, metrics::registry& metrics);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Binds and listens; the bound port is readable afterwards (port 0 → a free one).
  [[nodiscard]] error_code listen();
  std::uint16_t port() const noexcept;
  // Starts the accept loop.
  void start();
  // Serves an already connected stream socket exactly as an accepted
  // connection (options, handler, drain, metrics, access log), on the
  // socket's executor, which must be single-threaded like a worker's. Tests
  // drive whole HTTP sessions through one end of a socketpair this way,
  // without a listener or the network.
  void serve(boost::asio::generic::stream_protocol::socket stream);
  // Asks every connection to end after its current response; accepting goes on.
  void drain();
  bool draining() const noexcept;
  // Resolves when all connections ended or `grace` passed; returns how many were still open.
  boost::asio::awaitable<std::size_t> wait_drained(std::chrono::milliseconds grace);
  std::size_t open_connections() const noexcept;

 private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace regcache::http

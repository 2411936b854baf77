#pragma once
// Internal to the upstream module: one HTTP/1.1 connection to an upstream,
// plain TCP or TLS, with the parser of the response currently being read.
//
//   open() ─▶ exchange(request) ─▶ read_body()… ─▶ body_done ─▶ reusable()? pool : close
//                 ▲                                                │
//                 └──────────────── taken from the pool ◀──────────┘
//
// Exactly one coroutine uses a connection at a time (the pool hands it out
// exclusively), but that coroutine may run on any executor: every socket
// operation that waits runs as a small coroutine on the connection's own
// strand, so Beast's timeout handlers never race the I/O they guard, even
// when the caller sits on a multi-threaded io_context without a strand.
// Destroying a connection with no operation in flight closes the socket.
//
// A body with a Content-Length (every blob a registry sends) bypasses the
// parser: it is read straight into the caller's buffer. On plain TCP a read
// first takes whatever the socket holds without waiting (no strand hop, no
// timer); only when the socket is empty does it wait on the strand, with
// the read timeout armed for that wait alone. A TLS read keeps reading while
// decrypted or raw bytes are at hand, so one call brings many records.
#include "regcache/core/result.hpp"
#include "regcache/upstream/url.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace regcache::upstream::detail {

using http_request = boost::beast::http::request<boost::beast::http::empty_body>;
using field_list = std::vector<std::pair<std::string, std::string>>;

// Resolves `ep` and connects `stream` (on the stream's executor) by
// `deadline`, with TCP_NODELAY. Errors: connect_failed, connect_timeout.
[[nodiscard]] boost::asio::awaitable<error_code> connect_tcp(boost::beast::tcp_stream& stream, endpoint ep,
                                                             std::chrono::steady_clock::time_point deadline);

class connection {
 public:
  using clock = std::chrono::steady_clock;

  // Largest response head accepted; larger ones fail with errc::protocol_error.
  static constexpr std::uint32_t max_header_bytes = 64 * 1024;

  // Resolves, connects and, when `tls` is set, handshakes (SNI and, unless the
  // context verifies nothing, host name verification), all within
  // `connect_timeout`. Sockets are created on `executor`. Errors:
  // connect_failed, connect_timeout, tls_failed.
  [[nodiscard]] static boost::asio::awaitable<result<std::unique_ptr<connection>>> open(
      boost::asio::any_io_executor executor, endpoint ep, std::shared_ptr<boost::asio::ssl::context> tls,
      std::chrono::milliseconds connect_timeout);

  connection(boost::asio::any_io_executor executor, std::shared_ptr<boost::asio::ssl::context> tls,
             std::string origin);
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // Writes `msg` and reads the response head, skipping interim 1xx heads. A
  // HEAD request's response is complete after the head. Each write and read
  // has `timeout`. Errors: read_timeout, connection_closed, protocol_error,
  // tls_failed; got_response_bytes() then tells whether the upstream answered at all.
  [[nodiscard]] boost::asio::awaitable<error_code> exchange(http_request msg, bool head,
                                                            std::chrono::milliseconds timeout);
  // Reads up to buf.size() (> 0) body bytes within `timeout`; 0 once the body is complete.
  [[nodiscard]] boost::asio::awaitable<result<std::size_t>> read_body(std::span<std::byte> buf,
                                                                      std::chrono::milliseconds timeout);

  // The response head of the last successful exchange().
  unsigned status() const;
  field_list fields() const;
  std::optional<std::uint64_t> content_length() const;
  bool body_done() const;

  // Whether any byte of a response arrived during the last exchange().
  bool got_response_bytes() const;
  // Whether another request may follow: body complete, keep-alive, nothing
  // unsolicited buffered, no error seen.
  bool reusable() const;
  // Whether the peer closed (or wrote to) the connection while it sat idle;
  // polls the socket without blocking.
  bool peer_closed_while_idle();

  clock::time_point idle_since() const noexcept { return idle_since_; }
  void mark_idle(clock::time_point now) noexcept { idle_since_ = now; }

 private:
  using tcp_stream = boost::beast::tcp_stream;
  using tls_stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
  using parser_type = boost::beast::http::response_parser<boost::beast::http::buffer_body>;

  // The *_here coroutines run on strand_.
  boost::asio::awaitable<error_code> establish_here(endpoint ep, clock::time_point deadline);
  boost::asio::awaitable<error_code> connect_here(endpoint ep, clock::time_point deadline);
  boost::asio::awaitable<error_code> handshake_here(endpoint ep, clock::time_point deadline);
  boost::asio::awaitable<error_code> exchange_here(http_request msg, bool head, std::chrono::milliseconds timeout);
  boost::asio::awaitable<result<std::size_t>> read_body_here(std::span<std::byte> buf,
                                                             std::chrono::milliseconds timeout);
  template <class Stream>
  boost::asio::awaitable<error_code> exchange_on(Stream* stream, http_request msg, bool head,
                                                 std::chrono::milliseconds timeout);
  template <class Stream>
  boost::asio::awaitable<result<std::size_t>> read_body_on(Stream* stream, std::span<std::byte> buf,
                                                           std::chrono::milliseconds timeout);
  // A Content-Length body: straight into `buf`, at most body_left_ bytes.
  template <class Stream>
  boost::asio::awaitable<result<std::size_t>> read_sized_body_on(Stream* stream, std::span<std::byte> buf,
                                                                 std::chrono::milliseconds timeout);
  // Body bytes of a Content-Length body that can be had without waiting:
  // those read along with the head, then what the plain socket holds.
  result<std::size_t> take_ready(std::span<std::byte> buf);
  void consumed_body(std::size_t n) noexcept;
  tcp_stream& lowest_layer() noexcept;
  const tcp_stream& lowest_layer() const noexcept;

  std::shared_ptr<boost::asio::ssl::context> tls_;  // outlives the stream that uses it
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  std::variant<tcp_stream, tls_stream> stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<parser_type> parser_;
  // Bytes left of a Content-Length body read past the parser; nullopt when
  // the parser reads the body (chunked, or until the connection closes).
  std::optional<std::uint64_t> body_left_;
  std::string origin_;  // for log lines
  clock::time_point idle_since_{};
  bool broken_ = false;
};

}  // namespace regcache::upstream::detail

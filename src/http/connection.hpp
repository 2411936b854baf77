#pragma once
// Internal to the http module: one accepted connection and its coroutine.
//
// `connection` is the HTTP/1.1 session (request heads, the handler, keep-alive,
// drain, access log), or hands the connection to an h2_session when the
// client speaks HTTP/2 (ALPN h2 on TLS, the prior-knowledge preface on plain
// connections); how bytes move is its transport's business:
//   plain_connection  the socket itself: non-blocking writes first, sendfile(2)
//   tls_connection    an SSL stream: handshake first, files read in large
//                     chunks and encrypted (no sendfile)
// A connection is any connected stream socket: TCP from the acceptor, or a
// socketpair end handed to server::serve (tests), so both transports work the
// same on both.
#include "regcache/http/exchange.hpp"
#include "regcache/http/server.hpp"

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <chrono>
#include <memory>
#include <optional>

struct ssl_st;

namespace regcache::http {

struct server_shared;
class h2_session;

class connection : public std::enable_shared_from_this<connection> {
 public:
  using socket_type = boost::asio::generic::stream_protocol::socket;
  using request_type = boost::beast::http::request<boost::beast::http::empty_body>;
  using clock = std::chrono::steady_clock;

  explicit connection(std::shared_ptr<server_shared> shared);
  virtual ~connection();

  boost::asio::awaitable<void> run();
  // The connection's (single-threaded) executor: everything touching the socket runs there.
  virtual boost::asio::any_io_executor executor() = 0;
  // Called on the connection's executor when the server drains: HTTP/1.1
  // closes an idle connection, HTTP/2 sends GOAWAY.
  void close_if_idle() noexcept;

  const request_type& request() const { return parser_->get(); }
  bool is_head() const noexcept { return request().method() == boost::beast::http::verb::head; }
  const server_options& options() const noexcept;
  bool keep_alive() const noexcept { return keep_alive_; }
  void set_keep_alive(bool v) noexcept { keep_alive_ = v; }

  // The request's Content-Length body, at most `limit` bytes, within read_timeout.
  boost::asio::awaitable<result<std::string>> read_body(std::size_t limit);
  virtual boost::asio::awaitable<error_code> write_buffers(std::string_view a, std::string_view b = {},
                                                           std::string_view c = {}) = 0;
  // `length` bytes of `fd` from `offset`; eof when the file is shorter.
  virtual boost::asio::awaitable<error_code> send_file(int fd, std::uint64_t offset, std::uint64_t length) = 0;
  // `prefix` (an HTTP/2 frame header and what preceded it), then `length`
  // bytes of `fd` from `offset`, sent together (one TLS record, or one TCP
  // segment where the kernel can).
  virtual boost::asio::awaitable<error_code> send_prefixed_file(std::string_view prefix, int fd, std::uint64_t offset,
                                                                std::uint64_t length) = 0;
  // Appends what arrives to input(); operation_aborted past `deadline`
  // (clock::time_point::max(): none). HTTP/2 reads while it writes: a read
  // and a write may wait at the same time.
  virtual boost::asio::awaitable<error_code> read_some(clock::time_point deadline) = 0;
  boost::beast::flat_buffer& input() noexcept { return buffer_; }
  // TLS: what is written goes out in records of up to 16 KiB.
  virtual bool encrypts() const noexcept = 0;
  virtual void close() noexcept = 0;
  std::string_view remote_address() const noexcept { return remote_address_; }
  const client_certificate* peer_certificate() const noexcept {
    return peer_certificate_ ? &*peer_certificate_ : nullptr;
  }

 protected:
  // Before the first request (socket options, the TLS handshake); false ends the connection.
  virtual boost::asio::awaitable<bool> start() = 0;
  // After start(): does the client speak HTTP/2 (and server.http2 is on)?
  virtual boost::asio::awaitable<bool> speaks_h2() = 0;

  std::shared_ptr<server_shared> shared_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::empty_body>> parser_;
  std::string remote_address_;
  std::optional<client_certificate> peer_certificate_;
  bool idle_ = true;

 private:
  // Reads the next request head into parser_: the idle timeout until its
  // first byte, then header_timeout for all of it.
  boost::asio::awaitable<error_code> read_head();
  // The Content-Length of the request's body, or why read_body() refuses it
  // (chunked, or longer than `limit`).
  result<std::size_t> body_length(std::size_t limit) const;
  boost::asio::awaitable<bool> serve_one();
  boost::asio::awaitable<void> reply_error_and_close(unsigned status, std::string_view reason);
  boost::asio::awaitable<void> serve_h2();

  bool keep_alive_ = true;
  std::unique_ptr<h2_session> h2_;  // set while the connection speaks HTTP/2
};

// A read's deadline as a field, enforced by one timer that is re-armed
// lazily: it fires no later than the deadline and, firing early, re-arms for
// the rest, so moving the deadline later (as every keep-alive request does)
// costs no timer operation. When it passes while a read waits, the socket's
// waits are cancelled: only that read waits then (HTTP/1.1 reads and writes
// take turns; HTTP/2 reads have no deadline).
class read_deadline {
 public:
  using clock = std::chrono::steady_clock;
  explicit read_deadline(connection::socket_type& socket) : socket_(socket), timer_(socket.get_executor()) {}

  // A read waits from now until end(), at most until `deadline` (max: no
  // limit). `owner` (the connection holding this) outlives the timer's handler.
  void begin(clock::time_point deadline, const std::weak_ptr<connection>& owner);
  void end() noexcept { deadline_ = clock::time_point::max(); }
  // Whether the waiting read's deadline has passed (call before end()).
  bool passed() const noexcept { return deadline_ != clock::time_point::max() && clock::now() >= deadline_; }

 private:
  void arm(const std::weak_ptr<connection>& owner);
  void on_expiry(const std::weak_ptr<connection>& owner);

  connection::socket_type& socket_;
  boost::asio::steady_timer timer_;
  bool armed_ = false;
  clock::time_point deadline_ = clock::time_point::max();  // max: no read waits with a deadline
};

// The socket itself, non-blocking: a response is written at once when it
// fits the send buffer, bodies from files with sendfile(2); reads wait under
// a read_deadline.
class plain_connection final : public connection {
 public:
  plain_connection(socket_type socket, std::shared_ptr<server_shared> shared);

  boost::asio::any_io_executor executor() override { return socket_.get_executor(); }
  boost::asio::awaitable<error_code> write_buffers(std::string_view a, std::string_view b,
                                                   std::string_view c) override;
  boost::asio::awaitable<error_code> send_file(int fd, std::uint64_t offset, std::uint64_t length) override;
  boost::asio::awaitable<error_code> send_prefixed_file(std::string_view prefix, int fd, std::uint64_t offset,
                                                        std::uint64_t length) override;
  boost::asio::awaitable<error_code> read_some(clock::time_point deadline) override;
  bool encrypts() const noexcept override { return false; }
  void close() noexcept override;

 private:
  boost::asio::awaitable<bool> start() override;
  boost::asio::awaitable<bool> speaks_h2() override;
  boost::asio::awaitable<error_code> wait_writable();

  socket_type socket_;
  boost::asio::steady_timer write_timer_;
  read_deadline read_deadline_{socket_};
};

// TLS straight over the non-blocking socket: OpenSSL reads and writes the
// file descriptor itself (a socket BIO), and the coroutine only waits for
// readiness when OpenSSL asks for it, as nginx does. No memory-BIO copies
// and no composed operation per 16 KiB record.
class tls_connection final : public connection {
 public:
  // `context` is the server's newest TLS context when the connection came:
  // this connection keeps it whatever rotates later.
  tls_connection(socket_type socket, std::shared_ptr<boost::asio::ssl::context> context,
                 std::shared_ptr<server_shared> shared);
  ~tls_connection() override;

  boost::asio::any_io_executor executor() override { return socket_.get_executor(); }
  boost::asio::awaitable<error_code> write_buffers(std::string_view a, std::string_view b,
                                                   std::string_view c) override;
  boost::asio::awaitable<error_code> send_file(int fd, std::uint64_t offset, std::uint64_t length) override;
  boost::asio::awaitable<error_code> send_prefixed_file(std::string_view prefix, int fd, std::uint64_t offset,
                                                        std::uint64_t length) override;
  // Decrypted bytes appended to input().
  boost::asio::awaitable<error_code> read_some(clock::time_point deadline) override;
  bool encrypts() const noexcept override { return true; }
  void close() noexcept override;

 private:
  boost::asio::awaitable<bool> start() override;
  boost::asio::awaitable<bool> speaks_h2() override { co_return alpn_h2_; }
  // Waits until the socket is readable or writable, at most until `deadline`.
  boost::asio::awaitable<error_code> wait(boost::asio::socket_base::wait_type what, clock::time_point deadline);
  // Waits for whatever the last SSL call asked for (`ssl_error`): ok to retry, or why not.
  boost::asio::awaitable<error_code> wait_for_ssl(int ssl_error, clock::time_point deadline);
  boost::asio::awaitable<error_code> handshake(clock::time_point deadline);
  boost::asio::awaitable<error_code> write_all(const char* data, std::size_t size);
  void take_peer_certificate();

  socket_type socket_;
  // Reads and writes wait on their own timers: HTTP/2 waits for both at once.
  read_deadline read_deadline_{socket_};
  boost::asio::steady_timer write_timer_;
  std::shared_ptr<boost::asio::ssl::context> context_;
  ssl_st* ssl_ = nullptr;
  bool alpn_h2_ = false;   // the handshake chose h2 by ALPN
  std::string coalesced_;  // a response head and a small body, written as one record
  // An HTTP/2 DATA frame from a file: its header and the file's bytes read
  // behind it, encrypted as one write. Kept for the connection's life.
  std::unique_ptr<char[]> frame_;
  std::size_t frame_capacity_ = 0;
};

}  // namespace regcache::http

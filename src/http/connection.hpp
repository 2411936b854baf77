#pragma once
// Internal to the http module: one accepted connection and its coroutine.
#include "regcache/http/exchange.hpp"
#include "regcache/http/server.hpp"

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <memory>
#include <optional>

namespace regcache::http {

struct server_shared;

// A connection is any connected stream socket: TCP from the acceptor, or a
// socketpair end handed to server::serve (tests), so sendfile(2) and the
// non-blocking fast path work the same on both.
class connection : public std::enable_shared_from_this<connection> {
 public:
  using socket_type = boost::asio::generic::stream_protocol::socket;

  connection(socket_type socket, std::shared_ptr<server_shared> shared);

  boost::asio::awaitable<void> run();
  // The connection's (single-threaded) executor: everything touching the socket runs there.
  boost::asio::any_io_executor executor() { return stream_.get_executor(); }
  // Called on the connection's executor when the server drains.
  void close_if_idle() noexcept;

  using request_type = boost::beast::http::request<boost::beast::http::empty_body>;
  const request_type& request() const { return parser_->get(); }
  bool is_head() const noexcept { return request().method() == boost::beast::http::verb::head; }
  const server_options& options() const noexcept;
  bool keep_alive() const noexcept { return keep_alive_; }
  void set_keep_alive(bool v) noexcept { keep_alive_ = v; }

  boost::asio::awaitable<result<std::string>> read_body(std::size_t limit);
  boost::asio::awaitable<error_code> write_buffers(std::string_view a, std::string_view b = {},
                                                   std::string_view c = {});
  boost::asio::awaitable<error_code> sendfile_all(int fd, std::uint64_t offset, std::uint64_t length);
  void close() noexcept;
  std::string_view remote_address() const noexcept { return remote_address_; }
  const client_certificate* peer_certificate() const noexcept {
    return peer_certificate_ ? &*peer_certificate_ : nullptr;
  }

 private:
  boost::asio::awaitable<bool> serve_one();
  boost::asio::awaitable<void> reply_error_and_close(unsigned status, std::string_view reason);
  boost::asio::awaitable<error_code> wait_writable();

  boost::beast::basic_stream<boost::asio::generic::stream_protocol> stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::empty_body>> parser_;
  boost::asio::steady_timer write_timer_;
  std::shared_ptr<server_shared> shared_;
  std::string remote_address_;
  std::optional<client_certificate> peer_certificate_;
  bool idle_ = true;
  bool keep_alive_ = true;
};

}  // namespace regcache::http

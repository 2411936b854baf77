#include "connection.hpp"

#include "connection_io.hpp"
#include "server_shared.hpp"
#include "regcache/http/errc.hpp"

#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace regcache::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace beast_http = boost::beast::http;

std::string peer_address(int fd) {
  sockaddr_storage peer{};
  socklen_t length = sizeof peer;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0) return "unknown";
  char text[INET6_ADDRSTRLEN] = {};
  if (peer.ss_family == AF_INET)
    return ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&peer)->sin_addr, text, sizeof text) ? text
                                                                                                      : "unknown";
  if (peer.ss_family == AF_INET6)
    return ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&peer)->sin6_addr, text, sizeof text)
               ? text
               : "unknown";
  return "local";
}

void cancel_on_expiry(connection::socket_type* socket, const error_code& ec) {
  if (!ec) {
    error_code ignored;
    socket->cancel(ignored);
    ignore_error(ignored, "cancel of a closed socket is harmless");
  }
}

connection::connection(std::shared_ptr<server_shared> shared) : shared_(std::move(shared)) {}

const server_options& connection::options() const noexcept { return shared_->options; }

result<std::size_t> connection::body_length(std::size_t limit) const {
  if (parser_->get().chunked()) return make_error_code(errc::body_unsupported);
  const auto length = parser_->content_length().value_or(0);
  if (length > limit) return make_error_code(errc::body_too_large);
  return static_cast<std::size_t>(length);
}

void connection::close_if_idle() noexcept {
  if (idle_) close();
}

asio::awaitable<void> connection::reply_error_and_close(unsigned status, std::string_view reason) {
  std::string text = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
                     "\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: " +
                     std::to_string(reason.size()) + "\r\n\r\n" + std::string(reason);
  auto ec = co_await write_buffers(text);
  ignore_error(ec, "the connection is closed right after");
  close();
}

asio::awaitable<bool> connection::serve_one() {
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(options().max_header_bytes));
  const error_code ec = co_await read_head();
  if (ec) {
    if (ec == beast_http::error::header_limit) {
      co_await reply_error_and_close(431, "Request Header Fields Too Large");
    } else if (ec != beast_http::error::end_of_stream && ec != asio::error::eof && ec != beast::error::timeout &&
               ec != asio::error::operation_aborted && ec != asio::error::connection_reset &&
               ec != asio::error::bad_descriptor &&
               ec.category() != asio::error::get_ssl_category()) {
      co_await reply_error_and_close(400, "Bad Request");
    }
    co_return false;
  }

  const auto started = std::chrono::steady_clock::now();
  keep_alive_ = parser_->get().keep_alive() && !shared_->draining.load();
  exchange ex(*this, shared_->next_request_id());
  // A handler may read the body or not (the registry API never does): either
  // way the connection ends after the answer, so no unread body is taken for
  // the next request.
  if (ex.request_has_body()) keep_alive_ = false;

  std::string failure;
  try {
    co_await shared_->handle(ex);
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!failure.empty()) {
    spdlog::error("request id={} unhandled exception: {}", ex.request_id(), failure);
    if (!ex.head_sent()) {
      response_head head{500, {{"Content-Type", "application/json"}}, std::nullopt};
      std::string body =
          R"({"errors":[{"code":"UNKNOWN","message":"internal error; see the regcache log for the request id"}]})";
      auto send_ec = co_await ex.send(std::move(head), std::move(body));
      ignore_error(send_ec, "the client may be gone");
    } else {
      ex.abort();
    }
  }
  if (!ex.complete() && !ex.aborted()) {
    // The handler stopped mid-response (client gone or an upstream failure): the
    // framing is broken, so the connection cannot be reused.
    ex.abort();
  }
  const auto target = ex.target();
  shared_->record(ex, ex.method_name(), target.substr(0, std::min<std::size_t>(target.size(), 512)),
                  std::chrono::steady_clock::now() - started);
  co_return keep_alive_ && !ex.aborted() && !shared_->draining.load();
}

asio::awaitable<void> connection::run() {
  bool open = co_await start();
  while (open) open = co_await serve_one();
  close();
}

}  // namespace regcache::http

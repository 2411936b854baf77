#include "connection.hpp"

#include "connection_io.hpp"
#include "exchange_io.hpp"
#include "h2_session.hpp"
#include "server_shared.hpp"
#include "regcache/http/errc.hpp"

#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <spdlog/spdlog.h>

#include <boost/beast/http/status.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <optional>

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

void read_deadline::begin(clock::time_point deadline, const std::weak_ptr<connection>& owner) {
  deadline_ = deadline;
  if (deadline != clock::time_point::max()) arm(owner);
}

void read_deadline::arm(const std::weak_ptr<connection>& owner) {
  if (armed_ && timer_.expiry() <= deadline_) return;
  armed_ = true;
  // A new expiry cancels the pending wait: its handler sees operation_aborted.
  timer_.expires_at(deadline_);
  timer_.async_wait([this, owner](const error_code& ec) {
    if (ec) return;
    if (auto alive = owner.lock()) on_expiry(owner);
  });
}

void read_deadline::on_expiry(const std::weak_ptr<connection>& owner) {
  armed_ = false;
  if (deadline_ == clock::time_point::max()) return;  // no read waits: the next one arms it
  if (clock::now() < deadline_) {
    arm(owner);
    return;
  }
  error_code ec;
  socket_.cancel(ec);
  ignore_error(ec, "cancelling a closed socket is harmless");
}

void cancel_on_expiry(connection::socket_type* socket, const error_code& ec) {
  if (!ec) {
    error_code ignored;
    socket->cancel(ignored);
    ignore_error(ignored, "cancel of a closed socket is harmless");
  }
}

namespace {

// What ends every head: the connection's fate, then the empty line.
std::string_view head_end(bool keep_alive) { return keep_alive ? "\r\n" : "Connection: close\r\n\r\n"; }

std::string serialize_head(const response_head& head, bool chunked, bool keep_alive) {
  std::string out;
  out.reserve(256 + head.fields.size() * 64);
  out += "HTTP/1.1 ";
  out += std::to_string(head.status);
  out += ' ';
  const auto reason = beast_http::obsolete_reason(static_cast<beast_http::status>(head.status));
  out.append(reason.data(), reason.size());
  out += "\r\n";
  for (const auto& [name, value] : head.fields) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  if (head.content_length) {
    out += "Content-Length: ";
    out += std::to_string(*head.content_length);
    out += "\r\n";
  } else if (chunked) {
    out += "Transfer-Encoding: chunked\r\n";
  }
  out += head_end(keep_alive);
  return out;
}

// One request's response on an HTTP/1.1 connection: a body of unknown
// length is chunked; abort() cuts the connection.
class http1_exchange_io final : public exchange_io {
 public:
  explicit http1_exchange_io(connection& conn) : conn_(conn) {}

  const request_type& request() const override { return conn_.request(); }
  bool request_has_body() const noexcept override {
    const auto& req = conn_.request();
    return req.chunked() || (req.has_content_length() && req[beast_http::field::content_length] != "0");
  }
  asio::awaitable<result<std::string>> read_body(std::size_t limit) override {
    co_return co_await conn_.read_body(limit);
  }
  std::string_view remote_address() const noexcept override { return conn_.remote_address(); }
  const client_certificate* peer_certificate() const noexcept override { return conn_.peer_certificate(); }
  std::string_view protocol() const noexcept override { return "HTTP/1.1"; }

  asio::awaitable<error_code> send_head(const response_head& head, bool body_follows) override {
    chunked_ = !head.content_length && body_follows;
    const auto text = serialize_head(head, chunked_, conn_.keep_alive());
    co_return co_await conn_.write_buffers(text);
  }

  // The head and an in-memory body leave in one write: on loopback every
  // write also pays the receiver's TCP path.
  asio::awaitable<error_code> send_whole(const response_head& head, std::string_view body,
                                         bool body_follows) override {
    chunked_ = false;
    const auto text = serialize_head(head, false, conn_.keep_alive());
    co_return co_await conn_.write_buffers(text, body_follows ? body : std::string_view{});
  }

  asio::awaitable<error_code> send_prepared(const prepared_response& response, bool body_follows) override {
    chunked_ = false;
    co_return co_await conn_.write_buffers(response.http1_head(), head_end(conn_.keep_alive()),
                                           body_follows ? response.body() : std::string_view{});
  }

  asio::awaitable<error_code> write_body(std::string_view bytes) override {
    if (!chunked_) co_return co_await conn_.write_buffers(bytes);
    char size_line[24];
    const int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", bytes.size());
    co_return co_await conn_.write_buffers(std::string_view(size_line, static_cast<std::size_t>(n)), bytes, "\r\n");
  }

  asio::awaitable<error_code> send_file(int fd, std::uint64_t offset, std::uint64_t length) override {
    if (chunked_) {
      char size_line[24];
      const int n = std::snprintf(size_line, sizeof size_line, "%llx\r\n", static_cast<unsigned long long>(length));
      if (auto ec = co_await conn_.write_buffers(std::string_view(size_line, static_cast<std::size_t>(n))))
        co_return ec;
    }
    if (auto ec = co_await conn_.send_file(fd, offset, length)) co_return ec;
    if (chunked_) co_return co_await conn_.write_buffers("\r\n");
    co_return error_code{};
  }

  asio::awaitable<error_code> finish_body() override {
    if (chunked_) co_return co_await conn_.write_buffers("0\r\n\r\n");
    co_return error_code{};
  }

  void abort() noexcept override {
    conn_.set_keep_alive(false);
    conn_.close();
  }

 private:
  connection& conn_;
  bool chunked_ = false;
};

}  // namespace

asio::awaitable<void> answer(server_shared& shared, exchange& ex) {
  const auto started = std::chrono::steady_clock::now();
  std::string failure;
  try {
    co_await shared.handle(ex);
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
    // The handler stopped mid-response (client gone or an upstream failure):
    // the client must not take what it got for the whole answer.
    ex.abort();
  }
  const auto target = ex.target();
  shared.record(ex, ex.method_name(), target.substr(0, std::min<std::size_t>(target.size(), 512)),
                std::chrono::steady_clock::now() - started);
}

connection::connection(std::shared_ptr<server_shared> shared) : shared_(std::move(shared)) {}

connection::~connection() = default;

const server_options& connection::options() const noexcept { return shared_->options; }

result<std::size_t> connection::body_length(std::size_t limit) const {
  if (parser_->get().chunked()) return make_error_code(errc::body_unsupported);
  const auto length = parser_->content_length().value_or(0);
  if (length > limit) return make_error_code(errc::body_too_large);
  return static_cast<std::size_t>(length);
}

asio::awaitable<error_code> connection::read_head() {
  // Waiting for the next request: the idle timeout. Once its first bytes
  // are here, the whole head must come within header_timeout: one deadline
  // for all the reads, not a per-read timeout.
  if (buffer_.size() == 0) {
    idle_ = true;
    const auto ec = co_await read_some(clock::now() + options().idle_timeout);
    idle_ = false;
    if (ec) co_return ec;
  }
  std::optional<clock::time_point> deadline;
  for (;;) {
    error_code ec;
    const auto used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (!ec && parser_->is_header_done()) co_return error_code{};
    if (ec && ec != beast_http::error::need_more) co_return ec;
    if (!deadline) deadline = clock::now() + options().header_timeout;
    ec = co_await read_some(*deadline);
    if (ec == asio::error::eof) {
      error_code eof_ec;
      parser_->put_eof(eof_ec);
      co_return eof_ec ? eof_ec : ec;
    }
    if (ec) co_return ec;
  }
}

asio::awaitable<result<std::string>> connection::read_body(std::size_t limit) {
  const auto length = body_length(limit);
  if (!length) co_return length.error();
  std::string body;
  body.reserve(*length);
  const auto deadline = clock::now() + options().read_timeout;
  for (;;) {
    // The head's read may already have buffered the start of the body.
    const auto take = std::min<std::size_t>(buffer_.size(), *length - body.size());
    body.append(static_cast<const char*>(buffer_.data().data()), take);
    buffer_.consume(take);
    if (body.size() == *length) co_return body;
    if (auto ec = co_await read_some(deadline)) co_return ec;
  }
}

void connection::close_if_idle() noexcept {
  if (h2_) h2_->drain();
  else if (idle_) close();
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

  keep_alive_ = parser_->get().keep_alive() && !shared_->draining.load();
  http1_exchange_io io(*this);
  exchange ex(io, shared_->next_request_id());
  // A handler may read the body or not (the registry API never does): either
  // way the connection ends after the answer, so no unread body is taken for
  // the next request.
  if (ex.request_has_body()) keep_alive_ = false;
  co_await answer(*shared_, ex);
  co_return keep_alive_ && !ex.aborted() && !shared_->draining.load();
}

asio::awaitable<void> connection::serve_h2() {
  h2_ = std::make_unique<h2_session>(*this, shared_);
  co_await h2_->run();
  h2_.reset();
}

asio::awaitable<void> connection::run() {
  bool open = co_await start();
  if (open && shared_->options.http2.enabled && co_await speaks_h2()) {
    co_await serve_h2();
    open = false;
  }
  while (open) open = co_await serve_one();
  close();
}

}  // namespace regcache::http

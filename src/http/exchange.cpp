#include "regcache/http/exchange.hpp"

#include "exchange_io.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/status.hpp>

namespace regcache::http {
namespace beast_http = boost::beast::http;

namespace {

// Header names are ASCII: Beast's comparison folds case without the C locale.
bool iequals(std::string_view a, std::string_view b) { return boost::beast::iequals(a, b); }

bool status_has_no_body(unsigned status) { return status == 204 || status == 304 || status < 200; }

}  // namespace

prepared_response::prepared_response(unsigned status, header_fields fields, std::shared_ptr<const std::string> body)
    : status_(status), fields_(std::move(fields)), body_(std::move(body)) {
  http1_head_ += "HTTP/1.1 ";
  http1_head_ += std::to_string(status_);
  http1_head_ += ' ';
  const auto reason = beast_http::obsolete_reason(static_cast<beast_http::status>(status_));
  http1_head_.append(reason.data(), reason.size());
  http1_head_ += "\r\n";
  for (const auto& [name, value] : fields_) http1_head_.append(name).append(": ").append(value).append("\r\n");
  http1_head_.append("Content-Length: ").append(std::to_string(body_->size())).append("\r\n");
}

boost::asio::awaitable<error_code> exchange_io::send_whole(const response_head& head, std::string_view body,
                                                           bool body_follows) {
  if (auto ec = co_await send_head(head, body_follows)) co_return ec;
  if (!body_follows) co_return error_code{};
  if (!body.empty()) {
    if (auto ec = co_await write_body(body)) co_return ec;
  }
  co_return co_await finish_body();
}

boost::asio::awaitable<error_code> exchange_io::send_prepared(const prepared_response& response, bool body_follows) {
  const response_head head{response.status(), response.fields(), response.content_length()};
  co_return co_await send_whole(head, response.body(), body_follows);
}

exchange::exchange(exchange_io& io, std::string request_id) : io_(io), request_id_(std::move(request_id)) {}

std::string_view exchange::remote_address() const noexcept { return io_.remote_address(); }

const client_certificate* exchange::peer_certificate() const noexcept { return io_.peer_certificate(); }

std::string_view exchange::protocol() const noexcept { return io_.protocol(); }

bool exchange::is_head() const noexcept { return io_.request().method() == beast_http::verb::head; }

http::method exchange::method() const noexcept {
  switch (io_.request().method()) {
    case beast_http::verb::get: return method::get;
    case beast_http::verb::head: return method::head;
    case beast_http::verb::post: return method::post;
    case beast_http::verb::put: return method::put;
    case beast_http::verb::patch: return method::patch;
    case beast_http::verb::delete_: return method::delete_;
    case beast_http::verb::options: return method::options;
    default: return method::other;
  }
}

std::string_view exchange::method_name() const noexcept {
  const auto m = io_.request().method_string();
  return {m.data(), m.size()};
}

std::string_view exchange::target() const noexcept {
  const auto t = io_.request().target();
  return {t.data(), t.size()};
}

std::optional<std::string_view> exchange::header(std::string_view name) const {
  for (const auto& field : io_.request()) {
    const auto n = field.name_string();
    if (iequals({n.data(), n.size()}, name)) return std::string_view{field.value().data(), field.value().size()};
  }
  return std::nullopt;
}

std::vector<std::string_view> exchange::headers(std::string_view name) const {
  std::vector<std::string_view> values;
  for (const auto& field : io_.request()) {
    const auto n = field.name_string();
    if (iequals({n.data(), n.size()}, name)) values.emplace_back(field.value().data(), field.value().size());
  }
  return values;
}

bool exchange::request_has_body() const noexcept { return io_.request_has_body(); }

boost::asio::awaitable<result<std::string>> exchange::read_body(std::size_t limit) {
  co_return co_await io_.read_body(limit);
}

boost::asio::awaitable<error_code> exchange::send(response_head head, std::string body) {
  head.content_length = body.size();
  status_ = head.status;
  body_follows_ = !is_head() && !status_has_no_body(head.status);
  head_sent_ = true;
  const auto ec = co_await io_.send_whole(head, body, body_follows_);
  if (ec) co_return ec;
  if (body_follows_) body_bytes_ += body.size();
  complete_ = true;
  co_return error_code{};
}

boost::asio::awaitable<error_code> exchange::send(std::shared_ptr<const prepared_response> response) {
  status_ = response->status();
  body_follows_ = !is_head() && !status_has_no_body(status_);
  head_sent_ = true;
  const auto ec = co_await io_.send_prepared(*response, body_follows_);
  if (ec) co_return ec;
  if (body_follows_) body_bytes_ += response->content_length();
  complete_ = true;
  co_return error_code{};
}

boost::asio::awaitable<error_code> exchange::send_head(response_head head) {
  status_ = head.status;
  body_follows_ = !is_head() && !status_has_no_body(head.status);
  head_sent_ = true;
  const auto ec = co_await io_.send_head(head, body_follows_);
  if (!ec && !body_follows_) complete_ = true;
  co_return ec;
}

boost::asio::awaitable<error_code> exchange::write(std::span<const std::byte> bytes) {
  co_return co_await write(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

boost::asio::awaitable<error_code> exchange::write(std::string_view bytes) {
  if (!body_follows_ || bytes.empty()) co_return error_code{};
  const auto ec = co_await io_.write_body(bytes);
  if (!ec) body_bytes_ += bytes.size();
  co_return ec;
}

boost::asio::awaitable<error_code> exchange::send_file(int fd, std::uint64_t offset, std::uint64_t length) {
  if (!body_follows_ || length == 0) co_return error_code{};
  const auto ec = co_await io_.send_file(fd, offset, length);
  if (!ec) body_bytes_ += length;
  co_return ec;
}

boost::asio::awaitable<error_code> exchange::finish() {
  if (complete_) co_return error_code{};
  const auto ec = co_await io_.finish_body();
  if (!ec) complete_ = true;
  co_return ec;
}

void exchange::abort() noexcept {
  aborted_ = true;
  io_.abort();
}

void exchange::annotate(std::string_view route, std::string_view cache_outcome) noexcept {
  route_ = route;
  cache_outcome_ = cache_outcome;
}

}  // namespace regcache::http

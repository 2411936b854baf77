#include "regcache/http/exchange.hpp"

#include "exchange_io.hpp"

#include <algorithm>

namespace regcache::http {
namespace beast_http = boost::beast::http;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool status_has_no_body(unsigned status) { return status == 204 || status == 304 || status < 200; }

}  // namespace

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
  auto ec = co_await send_head(std::move(head));
  if (ec || complete_) co_return ec;
  if (!body.empty()) {
    ec = co_await io_.write_body(body);
    if (ec) co_return ec;
    body_bytes_ += body.size();
  }
  co_return co_await finish();
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

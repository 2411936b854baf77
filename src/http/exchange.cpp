#include "regcache/http/exchange.hpp"

#include "connection.hpp"

#include <boost/beast/http/status.hpp>

#include <algorithm>
#include <cstdio>

namespace regcache::http {
namespace beast_http = boost::beast::http;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

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
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  return out;
}

bool status_has_no_body(unsigned status) { return status == 204 || status == 304 || status < 200; }

}  // namespace

exchange::exchange(connection& conn, std::string request_id)
    : conn_(conn), request_id_(std::move(request_id)) {}

std::string_view exchange::remote_address() const noexcept { return conn_.remote_address(); }

const client_certificate* exchange::peer_certificate() const noexcept { return conn_.peer_certificate(); }

http::method exchange::method() const noexcept {
  switch (conn_.request().method()) {
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
  const auto m = conn_.request().method_string();
  return {m.data(), m.size()};
}

std::string_view exchange::target() const noexcept {
  const auto t = conn_.request().target();
  return {t.data(), t.size()};
}

std::optional<std::string_view> exchange::header(std::string_view name) const {
  for (const auto& field : conn_.request()) {
    const auto n = field.name_string();
    if (iequals({n.data(), n.size()}, name)) return std::string_view{field.value().data(), field.value().size()};
  }
  return std::nullopt;
}

std::vector<std::string_view> exchange::headers(std::string_view name) const {
  std::vector<std::string_view> values;
  for (const auto& field : conn_.request()) {
    const auto n = field.name_string();
    if (iequals({n.data(), n.size()}, name)) values.emplace_back(field.value().data(), field.value().size());
  }
  return values;
}

bool exchange::request_has_body() const noexcept {
  const auto& req = conn_.request();
  return req.chunked() || (req.has_content_length() && req[beast_http::field::content_length] != "0");
}

boost::asio::awaitable<result<std::string>> exchange::read_body(std::size_t limit) {
  co_return co_await conn_.read_body(limit);
}

boost::asio::awaitable<error_code> exchange::send(response_head head, std::string body) {
  head.content_length = body.size();
  auto ec = co_await send_head(std::move(head));
  if (ec) co_return ec;
  if (!conn_.is_head() && !status_has_no_body(status_) && !body.empty()) {
    ec = co_await write_raw(body);
    if (ec) co_return ec;
    body_bytes_ += body.size();
  }
  complete_ = true;
  co_return error_code{};
}

boost::asio::awaitable<error_code> exchange::send_head(response_head head) {
  status_ = head.status;
  declared_length_ = head.content_length;
  chunked_ = !head.content_length && !conn_.is_head() && !status_has_no_body(head.status);
  // A streamed body of unknown length on HTTP/1.0 cannot be delimited: close after it.
  if (!head.content_length && !chunked_ && !conn_.is_head() && !status_has_no_body(head.status))
    conn_.set_keep_alive(false);
  const auto text = serialize_head(head, chunked_, conn_.keep_alive());
  head_sent_ = true;
  const auto ec = co_await conn_.write_buffers(text);
  if (!ec && (conn_.is_head() || status_has_no_body(head.status))) complete_ = true;
  co_return ec;
}

boost::asio::awaitable<error_code> exchange::write_raw(std::string_view bytes) {
  co_return co_await conn_.write_buffers(bytes);
}

boost::asio::awaitable<error_code> exchange::write(std::span<const std::byte> bytes) {
  co_return co_await write(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

boost::asio::awaitable<error_code> exchange::write(std::string_view bytes) {
  if (conn_.is_head() || bytes.empty()) co_return error_code{};
  error_code ec;
  if (chunked_) {
    char size_line[24];
    const int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", bytes.size());
    ec = co_await conn_.write_buffers(std::string_view(size_line, static_cast<std::size_t>(n)), bytes, "\r\n");
  } else {
    ec = co_await conn_.write_buffers(bytes);
  }
  if (!ec) body_bytes_ += bytes.size();
  co_return ec;
}

boost::asio::awaitable<error_code> exchange::send_file(int fd, std::uint64_t offset, std::uint64_t length) {
  if (conn_.is_head() || length == 0) co_return error_code{};
  error_code ec;
  if (chunked_) {
    char size_line[24];
    const int n = std::snprintf(size_line, sizeof size_line, "%llx\r\n", static_cast<unsigned long long>(length));
    ec = co_await conn_.write_buffers(std::string_view(size_line, static_cast<std::size_t>(n)));
    if (ec) co_return ec;
  }
  ec = co_await conn_.send_file(fd, offset, length);
  if (ec) co_return ec;
  body_bytes_ += length;
  if (chunked_) ec = co_await conn_.write_buffers("\r\n");
  co_return ec;
}

boost::asio::awaitable<error_code> exchange::finish() {
  if (complete_) co_return error_code{};
  error_code ec;
  if (chunked_) ec = co_await conn_.write_buffers("0\r\n\r\n");
  if (!ec) complete_ = true;
  co_return ec;
}

void exchange::abort() noexcept {
  aborted_ = true;
  conn_.set_keep_alive(false);
  conn_.close();
}

void exchange::annotate(std::string_view route, std::string_view cache_outcome) noexcept {
  route_ = route;
  cache_outcome_ = cache_outcome;
}

}  // namespace regcache::http

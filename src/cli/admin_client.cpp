#include "regcache/cli/admin_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <array>
#include <limits>

namespace regcache::cli {
namespace asio = boost::asio;
namespace beast_http = boost::beast::http;
using asio::ip::tcp;

result<http_reply> admin_client::request(std::string_view method, std::string_view target, std::string body,
                                         const line_handler& on_line) const {
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  error_code ec;
  const auto endpoints = resolver.resolve(endpoint_.host, std::to_string(endpoint_.port), ec);
  if (ec) return ec;
  tcp::socket socket(ioc);
  asio::connect(socket, endpoints, ec);
  if (ec) return ec;

  beast_http::request<beast_http::string_body> req{
      beast_http::string_to_verb({method.data(), method.size()}), {target.data(), target.size()}, 11};
  const auto url = endpoint_.url();
  req.set(beast_http::field::host, url.substr(std::string_view("http://").size()));
  req.set(beast_http::field::user_agent, "regcache-cli/" REGCACHE_VERSION);
  req.set(beast_http::field::accept, "application/json, application/x-ndjson");
  if (!token_.empty()) req.set(beast_http::field::authorization, "Bearer " + token_);
  if (!body.empty()) {
    req.set(beast_http::field::content_type, "application/json");
    req.body() = std::move(body);
  }
  req.prepare_payload();
  beast_http::write(socket, req, ec);
  if (ec) return ec;

  boost::beast::flat_buffer buffer;
  beast_http::response_parser<beast_http::buffer_body> parser;
  // A verification or a prefetch streams for as long as it takes.
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  beast_http::read_header(socket, buffer, parser, ec);
  if (ec) return ec;
  http_reply reply{parser.get().result_int(), {}};
  const bool by_line = on_line && reply.status == 200;
  std::string pending;
  std::array<char, 16 * 1024> chunk{};
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    beast_http::read(socket, buffer, parser, ec);
    if (ec == beast_http::error::need_buffer) ec = {};
    if (ec) return ec;
    pending.append(chunk.data(), chunk.size() - parser.get().body().size);
    if (!by_line) continue;
    std::size_t start = 0;
    for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n', start)) {
      on_line(std::string_view(pending).substr(start, nl - start));
      start = nl + 1;
    }
    pending.erase(0, start);
  }
  if (by_line && !pending.empty()) on_line(pending);
  if (!by_line) reply.body = std::move(pending);
  return reply;
}

std::string admin_client::unreachable_message(const error_code& ec) const {
  return "cannot reach the regcache admin API at " + endpoint_.url() + ": " + ec.message() +
         ": is `regcache serve` running? (admin.listen)";
}

}  // namespace regcache::cli

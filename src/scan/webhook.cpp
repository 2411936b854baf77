#include "regcache/scan/webhook.hpp"

#include "regcache/scan/errc.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json.hpp>

#include <optional>

namespace regcache::scan {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr std::size_t max_answer = 64 * 1024;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct parsed_url {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;
  std::string authority;  // the Host header: host, and port unless the scheme's default
};

// scan.webhook was validated at startup (http:// or https://, a host, no
// credentials, query or fragment).
std::optional<parsed_url> parse_url(std::string_view url) {
  parsed_url out;
  if (url.starts_with("https://")) {
    out.tls = true;
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
  } else {
    return std::nullopt;
  }
  const auto slash = url.find('/');
  auto authority = url.substr(0, slash);
  out.authority = std::string(authority);
  out.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  const auto colon = authority.rfind(':');
  const auto bracket = authority.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    out.port = std::string(authority.substr(colon + 1));
    authority = authority.substr(0, colon);
    if (out.port == (out.tls ? "443" : "80")) out.authority = std::string(authority);
  } else {
    out.port = out.tls ? "443" : "80";
  }
  if (authority.starts_with('[') && authority.ends_with(']')) authority = authority.substr(1, authority.size() - 2);
  out.host = std::string(authority);
  if (out.host.empty()) return std::nullopt;
  return out;
}

webhook_reply failed(std::string why) { return {false, {store::scan_verdict::error, std::move(why), {}}}; }

template <class Stream>
asio::awaitable<webhook_reply> exchange(Stream& stream, http::request<http::string_body> request) {
  auto [write_ec, written] = co_await http::async_write(stream, request, use_tuple);
  if (write_ec) co_return failed("the scan webhook did not take the request: " + write_ec.message());
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(max_answer);
  auto [read_ec, read] = co_await http::async_read(stream, buffer, parser, use_tuple);
  if (read_ec) co_return failed("the scan webhook did not answer: " + read_ec.message());
  const auto& response = parser.get();
  if (response.result_int() == 202) co_return webhook_reply{true, {}};
  if (response.result_int() != 200)
    co_return failed("the scan webhook answered " + std::to_string(response.result_int()));
  auto outcome = parse_verdict(response.body());
  if (!outcome) co_return failed("the scan webhook's answer is not a verdict");
  co_return webhook_reply{false, std::move(*outcome)};
}

std::string body_of(const webhook_request& request) {
  boost::json::object body;
  body["image"] = request.image;
  body["digest"] = request.digest;
  body["pull_url"] = request.pull_url;
  return boost::json::serialize(body);
}

}  // namespace

asio::awaitable<webhook_reply> post_webhook(std::string url, webhook_request request,
                                            std::chrono::milliseconds timeout) {
  const auto target = parse_url(url);
  if (!target) co_return failed("scan.webhook is not an http:// or https:// URL");
  auto executor = co_await asio::this_coro::executor;
  // scan.timeout bounds the whole exchange, the name lookup included: a
  // resolver that hangs must not hold a scan slot for ever.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  asio::ip::tcp::resolver resolver(executor);
  asio::steady_timer lookup_deadline(executor, deadline);
  lookup_deadline.async_wait([&resolver](boost::system::error_code ec) {
    if (!ec) resolver.cancel();
  });
  auto [resolve_ec, endpoints] = co_await resolver.async_resolve(target->host, target->port, use_tuple);
  lookup_deadline.cancel();
  if (resolve_ec) co_return failed("cannot resolve the scan webhook's host: " + resolve_ec.message());

  http::request<http::string_body> post{http::verb::post, target->target, 11};
  post.set(http::field::host, target->authority);
  post.set(http::field::user_agent, "regcache");
  post.set(http::field::content_type, "application/json");
  post.body() = body_of(request);
  post.prepare_payload();

  beast::tcp_stream tcp(executor);
  tcp.expires_at(deadline);
  auto [connect_ec, connected] = co_await tcp.async_connect(endpoints, use_tuple);
  if (connect_ec) co_return failed("cannot connect to the scan webhook: " + connect_ec.message());
  if (!target->tls) co_return co_await exchange(tcp, std::move(post));

  asio::ssl::context tls(asio::ssl::context::tls_client);
  tls.set_default_verify_paths();
  tls.set_verify_mode(asio::ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp), tls);
  stream.set_verify_callback(asio::ssl::host_name_verification(target->host));
  if (!SSL_set_tlsext_host_name(stream.native_handle(), target->host.c_str()))
    co_return failed("cannot set the scan webhook's TLS server name");
  auto [handshake_ec] = co_await stream.async_handshake(asio::ssl::stream_base::client, use_tuple);
  if (handshake_ec) co_return failed("TLS with the scan webhook failed: " + handshake_ec.message());
  co_return co_await exchange(stream, std::move(post));
}

result<scan_outcome> parse_verdict(std::string_view json) {
  boost::system::error_code ec;
  auto value = boost::json::parse(json, ec);
  if (ec || !value.is_object()) return errc::webhook_failed;
  const auto& object = value.as_object();
  const auto text_of = [&](std::string_view key) -> std::optional<std::string> {
    const auto* found = object.if_contains(key);
    if (!found) return std::string();
    if (!found->is_string()) return std::nullopt;
    return std::string(found->as_string());
  };
  const auto verdict = text_of("verdict");
  const auto summary = text_of("summary");
  const auto report = text_of("report");
  if (!verdict || !summary || !report) return errc::webhook_failed;
  scan_outcome outcome{store::scan_verdict::error, summary->substr(0, 1024), report->substr(0, 1024)};
  if (*verdict == "pass") outcome.verdict = store::scan_verdict::pass;
  else if (*verdict == "fail") outcome.verdict = store::scan_verdict::fail;
  else if (*verdict != "error") return errc::webhook_failed;
  return outcome;
}

}  // namespace regcache::scan

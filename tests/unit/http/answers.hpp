#pragma once
// Handler answers the HTTP/1.1 and HTTP/2 tests share: each protocol must
// frame the same exchange calls its own way.
#include "regcache/core/result.hpp"
#include "regcache/http/exchange.hpp"

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace regcache::http::testing {

// Ten bytes announced, five written, then abort(): never a complete body.
inline boost::asio::awaitable<void> answer_abort(exchange& ex) {
  response_head head{200, {}, std::uint64_t{10}};
  auto ec = co_await ex.send_head(std::move(head));
  const std::string_view half = "12345";
  if (!ec) ec = co_await ex.write(half);
  ex.abort();
}

// A 304 whose body the exchange must drop.
inline boost::asio::awaitable<void> answer_not_modified(exchange& ex) {
  response_head head{304, {{"ETag", "\"x\""}}, std::nullopt};
  std::string body = "ignored body";
  auto ec = co_await ex.send(std::move(head), std::move(body));
  ignore_error(ec, "the test client reads what arrived");
}

inline boost::asio::awaitable<void> answer_prepared(exchange& ex) {
  // Made once, answered on every connection and thread as the same object.
  static const auto prepared = std::make_shared<const prepared_response>(
      200, header_fields{{"Content-Type", "text/plain"}, {"ETag", "\"p\""}},
      std::make_shared<const std::string>("prepared body"));
  auto ec = co_await ex.send(prepared);
  ignore_error(ec, "the test client reads what arrived");
}

}  // namespace regcache::http::testing

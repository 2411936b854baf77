#include "regcache/http/exchange.hpp"

#include "regcache/http/errc.hpp"
#include "unit/http/answers.hpp"
#include "unit/http/in_memory_session.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace regcache::http {
namespace {

using testing::in_memory_session;
using testing::answer_abort;
using testing::answer_not_modified;
using testing::answer_prepared;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using verb = boost::beast::http::verb;
namespace asio = boost::asio;

asio::awaitable<void> answer_file(exchange& ex) {
  const std::string path(ex.header("X-File").value_or(std::string_view()));
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  response_head head{200, {{"Content-Type", "application/octet-stream"}}, std::uint64_t{7}};
  auto ec = co_await ex.send_head(std::move(head));
  if (!ec) ec = co_await ex.send_file(fd, 3, 7);
  ::close(fd);
  if (ec) ex.abort();
}

// g++ 12: every temporary a co_await uses is a named local first.
asio::awaitable<void> send_text(exchange& ex, unsigned status, std::string body) {
  response_head head{status, {{"Content-Type", "text/plain"}}, std::nullopt};
  auto ec = co_await ex.send(std::move(head), std::move(body));
  ignore_error(ec, "the test client reads what arrived");
}

asio::awaitable<void> answer_body(exchange& ex) {
  auto body = co_await ex.read_body(16);
  if (!body) {
    const unsigned status = body.error() == errc::body_too_large ? 413 : 400;
    co_await send_text(ex, status, body.error().message());
    co_return;
  }
  co_await send_text(ex, 200, "read:" + *body);
}

asio::awaitable<void> answer_chunked(exchange& ex) {
  response_head head{200, {{"Content-Type", "text/plain"}}, std::nullopt};
  auto ec = co_await ex.send_head(std::move(head));
  const std::string_view first = "abc";
  const std::string_view second = "defg";
  if (!ec) ec = co_await ex.write(first);
  if (!ec) ec = co_await ex.write(second);
  if (!ec) ec = co_await ex.finish();
}

// One handler for every case, chosen by the target.
asio::awaitable<void> answer(exchange& ex) {
  const std::string target(ex.target());
  if (target == "/hello") {
    co_await send_text(ex, 200, "hello");
  } else if (target == "/not-modified") {
    co_await answer_not_modified(ex);
  } else if (target == "/prepared") {
    co_await answer_prepared(ex);
  } else if (target == "/chunked") {
    co_await answer_chunked(ex);
  } else if (target == "/file") {
    co_await answer_file(ex);
  } else if (target == "/headers") {
    std::string seen(ex.header("x-single").value_or(std::string_view("-")));
    for (const auto value : ex.headers("X-Multi")) seen += "|" + std::string(value);
    co_await send_text(ex, 200, std::string(ex.method_name()) + " " + seen);
  } else if (target == "/body") {
    co_await answer_body(ex);
  } else if (target == "/abort") {
    co_await answer_abort(ex);
  } else if (target == "/throw") {
    throw std::runtime_error("handler bug");
  } else if (target == "/peer") {
    const auto* certificate = ex.peer_certificate();
    co_await send_text(ex, 200, std::string(ex.remote_address()) + " " + (certificate ? "certificate" : "none"));
  } else if (target == "/annotated") {
    ex.annotate("test-route", "hit");
    co_await send_text(ex, 200, "ok");
  } else {
    co_await send_text(ex, 404, "no such test target");
  }
}

class exchange_test : public ::testing::Test {
 protected:
  in_memory_session session_{answer};
};

TEST_F(exchange_test, whole_response_carries_its_length_and_keeps_the_connection) {
  const auto res = session_.request(verb::get, "/hello");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "hello");
  EXPECT_EQ(res["Content-Length"], "5");
  EXPECT_EQ(res["Content-Type"], "text/plain");
  EXPECT_TRUE(res.keep_alive());
}

TEST_F(exchange_test, a_plain_socketpair_peer_is_local_and_has_no_certificate) {
  EXPECT_EQ(session_.request(verb::get, "/peer").body(), "local none");
}

TEST_F(exchange_test, head_gets_the_get_head_and_no_body_bytes) {
  const auto raw = session_.raw("HEAD /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(raw, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(raw, HasSubstr("Content-Length: 5\r\n"));
  EXPECT_THAT(raw, EndsWith("\r\n\r\n")) << "nothing may follow the head of a HEAD answer";
}

TEST_F(exchange_test, not_modified_has_no_body_and_keeps_the_connection_usable) {
  auto client = session_.connect();
  boost::beast::flat_buffer buffer;
  boost::beast::http::request<boost::beast::http::string_body> req(verb::get, "/not-modified", 11);
  const auto first = in_memory_session::exchange_on(client, req, buffer);
  EXPECT_EQ(first.result_int(), 304);
  EXPECT_EQ(first["ETag"], "\"x\"");
  EXPECT_EQ(first.body(), "");
  boost::beast::http::request<boost::beast::http::string_body> next(verb::get, "/hello", 11);
  const auto second = in_memory_session::exchange_on(client, next, buffer);
  EXPECT_EQ(second.body(), "hello") << "the 304 left no stray bytes on the connection";
}

TEST_F(exchange_test, keep_alive_serves_requests_one_after_another) {
  auto client = session_.connect();
  boost::beast::flat_buffer buffer;
  for (int i = 0; i < 3; ++i) {
    boost::beast::http::request<boost::beast::http::string_body> req(verb::get, "/hello", 11);
    EXPECT_EQ(in_memory_session::exchange_on(client, req, buffer).body(), "hello") << i;
  }
}

TEST_F(exchange_test, a_prepared_response_is_sent_whole_and_keeps_the_connection) {
  auto client = session_.connect();
  boost::beast::flat_buffer buffer;
  for (int i = 0; i < 2; ++i) {
    boost::beast::http::request<boost::beast::http::string_body> req(verb::get, "/prepared", 11);
    const auto res = in_memory_session::exchange_on(client, req, buffer);
    EXPECT_EQ(res.result_int(), 200) << i;
    EXPECT_EQ(res.body(), "prepared body") << i;
    EXPECT_EQ(res["Content-Length"], "13") << i;
    EXPECT_EQ(res["ETag"], "\"p\"") << i;
    EXPECT_TRUE(res.keep_alive()) << i;
  }
  boost::beast::http::request<boost::beast::http::string_body> head(verb::head, "/prepared", 11);
  const auto res = in_memory_session::exchange_on(client, head, buffer);
  EXPECT_EQ(res["Content-Length"], "13");
  boost::beast::http::request<boost::beast::http::string_body> next(verb::get, "/hello", 11);
  EXPECT_EQ(in_memory_session::exchange_on(client, next, buffer).body(), "hello")
      << "the HEAD answer left no body bytes on the connection";
}

TEST_F(exchange_test, a_prepared_response_says_when_the_connection_ends) {
  const auto raw = session_.raw("GET /prepared HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(raw,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nETag: \"p\"\r\nContent-Length: 13\r\n"
            "Connection: close\r\n\r\nprepared body");
  const auto head = session_.raw("HEAD /prepared HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(head, HasSubstr("Content-Length: 13\r\n"));
  EXPECT_THAT(head, EndsWith("Connection: close\r\n\r\n")) << "nothing may follow the head of a HEAD answer";
}

TEST_F(exchange_test, streamed_body_of_unknown_length_is_chunked) {
  const auto raw = session_.raw("GET /chunked HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(raw, HasSubstr("Transfer-Encoding: chunked\r\n"));
  EXPECT_THAT(raw, EndsWith("\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"));
  EXPECT_EQ(session_.request(verb::get, "/chunked").body(), "abcdefg");
}

TEST_F(exchange_test, head_of_a_streamed_body_sends_no_chunks) {
  const auto raw = session_.raw("HEAD /chunked HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(raw, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(raw, Not(HasSubstr("Transfer-Encoding")));
  EXPECT_THAT(raw, EndsWith("\r\n\r\n"));
}

TEST_F(exchange_test, file_bytes_go_out_with_sendfile) {
  const auto path = std::filesystem::temp_directory_path() / ("regcache-exchange-" + std::to_string(::getpid()));
  std::ofstream(path) << "0123456789abcdef";
  const auto res = session_.request(verb::get, "/file", {{"X-File", path.string()}});
  std::filesystem::remove(path);
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "3456789");
}

TEST_F(exchange_test, request_headers_are_found_case_insensitively_and_in_order) {
  auto client = session_.connect();
  const std::string request =
      "GET /headers HTTP/1.1\r\nHost: x\r\nX-Single: one\r\nx-multi: a\r\nX-MULTI: b\r\nConnection: close\r\n\r\n";
  asio::write(client, asio::buffer(request));
  const auto raw = in_memory_session::read_until_closed(client);
  EXPECT_THAT(raw, EndsWith("GET one|a|b"));
}

TEST_F(exchange_test, request_body_is_read_within_its_limit_and_ends_the_connection) {
  const auto res = session_.request(verb::post, "/body", {}, "hi there");
  EXPECT_EQ(res.body(), "read:hi there");
  EXPECT_FALSE(res.keep_alive()) << "a request with a body ends its connection";

  const auto too_large = session_.request(verb::post, "/body", {}, std::string(17, 'x'));
  EXPECT_EQ(too_large.result_int(), 413);

  const auto chunked = session_.raw(
      "POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n");
  EXPECT_THAT(chunked, StartsWith("HTTP/1.1 400 "));
  EXPECT_THAT(chunked, HasSubstr(make_error_code(errc::body_unsupported).message()));
}

TEST_F(exchange_test, abort_cuts_the_response_short) {
  const auto raw = session_.raw("GET /abort HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(raw, HasSubstr("Content-Length: 10\r\n"));
  EXPECT_THAT(raw, EndsWith("\r\n\r\n12345")) << "the client sees a truncated body, and the connection closed";
}

TEST_F(exchange_test, exception_before_the_head_is_an_oci_500) {
  const auto res = session_.request(verb::get, "/throw");
  EXPECT_EQ(res.result_int(), 500);
  EXPECT_THAT(res.body(), HasSubstr("\"code\":\"UNKNOWN\""));
}

TEST_F(exchange_test, annotation_labels_the_request_metrics) {
  auto client = session_.connect();
  boost::beast::flat_buffer buffer;
  boost::beast::http::request<boost::beast::http::string_body> annotated(verb::get, "/annotated", 11);
  EXPECT_EQ(in_memory_session::exchange_on(client, annotated, buffer).result_int(), 200);
  // A request is recorded after its answer: once the next one on the
  // connection is answered, the first is in the metrics.
  boost::beast::http::request<boost::beast::http::string_body> next(verb::get, "/hello", 11);
  EXPECT_EQ(in_memory_session::exchange_on(client, next, buffer).result_int(), 200);
  const auto text = session_.metrics().expose();
  EXPECT_THAT(text, HasSubstr("route=\"test-route\""));
  EXPECT_THAT(text, HasSubstr("status=\"200\""));
}

TEST_F(exchange_test, malformed_and_oversized_heads_are_refused_by_the_server) {
  EXPECT_THAT(session_.raw("NOT HTTP\r\n\r\n"), StartsWith("HTTP/1.1 400 Bad Request"));
  server_options small;
  small.max_header_bytes = 1024;
  in_memory_session limited(answer, small);
  const auto raw = limited.raw("GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2048, 'b') + "\r\n\r\n");
  EXPECT_THAT(raw, StartsWith("HTTP/1.1 431 Request Header Fields Too Large"));
}

TEST_F(exchange_test, while_draining_every_answer_closes_its_connection) {
  session_.server().drain();
  const auto res = session_.request(verb::get, "/hello");
  EXPECT_EQ(res.body(), "hello");
  EXPECT_FALSE(res.keep_alive());
}

}  // namespace
}  // namespace regcache::http

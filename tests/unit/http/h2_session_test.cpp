// HTTP/2 through the same server and exchange API as HTTP/1.1: an nghttp2
// client speaks h2c with prior knowledge on a socketpair (in_memory_session).
#include "regcache/http/exchange.hpp"

#include "unit/http/h2_client.hpp"
#include "unit/http/answers.hpp"
#include "unit/http/in_memory_session.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace regcache::http {
namespace {

using testing::h2_client;
using testing::in_memory_session;
using testing::answer_abort;
using testing::answer_not_modified;
using testing::answer_prepared;
using ::testing::HasSubstr;
namespace asio = boost::asio;

std::string file_content() {
  std::string content(3 * 1024 * 1024 + 123, '\0');
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>((i * 7919) >> 5);
  return content;
}

const std::filesystem::path& content_file() {
  static const std::filesystem::path path = [] {
    auto p = std::filesystem::temp_directory_path() / ("regcache-h2-test-" + std::to_string(::getpid()));
    std::ofstream(p, std::ios::binary) << file_content();
    return p;
  }();
  return path;
}

std::atomic<bool> released{false};

asio::awaitable<void> send_text(exchange& ex, unsigned status, std::string body) {
  response_head head{status, {{"Content-Type", "text/plain"}, {"Connection", "keep-alive"}}, std::nullopt};
  auto ec = co_await ex.send(std::move(head), std::move(body));
  ignore_error(ec, "the test client reads what arrived");
}

// The file from byte 100, in two send_file calls and a memory piece between.
asio::awaitable<void> answer_file(exchange& ex) {
  const int fd = ::open(content_file().c_str(), O_RDONLY | O_CLOEXEC);
  const auto size = static_cast<std::uint64_t>(std::filesystem::file_size(content_file()));
  response_head head{200, {{"Content-Type", "application/octet-stream"}}, size - 100 + 3};
  auto ec = co_await ex.send_head(std::move(head));
  if (!ec) ec = co_await ex.send_file(fd, 100, 1000);
  const std::string_view between = "|||";
  if (!ec) ec = co_await ex.write(between);
  if (!ec) ec = co_await ex.send_file(fd, 1100, size - 1100);
  ::close(fd);
  if (!ec) ec = co_await ex.finish();
  if (ec) ex.abort();
}

asio::awaitable<void> answer_streamed(exchange& ex) {
  response_head head{200, {{"Content-Type", "text/plain"}}, std::nullopt};
  auto ec = co_await ex.send_head(std::move(head));
  const std::string_view first = "abc";
  const std::string big(600 * 1024, 'x');  // above the memory high-water mark
  if (!ec) ec = co_await ex.write(first);
  if (!ec) ec = co_await ex.write(std::string_view(big));
  if (!ec) ec = co_await ex.finish();
}

asio::awaitable<void> answer_body(exchange& ex) {
  auto body = co_await ex.read_body(16);
  if (!body) co_return co_await send_text(ex, 413, body.error().message());
  co_await send_text(ex, 200, "read:" + *body + (ex.request_has_body() ? " has-body" : ""));
}

asio::awaitable<void> answer_after_release(exchange& ex) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!released.load()) {
    timer.expires_after(std::chrono::milliseconds(5));
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    ignore_error(ec, "polling");
  }
  co_await send_text(ex, 200, "released");
}

asio::awaitable<void> answer(exchange& ex) {
  const std::string target(ex.target());
  if (target == "/prepared") co_return co_await answer_prepared(ex);
  if (target == "/hello") co_return co_await send_text(ex, 200, "hello " + std::string(ex.method_name()));
  if (target == "/file") co_return co_await answer_file(ex);
  if (target == "/streamed") co_return co_await answer_streamed(ex);
  if (target == "/abort") co_return co_await answer_abort(ex);
  if (target == "/not-modified") co_return co_await answer_not_modified(ex);
  if (target == "/body") co_return co_await answer_body(ex);
  if (target == "/slow") co_return co_await answer_after_release(ex);
  if (target == "/headers") {
    std::string seen(ex.header("host").value_or("-"));
    for (const auto value : ex.headers("X-Multi")) seen += "|" + std::string(value);
    co_return co_await send_text(ex, 200, seen + " " + std::string(ex.protocol()));
  }
  if (target == "/throw") throw std::runtime_error("handler bug");
  co_await send_text(ex, 404, "no such test target");
}

class h2_session_test : public ::testing::Test {
 protected:
  in_memory_session session_{answer};
};

TEST_F(h2_session_test, prior_knowledge_preface_gets_http2_with_the_same_answers) {
  h2_client client(session_.connect());
  const auto get = client.submit("GET", "/hello");
  const auto head = client.submit("HEAD", "/hello");
  const auto missing = client.submit("GET", "/nope");
  client.run();
  EXPECT_EQ(client.at(get).status, 200);
  EXPECT_EQ(client.at(get).body, "hello GET");
  EXPECT_EQ(client.at(get).fields.at("content-length"), "9");
  EXPECT_EQ(client.at(get).fields.at("content-type"), "text/plain");
  EXPECT_EQ(client.at(get).fields.count("connection"), 0u) << "connection-specific fields are dropped";
  EXPECT_EQ(client.at(head).status, 200);
  EXPECT_EQ(client.at(head).fields.at("content-length"), "10");
  EXPECT_EQ(client.at(head).body, "");
  EXPECT_TRUE(client.at(head).ended);
  EXPECT_EQ(client.at(missing).status, 404);
}

TEST_F(h2_session_test, a_prepared_response_is_framed_from_its_fields) {
  h2_client client(session_.connect());
  const auto get = client.submit("GET", "/prepared");
  const auto head = client.submit("HEAD", "/prepared");
  client.run();
  EXPECT_EQ(client.at(get).status, 200);
  EXPECT_EQ(client.at(get).body, "prepared body");
  EXPECT_EQ(client.at(get).fields.at("content-length"), "13");
  EXPECT_EQ(client.at(get).fields.at("etag"), "\"p\"");
  EXPECT_EQ(client.at(head).fields.at("content-length"), "13");
  EXPECT_EQ(client.at(head).body, "");
  EXPECT_TRUE(client.at(head).ended);
}

TEST_F(h2_session_test, request_fields_and_authority_reach_the_handler) {
  h2_client client(session_.connect());
  const auto id = client.submit("GET", "/headers", {{"x-multi", "a"}, {"x-multi", "b"}});
  client.run();
  EXPECT_EQ(client.at(id).body, "regcache.test|a|b HTTP/2");
}

TEST_F(h2_session_test, not_modified_ends_with_its_head) {
  h2_client client(session_.connect());
  const auto id = client.submit("GET", "/not-modified");
  client.run();
  EXPECT_EQ(client.at(id).status, 304);
  EXPECT_EQ(client.at(id).body, "");
  EXPECT_TRUE(client.at(id).ended);
}

TEST_F(h2_session_test, file_and_memory_pieces_arrive_whole_through_flow_control) {
  h2_client client(session_.connect());  // the client's 64 KiB windows: many WINDOW_UPDATEs
  const auto content = file_content();
  const auto expected = content.substr(100, 1000) + "|||" + content.substr(1100);
  std::vector<std::int32_t> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(client.submit("GET", "/file"));
  const auto streamed = client.submit("GET", "/streamed");
  client.run();
  for (const auto id : ids) {
    EXPECT_EQ(client.at(id).status, 200);
    EXPECT_TRUE(client.at(id).ended);
    EXPECT_EQ(client.at(id).body.size(), expected.size());
    EXPECT_TRUE(client.at(id).body == expected) << "stream " << id;
  }
  EXPECT_EQ(client.at(streamed).body, "abc" + std::string(600 * 1024, 'x'));
  EXPECT_EQ(client.at(streamed).fields.count("content-length"), 0u);
}

TEST_F(h2_session_test, abort_resets_the_stream_with_internal_error_and_spares_the_others) {
  h2_client client(session_.connect());
  const auto aborted = client.submit("GET", "/abort");
  const auto fine = client.submit("GET", "/hello");
  client.run();
  ASSERT_TRUE(client.at(aborted).reset.has_value());
  EXPECT_EQ(*client.at(aborted).reset, static_cast<std::uint32_t>(NGHTTP2_INTERNAL_ERROR));
  EXPECT_FALSE(client.at(aborted).ended) << "never ended cleanly";
  EXPECT_EQ(client.at(fine).body, "hello GET");
  EXPECT_FALSE(client.closed_by_server());
}

TEST_F(h2_session_test, exception_before_the_head_is_a_500) {
  h2_client client(session_.connect());
  const auto id = client.submit("GET", "/throw");
  client.run();
  EXPECT_EQ(client.at(id).status, 500);
  EXPECT_THAT(client.at(id).body, HasSubstr("\"code\":\"UNKNOWN\""));
}

TEST_F(h2_session_test, request_body_is_read_within_its_limit) {
  h2_client client(session_.connect());
  const auto small = client.submit("POST", "/body", {}, std::string("payload"));
  const auto large = client.submit("POST", "/body", {}, std::string(100, 'z'));
  const auto none = client.submit("GET", "/body");
  client.run();
  EXPECT_EQ(client.at(small).body, "read:payload has-body");
  EXPECT_EQ(client.at(large).status, 413);
  EXPECT_EQ(client.at(none).body, "read:");
}

TEST_F(h2_session_test, header_list_over_the_limit_is_a_431_whatever_the_continuations) {
  server_options options;
  options.http2.max_header_list_size = 4096;
  in_memory_session limited(answer, options);
  h2_client client(limited.connect());
  // 20 KiB of fields: nghttp2 sends a HEADERS frame and CONTINUATIONs.
  const auto big = client.submit("GET", "/hello", {{"x-big", std::string(20 * 1024, 'b')}});
  const auto fine = client.submit("GET", "/hello");
  client.run();
  EXPECT_EQ(client.at(big).status, 431);
  EXPECT_EQ(client.at(fine).status, 200);
}

TEST_F(h2_session_test, continuation_flood_ends_the_connection) {
  using testing::raw_frame;
  // HEADERS without END_HEADERS, then CONTINUATIONs that never end it:
  // nghttp2 stops after max_continuations with GOAWAY, long before the
  // header list limit would have had the request refused.
  std::string bytes = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + raw_frame(NGHTTP2_SETTINGS, 0, 0, "");
  bytes += raw_frame(NGHTTP2_HEADERS, 0, 1, "\x82\x86\x84");  // GET, http, /
  // A literal field "x-pad" without indexing, its value 1027 bytes long.
  std::string literal = std::string("\x00\x05x-pad\x7f\x84\x07", 9) + std::string(1027, 'p');
  for (int i = 0; i < 64; ++i) bytes += raw_frame(NGHTTP2_CONTINUATION, 0, 1, literal);
  auto client = session_.connect();
  boost::system::error_code ec;
  asio::write(client, asio::buffer(bytes), ec);
  ignore_error(ec, "the server may close before the flood is all written");
  const auto goaway = testing::goaway_in(in_memory_session::read_until_closed(client));
  ASSERT_TRUE(goaway.has_value());
  EXPECT_NE(*goaway, static_cast<std::uint32_t>(NGHTTP2_NO_ERROR));
}

TEST_F(h2_session_test, rapid_resets_past_the_rate_end_the_connection) {
  server_options options;
  options.http2.reset_burst = 20;
  options.http2.reset_rate = 1;
  in_memory_session limited(answer, options);
  h2_client client(limited.connect());
  for (int i = 0; i < 200 && !client.closed_by_server(); ++i) {
    const auto id = client.submit("GET", "/hello");
    client.run_pending();
    nghttp2_submit_rst_stream(client.session(), NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    client.run_pending();
  }
  client.run_until_closed();
  EXPECT_TRUE(client.goaway().has_value());
}

TEST_F(h2_session_test, ping_flood_gets_goaway_enhance_your_calm) {
  server_options options;
  options.http2.control_frame_burst = 10;
  options.http2.control_frame_rate = 1;
  in_memory_session limited(answer, options);
  h2_client client(limited.connect());
  for (int i = 0; i < 100; ++i) nghttp2_submit_ping(client.session(), NGHTTP2_FLAG_NONE, nullptr);
  client.run_until_closed();
  ASSERT_TRUE(client.goaway().has_value());
  EXPECT_EQ(*client.goaway(), static_cast<std::uint32_t>(NGHTTP2_ENHANCE_YOUR_CALM));
}

TEST_F(h2_session_test, drain_sends_goaway_and_lets_the_open_stream_finish) {
  released = false;
  h2_client client(session_.connect());
  const auto id = client.submit("GET", "/slow");
  client.run_pending();
  // The request is in its handler before the drain starts.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  session_.server().drain();
  released = true;
  client.run_until_closed();
  ASSERT_TRUE(client.goaway().has_value());
  EXPECT_EQ(*client.goaway(), static_cast<std::uint32_t>(NGHTTP2_NO_ERROR));
  EXPECT_EQ(client.at(id).body, "released");
  EXPECT_TRUE(client.at(id).ended);
}

TEST_F(h2_session_test, idle_connection_gets_goaway_after_the_idle_timeout) {
  server_options options;
  options.idle_timeout = std::chrono::milliseconds(100);
  in_memory_session limited(answer, options);
  h2_client client(limited.connect());
  const auto id = client.submit("GET", "/hello");
  client.run();
  EXPECT_EQ(client.at(id).status, 200);
  client.run_until_closed();
  ASSERT_TRUE(client.goaway().has_value());
  EXPECT_EQ(*client.goaway(), static_cast<std::uint32_t>(NGHTTP2_NO_ERROR));
}

TEST_F(h2_session_test, disabled_http2_leaves_the_preface_to_http1) {
  server_options options;
  options.http2.enabled = false;
  in_memory_session plain_only(answer, options);
  const auto raw = plain_only.raw("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  EXPECT_THAT(raw, ::testing::StartsWith("HTTP/1.1 400"));
}

}  // namespace
}  // namespace regcache::http

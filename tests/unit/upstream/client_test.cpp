#include "regcache/upstream/client.hpp"

#include "unit/upstream/test_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/system/system_error.hpp>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <optional>
#include <random>
#include <thread>

namespace regcache::upstream {
namespace {
namespace asio = boost::asio;
using test::pattern;
using test::query_size;
using test::reply;
using test::run;
using test::seen_request;
using test::store_into;
using test::test_server;
using test::then;
using asio::ip::tcp;
using namespace std::chrono_literals;


std::string head_of(std::size_t length, std::string_view extra = {}) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " + std::to_string(length) +
         "\r\n" + std::string(extra) + "\r\n";
}

// The behaviours the tests ask for, by path:
//   /blob?size=N         200 with Content-Length (HEAD: the head only)
//   /chunked?size=N      200, chunked in growing pieces, with an extension and a trailer
//   /close-after?size=N  200, then the server closes the connection while the client pools it
//   /no-keepalive        200 with "Connection: close"
//   /drop-on-reuse       answers the first request of a connection, closes silently on later ones
//   /drop                closes without answering
//   /stall               never answers
//   /stall-body          head + 10 of 100 body bytes, then nothing
//   /slow-body           head + 1000 of 5000 body bytes, the rest in 4 pieces 150 ms apart
//   /short-body          head + 10 of 100 body bytes, then close
//   /until-close?size=N  200 without Content-Length or chunking: the body ends with the connection
//   /interim             103 Early Hints before the 200
//   /garbage             not HTTP
//   /big-header          a 70 KB header field
reply route(const seen_request& req, std::size_t nth_on_connection) {
  const std::string& target = req.target;
  const std::string path = req.path();
  const bool head = req.method == "HEAD";
  const std::size_t size = query_size(target);
  if (path.ends_with("/blob")) return {head_of(size) + (head ? "" : pattern(size))};
  if (path == "/chunked") {
    std::string out = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n";
    const std::string body = pattern(size);
    std::size_t piece = 1;
    for (std::size_t at = 0; at < body.size(); at += piece, piece *= 3) {
      const auto part = body.substr(at, piece);
      char len[32];
      std::snprintf(len, sizeof len, "%zx", part.size());
      out += std::string(len) + (piece == 3 ? ";ext=1" : "") + "\r\n" + part + "\r\n";
    }
    return {out + "0\r\nX-Checksum: none\r\n\r\n"};
  }
  if (path == "/close-after") return {head_of(size) + pattern(size), then::close};
  if (path == "/no-keepalive") return {head_of(5, "Connection: close\r\n") + pattern(5), then::close};
  if (path == "/drop-on-reuse") {
    if (nth_on_connection > 0) return {"", then::close};
    return {head_of(3) + pattern(3)};
  }
  if (path == "/drop") return {"", then::close};
  if (path == "/stall") return {"", then::stall};
  if (path == "/stall-body") return {head_of(100) + pattern(10), then::stall};
  if (path == "/slow-body") {
    const auto body = pattern(5000);
    return {head_of(5000) + body.substr(0, 1000), then::keep,
            {body.substr(1000, 1000), body.substr(2000, 1000), body.substr(3000, 1000), body.substr(4000)}, 150ms};
  }
  if (path == "/short-body") return {head_of(100) + pattern(10), then::close};
  if (path == "/interim")
    return {"HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n" + head_of(4) + pattern(4)};
  if (path == "/until-close") return {"HTTP/1.1 200 OK\r\n\r\n" + pattern(size), then::close};
  if (path == "/garbage") return {"NOT HTTP AT ALL\r\n\r\n", then::close};
  if (path == "/big-header") return {head_of(0, "X-Big: " + std::string(70'000, 'x') + "\r\n")};
  return {"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"};
}

request get(std::string target) { return request{method::get, std::move(target), {}}; }

// Reads the body in pieces of at most `chunk` bytes, checking that no read overflows.
asio::awaitable<result<std::string>> read_in_chunks(response* r, std::size_t chunk) {
  std::string out;
  std::vector<std::byte> buf(chunk);
  for (;;) {
    const std::span<std::byte> piece(buf);
    auto n = co_await r->read_some(piece);
    if (!n) co_return n.error();
    if (*n == 0) co_return out;
    EXPECT_LE(*n, chunk);
    out.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
}

asio::awaitable<result<std::string>> fetch(client* c, std::string target, std::size_t limit) {
  auto sent = co_await c->send(get(std::move(target)));
  if (!sent) co_return sent.error();
  auto r = std::move(*sent);
  co_return co_await r.read_all(limit);
}

endpoint local(std::uint16_t port, std::string scheme = "http", std::string base_path = "") {
  return endpoint{std::move(scheme), "127.0.0.1", port, std::move(base_path)};
}

class client_test : public ::testing::Test {
 protected:
  client_options fast_options() const {
    client_options opts;
    opts.connect_timeout = 2s;
    opts.read_timeout = 2s;
    opts.user_agent = "regcache-test";
    return opts;
  }

  asio::io_context ioc;
  test_server server{route};
};

TEST_F(client_test, get_streams_content_length_body_in_small_chunks) {
  client c(ioc.get_executor(), local(server.port()), fast_options());
  auto r = run(ioc, c.send(get("/blob?size=100000")));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status(), 200u);
  EXPECT_EQ(r->content_length(), 100000u);
  EXPECT_EQ(r->header("content-type"), "application/octet-stream");
  EXPECT_FALSE(r->body_done());
  auto body = run(ioc, read_in_chunks(&*r, 7));
  ASSERT_TRUE(body) << body.error().message();
  EXPECT_EQ(*body, pattern(100000));
  EXPECT_TRUE(r->body_done());
  std::array<std::byte, 4> more{};
  auto after = run(ioc, r->read_some(std::span<std::byte>(more)));
  ASSERT_TRUE(after);
  EXPECT_EQ(*after, 0u);
}

TEST_F(client_test, get_streams_chunked_body) {
  client c(ioc.get_executor(), local(server.port()), fast_options());
  auto r = run(ioc, c.send(get("/chunked?size=5000")));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status(), 200u);
  EXPECT_EQ(r->content_length(), std::nullopt);
  auto body = run(ioc, read_in_chunks(&*r, 100));
  ASSERT_TRUE(body) << body.error().message();
  EXPECT_EQ(*body, pattern(5000));
  r = run(ioc, c.send(get("/chunked?size=5000")));  // the chunked framing ended cleanly: reused
  ASSERT_TRUE(r);
  EXPECT_EQ(server.connections(), 1u);
}

TEST_F(client_test, body_delimited_by_close_is_read_to_the_end_and_not_pooled) {
  client c(ioc.get_executor(), local(server.port()), fast_options());
  auto r = run(ioc, c.send(get("/until-close?size=3000")));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->content_length(), std::nullopt);
  auto body = run(ioc, read_in_chunks(&*r, 512));
  ASSERT_TRUE(body) << body.error().message();
  EXPECT_EQ(*body, pattern(3000));
  EXPECT_EQ(c.idle_connections(), 0u);
}

TEST_F(client_test, head_reports_length_without_a_body) {
  client c(ioc.get_executor(), local(server.port()), fast_options());
  auto r = run(ioc, c.send(request{method::head, "/blob?size=12345", {}}));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status(), 200u);
  EXPECT_EQ(r->content_length(), 12345u);
  EXPECT_TRUE(r->body_done());
  EXPECT_EQ(c.idle_connections(), 1u);  // nothing to read: back in the pool at once
  auto body = run(ioc, r->read_all(10));
  ASSERT_TRUE(body);
  EXPECT_EQ(*body, "");
  auto next = run(ioc, fetch(&c, "/blob?size=3", 100));
  ASSERT_TRUE(next) << next.error().message();
  EXPECT_EQ(*next, pattern(3));
  EXPECT_EQ(server.connections(), 1u);
  ASSERT_EQ(server.requests().size(), 2u);
  EXPECT_EQ(server.requests()[0].method, "HEAD");
}

TEST_F(client_test, sends_default_and_caller_headers_under_the_base_path) {
  client c(ioc.get_executor(), local(server.port(), "http", "/prefix"), fast_options());
  request req = get("/blob?size=1");
  req.headers = {{"Accept", "application/vnd.oci.image.index.v1+json"},
                 {"Accept", "application/vnd.oci.image.manifest.v1+json"}};
  auto r = run(ioc, c.send(std::move(req)));
  ASSERT_TRUE(r) << r.error().message();
  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target, "/prefix/blob?size=1");
  EXPECT_EQ(seen[0].values("Host"), std::vector<std::string>{"127.0.0.1:" + std::to_string(server.port())});
  EXPECT_EQ(seen[0].values("User-Agent"), std::vector<std::string>{"regcache-test"});
  EXPECT_EQ(seen[0].values("Accept-Encoding"), std::vector<std::string>{"identity"});
  EXPECT_EQ(seen[0].values("Connection"), std::vector<std::string>{"keep-alive"});
  EXPECT_EQ(seen[0].values("Accept"), (std::vector<std::string>{"application/vnd.oci.image.index.v1+json",
                                                                "application/vnd.oci.image.manifest.v1+json"}));
}

TEST_F(client_test, caller_headers_replace_defaults) {
  client c(ioc.get_executor(), local(server.port()), fast_options());
  request req = get("/blob?size=1");
  req.headers = {{"user-agent", "other/1.0"}};
  auto r = run(ioc, c.send(std::move(req)));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(server.requests().at(0).values("User-Agent"), std::vector<std::string>{"other/1.0"});
}

TEST_F(client_test, rejects_malformed_requests_without_connecting) {
  client c(ioc.get_executor(), local(server.port()), fast_options());
  const std::vector<request> bad = {
      get("relative"),
      get(""),
      get("/a b"),
      get("/a\r\nX-Injected: 1"),
      request{method::get, "/ok", {{"X-Token", "abc\r\nX-Injected: 1"}}},
      request{method::get, "/ok", {{"Bad Name", "v"}}},
      request{method::get, "/ok", {{"", "v"}}},
  };
  for (const auto& req : bad) {
    auto r = run(ioc, c.send(req));
    ASSERT_FALSE(r) << req.target;
    EXPECT_EQ(r.error(), errc::invalid_request) << req.target;
  }
  EXPECT_EQ(server.connections(), 0u);
}

TEST_F(client_test, keep_alive_reuses_one_connection) {
  client c(ioc.get_executor(), local(server.port()), fast_options());
  for (int i = 0; i < 3; ++i) {
    auto body = run(ioc, fetch(&c, "/blob?size=1000", 4096));
    ASSERT_TRUE(body) << body.error().message();
    EXPECT_EQ(*body, pattern(1000));
    EXPECT_EQ(c.idle_connections(), 1u);
  }
  EXPECT_EQ(server.connections(), 1u);
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST_F(client_test, unread_body_closes_the_connection) {
  client c(ioc.get_executor(), local(server.port()), fast_options());
  {
    auto r = run(ioc, c.send(get("/blob?size=100000")));
    ASSERT_TRUE(r) << r.error().message();
    std::array<std::byte, 10> buf{};
    auto n = run(ioc, r->read_some(std::span<std::byte>(buf)));
    ASSERT_TRUE(n);
    EXPECT_GT(*n, 0u);
  }
  EXPECT_EQ(c.idle_connections(), 0u);
  auto body = run(ioc, fetch(&c, "/blob?size=10", 100));
  ASSERT_TRUE(body) << body.error().message();
  EXPECT_EQ(*body, pattern(10));
  EXPECT_EQ(server.connections(), 2u);
}

TEST_F(client_test, connection_close_from_upstream_is_honoured) {
  client c(ioc.get_executor(), local(server.port()), fast_options());
  auto body = run(ioc, fetch(&c, "/no-keepalive", 100));
  ASSERT_TRUE(body) << body.error().message();
  EXPECT_EQ(c.idle_connections(), 0u);
  body = run(ioc, fetch(&c, "/blob?size=1", 100));
  ASSERT_TRUE(body) << body.error().message();
  EXPECT_EQ(server.connections(), 2u);
}

TEST_F(client_test, pooled_connection_closed_by_upstream_is_replaced) {
  client c(ioc.get_executor(), local(server.port()), fast_options());
  auto body = run(ioc, fetch(&c, "/close-after?size=50", 100));
  ASSERT_TRUE(body) << body.error().message();
  body = run(ioc, fetch(&c, "/blob?size=50", 100));
  ASSERT_TRUE(body) << body.error().message();
  EXPECT_EQ(*body, pattern(50));
  EXPECT_EQ(server.connections(), 2u);
}

TEST_F(client_test, request_lost_on_a_reused_connection_is_retried_once_on_a_fresh_one) {
  client c(ioc.get_executor(), local(server.port()), fast_options());
  auto body = run(ioc, fetch(&c, "/drop-on-reuse", 100));
  ASSERT_TRUE(body) << body.error().message();
  EXPECT_EQ(c.idle_connections(), 1u);
  // The pooled connection looks alive, but the upstream closes it on the next request.
  body = run(ioc, fetch(&c, "/drop-on-reuse", 100));
  ASSERT_TRUE(body) << body.error().message();
  EXPECT_EQ(*body, pattern(3));
  EXPECT_EQ(server.connections(), 2u);
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST_F(client_test, failure_on_a_fresh_connection_is_not_retried) {
  client c(ioc.get_executor(), local(server.port()), fast_options());
  auto r = run(ioc, c.send(get("/drop")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::connection_closed);
  EXPECT_EQ(server.connections(), 1u);
}

TEST_F(client_test, stalled_head_fails_with_read_timeout) {
  auto opts = fast_options();
  opts.read_timeout = 200ms;
  client c(ioc.get_executor(), local(server.port()), opts);
  const auto started = std::chrono::steady_clock::now();
  auto r = run(ioc, c.send(get("/stall")));
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::read_timeout);
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 1500ms);
  EXPECT_EQ(server.connections(), 1u);  // a timeout is not a stale connection: no retry
}

TEST_F(client_test, stalled_body_fails_with_read_timeout) {
  auto opts = fast_options();
  opts.read_timeout = 200ms;
  client c(ioc.get_executor(), local(server.port()), opts);
  auto r = run(ioc, c.send(get("/stall-body")));
  ASSERT_TRUE(r) << r.error().message();
  const auto started = std::chrono::steady_clock::now();
  auto body = run(ioc, r->read_all(1000));
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(body);
  EXPECT_EQ(body.error(), errc::read_timeout);
  EXPECT_LT(took, 1500ms);
  EXPECT_EQ(c.idle_connections(), 0u);
}

TEST_F(client_test, read_timeout_bounds_each_wait_not_the_whole_body) {
  auto opts = fast_options();
  opts.read_timeout = 400ms;
  client c(ioc.get_executor(), local(server.port()), opts);
  const auto started = std::chrono::steady_clock::now();
  auto body = run(ioc, fetch(&c, "/slow-body", 10'000));
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(body) << body.error().message();
  EXPECT_EQ(*body, pattern(5000));
  EXPECT_GE(took, 550ms) << "the body took longer than one read timeout";
  EXPECT_EQ(c.idle_connections(), 1u);
}

TEST_F(client_test, truncated_body_fails_with_connection_closed) {
  client c(ioc.get_executor(), local(server.port()), fast_options());
  auto body = run(ioc, fetch(&c, "/short-body", 1000));
  ASSERT_FALSE(body);
  EXPECT_EQ(body.error(), errc::connection_closed);
  EXPECT_EQ(c.idle_connections(), 0u);
}

TEST_F(client_test, connect_to_a_closed_port_fails_fast) {
  std::uint16_t closed_port = 0;
  {
    tcp::acceptor probe(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    closed_port = probe.local_endpoint().port();
  }
  client c(ioc.get_executor(), local(closed_port), fast_options());
  const auto started = std::chrono::steady_clock::now();
  auto r = run(ioc, c.send(get("/blob")));
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::connect_failed);
  EXPECT_LT(took, 1s);
}

TEST_F(client_test, read_all_enforces_its_limit) {
  client c(ioc.get_executor(), local(server.port()), fast_options());
  auto exact = run(ioc, fetch(&c, "/blob?size=1000", 1000));
  ASSERT_TRUE(exact) << exact.error().message();
  EXPECT_EQ(exact->size(), 1000u);

  auto announced = run(ioc, fetch(&c, "/blob?size=1001", 1000));  // Content-Length says so up front
  ASSERT_FALSE(announced);
  EXPECT_EQ(announced.error(), errc::body_too_large);

  auto chunked_ok = run(ioc, fetch(&c, "/chunked?size=1000", 1000));
  ASSERT_TRUE(chunked_ok) << chunked_ok.error().message();
  EXPECT_EQ(*chunked_ok, pattern(1000));

  auto chunked_over = run(ioc, fetch(&c, "/chunked?size=200000", 1000));  // found out while reading
  ASSERT_FALSE(chunked_over);
  EXPECT_EQ(chunked_over.error(), errc::body_too_large);
  EXPECT_EQ(c.idle_connections(), 0u);  // the unread rest made the connection unusable
}

TEST_F(client_test, interim_responses_are_skipped) {
  client c(ioc.get_executor(), local(server.port()), fast_options());
  auto r = run(ioc, c.send(get("/interim")));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status(), 200u);
  EXPECT_EQ(r->header("Link"), std::nullopt);
  auto body = run(ioc, r->read_all(100));
  ASSERT_TRUE(body);
  EXPECT_EQ(*body, pattern(4));
}

TEST_F(client_test, malformed_responses_are_protocol_errors) {
  client c(ioc.get_executor(), local(server.port()), fast_options());
  auto garbage = run(ioc, c.send(get("/garbage")));
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error(), errc::protocol_error);
  auto big = run(ioc, c.send(get("/big-header")));
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error(), errc::protocol_error);
}

TEST_F(client_test, statuses_are_responses_not_errors) {
  client c(ioc.get_executor(), local(server.port()), fast_options());
  auto r = run(ioc, c.send(get("/nothing-here")));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status(), 404u);
  EXPECT_EQ(r->content_length(), 0u);
  EXPECT_TRUE(r->body_done());
}

TEST_F(client_test, zero_idle_timeout_never_reuses) {
  auto opts = fast_options();
  opts.idle_timeout = 0ms;
  client c(ioc.get_executor(), local(server.port()), opts);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(run(ioc, fetch(&c, "/blob?size=1", 10)));
  EXPECT_EQ(server.connections(), 2u);
}

TEST_F(client_test, idle_pool_is_bounded) {
  auto opts = fast_options();
  opts.max_idle_connections = 1;
  client c(ioc.get_executor(), local(server.port()), opts);
  auto a = run(ioc, c.send(get("/blob?size=10")));
  auto b = run(ioc, c.send(get("/blob?size=10")));
  ASSERT_TRUE(a && b);
  EXPECT_EQ(server.connections(), 2u);
  ASSERT_TRUE(run(ioc, a->read_all(100)));
  ASSERT_TRUE(run(ioc, b->read_all(100)));
  EXPECT_EQ(c.idle_connections(), 1u);
}

TEST_F(client_test, response_may_outlive_its_client) {
  auto c = std::make_unique<client>(ioc.get_executor(), local(server.port()), fast_options());
  auto r = run(ioc, c->send(get("/blob?size=5000")));
  ASSERT_TRUE(r) << r.error().message();
  c.reset();
  auto body = run(ioc, r->read_all(10000));
  ASSERT_TRUE(body) << body.error().message();
  EXPECT_EQ(*body, pattern(5000));
}

TEST_F(client_test, move_assignment_releases_the_previous_connection) {
  client c(ioc.get_executor(), local(server.port()), fast_options());
  auto first = run(ioc, c.send(get("/blob?size=100000")));
  auto second = run(ioc, c.send(get("/blob?size=10")));
  ASSERT_TRUE(first && second);
  *first = std::move(*second);  // the unread first body: its connection closes
  EXPECT_EQ(c.idle_connections(), 0u);
  auto body = run(ioc, first->read_all(100));
  ASSERT_TRUE(body);
  EXPECT_EQ(*body, pattern(10));
  EXPECT_EQ(c.idle_connections(), 1u);
}

asio::awaitable<void> fetch_many(client* c, int rounds, std::atomic<int>* ok) {
  for (int i = 0; i < rounds; ++i) {
    const std::size_t size = 1000 + static_cast<std::size_t>(i) * 517;
    auto body = co_await fetch(c, "/blob?size=" + std::to_string(size), size);
    if (body && *body == pattern(size)) ++*ok;
  }
}

TEST_F(client_test, concurrent_sends_from_two_threads) {
  asio::io_context shared_ioc(2);
  client c(shared_ioc.get_executor(), local(server.port()), fast_options());
  constexpr int workers = 8;
  constexpr int rounds = 10;
  std::atomic<int> ok{0};
  std::vector<std::future<void>> done;
  // Half the callers sit on strands (like server sessions), half on the bare
  // multi-threaded executor (like detached fills).
  for (int w = 0; w < workers; ++w) {
    if (w % 2 == 0)
      done.push_back(asio::co_spawn(asio::make_strand(shared_ioc), fetch_many(&c, rounds, &ok), asio::use_future));
    else
      done.push_back(asio::co_spawn(shared_ioc, fetch_many(&c, rounds, &ok), asio::use_future));
  }
  std::thread other([&] { shared_ioc.run(); });
  shared_ioc.run();
  other.join();
  for (auto& d : done) d.get();
  EXPECT_EQ(ok.load(), workers * rounds);
  EXPECT_EQ(server.requests().size(), static_cast<std::size_t>(workers * rounds));
  EXPECT_LE(server.connections(), static_cast<std::size_t>(workers));
  EXPECT_LE(c.idle_connections(), static_cast<std::size_t>(workers));
}

TEST_F(client_test, limit_holds_an_exchange_until_the_previous_body_is_read) {
  auto opts = fast_options();
  opts.limit = connection_limit::make(1);
  client c(ioc.get_executor(), local(server.port()), opts);
  auto first = run(ioc, c.send(get("/blob?size=100000")));
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_EQ(opts.limit->in_use(), 1u);

  std::optional<result<response>> second;
  asio::co_spawn(ioc, store_into(c.send(get("/blob?size=10")), &second), asio::detached);
  ioc.restart();
  ioc.run_for(200ms);
  EXPECT_FALSE(second) << "a second exchange must wait for the first one's permit";
  EXPECT_EQ(opts.limit->waiting(), 1u);

  auto body = run(ioc, first->read_all(100000));
  ASSERT_TRUE(body);
  ASSERT_TRUE(second && *second);
  EXPECT_EQ(server.connections(), 1u) << "the waiting exchange reuses the connection the first one gave back";
  auto rest = run(ioc, (*second)->read_all(100));
  ASSERT_TRUE(rest);
  EXPECT_EQ(*rest, pattern(10));
  EXPECT_EQ(opts.limit->in_use(), 0u);
}

TEST_F(client_test, dropped_head_and_discarded_responses_return_their_permits) {
  auto opts = fast_options();
  opts.limit = connection_limit::make(1);
  client c(ioc.get_executor(), local(server.port()), opts);
  auto head = run(ioc, c.send(request{method::head, "/blob?size=100", {}}));
  ASSERT_TRUE(head);
  EXPECT_EQ(opts.limit->in_use(), 0u) << "a HEAD has no body to hold the permit for";
  {
    auto unread = run(ioc, c.send(get("/blob?size=100")));
    ASSERT_TRUE(unread);
    EXPECT_EQ(opts.limit->in_use(), 1u);
  }
  EXPECT_EQ(opts.limit->in_use(), 0u);
  auto answered = run(ioc, c.send(get("/blob?size=100")));
  ASSERT_TRUE(answered);
  auto discarded = asio::co_spawn(ioc, answered->discard(), asio::use_future);
  ioc.restart();
  ioc.run();
  discarded.get();
  EXPECT_EQ(opts.limit->in_use(), 0u);
  EXPECT_EQ(answered->status(), 200u);
  EXPECT_EQ(c.idle_connections(), 1u) << "a short rest is read so the connection is reused";
}

// ---- TLS -----------------------------------------------------------------

// A directory of certificates made by the openssl CLI, once for the suite.
class tls_client_test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::filesystem::temp_directory_path() /
           ("regcache-upstream-test-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir_);
    make_cert("good", "subjectAltName=IP:127.0.0.1,DNS:localhost");
    make_cert("wrong", "subjectAltName=DNS:elsewhere.example");
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  static void make_cert(const std::string& name, const std::string& san) {
    const auto cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=" +
                     name + " -addext " + san + " -keyout " + (dir_ / (name + ".key")).string() + " -out " +
                     (dir_ / (name + ".pem")).string() + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  static std::string cert(const std::string& name) { return (dir_ / (name + ".pem")).string(); }

  static std::unique_ptr<asio::ssl::context> server_context(const std::string& name) {
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    ctx->use_certificate_chain_file(cert(name));
    ctx->use_private_key_file((dir_ / (name + ".key")).string(), asio::ssl::context::pem);
    return ctx;
  }

  client_options options() const {
    client_options opts;
    opts.connect_timeout = 2s;
    opts.read_timeout = 2s;
    return opts;
  }

  static inline std::filesystem::path dir_;
  asio::io_context ioc;
};

TEST_F(tls_client_test, verifies_against_ca_file_and_reuses_the_connection) {
  auto ctx = server_context("good");
  test_server server(route, ctx.get());
  auto opts = options();
  opts.ca_file = cert("good");
  client c(ioc.get_executor(), local(server.port(), "https"), opts);
  for (int i = 0; i < 2; ++i) {
    auto body = run(ioc, fetch(&c, "/blob?size=70000", 100000));
    ASSERT_TRUE(body) << body.error().message();
    EXPECT_EQ(*body, pattern(70000));
  }
  auto chunked = run(ioc, fetch(&c, "/chunked?size=3000", 100000));
  ASSERT_TRUE(chunked) << chunked.error().message();
  EXPECT_EQ(*chunked, pattern(3000));
  EXPECT_EQ(server.connections(), 1u);
}

TEST_F(tls_client_test, untrusted_certificate_fails_with_tls_failed) {
  auto ctx = server_context("good");
  test_server server(route, ctx.get());
  client c(ioc.get_executor(), local(server.port(), "https"), options());
  auto r = run(ioc, c.send(get("/blob?size=1")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::tls_failed);
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(tls_client_test, certificate_for_another_name_fails_with_tls_failed) {
  auto ctx = server_context("wrong");
  test_server server(route, ctx.get());
  auto opts = options();
  opts.ca_file = cert("wrong");  // trusted, but not issued for 127.0.0.1
  client c(ioc.get_executor(), local(server.port(), "https"), opts);
  auto r = run(ioc, c.send(get("/blob?size=1")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::tls_failed);
}

TEST_F(tls_client_test, insecure_skip_verify_accepts_any_certificate) {
  auto ctx = server_context("wrong");
  test_server server(route, ctx.get());
  auto opts = options();
  opts.insecure_skip_verify = true;
  client c(ioc.get_executor(), local(server.port(), "https"), opts);
  auto body = run(ioc, fetch(&c, "/blob?size=10", 100));
  ASSERT_TRUE(body) << body.error().message();
  EXPECT_EQ(*body, pattern(10));
}

TEST_F(tls_client_test, pooled_connection_closed_by_upstream_is_replaced) {
  auto ctx = server_context("good");
  test_server server(route, ctx.get());
  auto opts = options();
  opts.ca_file = cert("good");
  client c(ioc.get_executor(), local(server.port(), "https"), opts);
  ASSERT_TRUE(run(ioc, fetch(&c, "/close-after?size=10", 100)));
  auto body = run(ioc, fetch(&c, "/drop-on-reuse", 100));
  ASSERT_TRUE(body) << body.error().message();
  body = run(ioc, fetch(&c, "/drop-on-reuse", 100));
  ASSERT_TRUE(body) << body.error().message();
  EXPECT_EQ(server.connections(), 3u);
}

TEST_F(tls_client_test, concurrent_sends_from_two_threads) {
  auto ctx = server_context("good");
  test_server server(route, ctx.get());
  auto opts = options();
  opts.ca_file = cert("good");
  asio::io_context shared_ioc(2);
  client c(shared_ioc.get_executor(), local(server.port(), "https"), opts);
  constexpr int workers = 4;
  constexpr int rounds = 5;
  std::atomic<int> ok{0};
  std::vector<std::future<void>> done;
  for (int w = 0; w < workers; ++w)
    done.push_back(asio::co_spawn(asio::make_strand(shared_ioc), fetch_many(&c, rounds, &ok), asio::use_future));
  std::thread other([&] { shared_ioc.run(); });
  shared_ioc.run();
  other.join();
  for (auto& d : done) d.get();
  EXPECT_EQ(ok.load(), workers * rounds);
  EXPECT_LE(server.connections(), static_cast<std::size_t>(workers));
}

TEST_F(tls_client_test, silent_handshake_fails_with_connect_timeout) {
  // Listening, so the TCP connect succeeds, but never accepting: no ServerHello comes.
  tcp::acceptor silent(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto opts = options();
  opts.connect_timeout = 200ms;
  opts.insecure_skip_verify = true;
  client c(ioc.get_executor(), local(silent.local_endpoint().port(), "https"), opts);
  const auto started = std::chrono::steady_clock::now();
  auto r = run(ioc, c.send(get("/blob")));
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::connect_timeout);
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 1500ms);
}

TEST_F(tls_client_test, unreadable_ca_file_is_a_startup_error) {
  auto opts = options();
  opts.ca_file = (dir_ / "missing.pem").string();
  EXPECT_THROW(client(ioc.get_executor(), local(443, "https"), opts), boost::system::system_error);
}

}  // namespace
}  // namespace regcache::upstream

// The h2c transport of upstream::client (client_options::h2c), against an
// in-process nghttp2 server: many exchanges on one connection, flow control,
// stream resets, cut connections, GOAWAY, timeouts.
#include "regcache/upstream/client.hpp"

#include "unit/upstream/h2_test_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <future>
#include <thread>

namespace regcache::upstream {
namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::h2_reply;
using test::pattern;
using test::query_size;
using test::h2_test_server;
using test::h2_then;
using test::run_until_done;
using test::seen_request;

h2_reply blob(std::size_t size) {
  return h2_reply{200, {{"content-length", std::to_string(size)}, {"content-type", "application/octet-stream"}},
                  pattern(size)};
}

// The behaviours the tests ask for, by path:
//   /blob?size=N        200 with content-length and N pattern bytes
//   /reset?size=N       head, half the body, then RST_STREAM(INTERNAL_ERROR)
//   /cut?size=N         head, half the body, then the TCP connection closes
//   /stall              no answer
//   /refused-once       on the first connection a GOAWAY refusing it; 200 "again" on later ones
//   /empty              204 without a body
// A leading /base is ignored (an endpoint's base path).
h2_reply route(const seen_request& req, std::size_t connection_index) {
  auto path = req.path();
  if (path.starts_with("/base/")) path.erase(0, 5);
  const auto size = query_size(req.target);
  if (path == "/blob") return blob(size);
  if (path == "/reset" || path == "/cut") {
    auto reply = blob(size);
    reply.then = path == "/reset" ? h2_then::reset : h2_then::cut;
    reply.cut_at = size / 2;
    return reply;
  }
  if (path == "/stall") return h2_reply{200, {}, {}, h2_then::stall};
  if (path == "/refused-once") {
    if (connection_index == 0) return h2_reply{200, {}, {}, h2_then::refuse};
    return h2_reply{200, {{"content-length", "5"}}, "again"};
  }
  if (path == "/empty") return h2_reply{204, {}, {}};
  return h2_reply{404, {{"content-length", "0"}}, {}};
}

request get(std::string target) { return request{method::get, std::move(target), {}}; }

asio::awaitable<result<std::string>> fetch(client* c, std::string target) {
  auto sent = co_await c->send(get(std::move(target)));
  if (!sent) co_return sent.error();
  auto answer = std::move(*sent);
  co_return co_await answer.read_all(64u << 20);
}

class h2c_client_test : public ::testing::Test {
 protected:
  client_options options() const {
    client_options opts;
    opts.connect_timeout = 2s;
    opts.read_timeout = 2s;
    opts.user_agent = "regcache-test";
    opts.h2c = true;
    return opts;
  }
  endpoint local() const { return endpoint{"http", "127.0.0.1", server.port(), ""}; }

  asio::io_context ioc;
  h2_test_server server{route};
};

TEST_F(h2c_client_test, get_and_head_speak_http2_with_the_request_s_fields) {
  client c(ioc.get_executor(), endpoint{"http", "127.0.0.1", server.port(), "/base"}, options());
  auto r = run_until_done(ioc, c.send(request{method::get, "/blob?size=1000", {{"Accept", "x/y"}, {"Connection", "close"}}}));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status(), 200u);
  EXPECT_EQ(r->content_length(), 1000u);
  EXPECT_EQ(r->header("Content-Type"), "application/octet-stream") << "names match whatever their case";
  auto body = run_until_done(ioc, r->read_all(1u << 20));
  ASSERT_TRUE(body) << body.error().message();
  EXPECT_EQ(*body, pattern(1000));
  EXPECT_TRUE(r->body_done());

  auto head = run_until_done(ioc, c.send(request{method::head, "/blob?size=777", {}}));
  ASSERT_TRUE(head) << head.error().message();
  EXPECT_EQ(head->content_length(), 777u);
  EXPECT_TRUE(head->body_done());

  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].target, "/base/blob?size=1000");
  EXPECT_EQ(seen[0].values(":authority"), std::vector<std::string>{"127.0.0.1:" + std::to_string(server.port())});
  EXPECT_EQ(seen[0].values(":scheme"), std::vector<std::string>{"http"});
  EXPECT_EQ(seen[0].values("accept"), std::vector<std::string>{"x/y"});
  EXPECT_EQ(seen[0].values("user-agent"), std::vector<std::string>{"regcache-test"});
  EXPECT_EQ(seen[0].values("accept-encoding"), std::vector<std::string>{"identity"});
  EXPECT_TRUE(seen[0].values("connection").empty()) << "connection-specific fields are not HTTP/2";
  EXPECT_TRUE(seen[0].values("host").empty());
  EXPECT_EQ(seen[1].method, "HEAD");
  EXPECT_EQ(server.connections(), 1u);
}

TEST_F(h2c_client_test, bodyless_status_is_done_at_once) {
  client c(ioc.get_executor(), local(), options());
  auto r = run_until_done(ioc, c.send(get("/empty")));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status(), 204u);
  EXPECT_TRUE(r->body_done());
}

// Twelve 3 MiB bodies at once (36 MiB, twice the connection window) from two
// threads: one connection carries them all, and every byte is in place, so
// windows are credited back as the bodies are read.
TEST_F(h2c_client_test, concurrent_exchanges_share_one_connection_and_its_windows) {
  auto opts = options();
  opts.read_timeout = 30s;
  client c(ioc.get_executor(), local(), opts);
  asio::io_context other;
  std::vector<std::future<void>> done;
  std::vector<std::optional<result<std::string>>> bodies(12);
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    auto& where = i % 2 ? other : ioc;
    done.push_back(asio::co_spawn(where, test::store_into(fetch(&c, "/blob?size=" + std::to_string(3u << 20)), &bodies[i]),
                                  asio::use_future));
  }
  std::thread second([&other] { other.run(); });
  for (auto& d : done)
    while (d.wait_for(0s) != std::future_status::ready) ioc.run_one_for(20ms);
  second.join();
  for (auto& d : done) d.get();
  for (const auto& body : bodies) {
    ASSERT_TRUE(body && *body) << (body ? body->error().message() : "not run");
    EXPECT_EQ(**body, pattern(3u << 20));
  }
  EXPECT_EQ(server.connections(), 1u);
}

// Dropped responses give their unread bytes back to the connection's window:
// eight 4 MiB bodies left unread would otherwise hold it shut.
TEST_F(h2c_client_test, abandoned_bodies_do_not_hold_the_connection_window) {
  client c(ioc.get_executor(), local(), options());
  for (int i = 0; i < 8; ++i) {
    auto r = run_until_done(ioc, c.send(get("/blob?size=" + std::to_string(4u << 20))));
    ASSERT_TRUE(r) << r.error().message();
    std::array<std::byte, 10> first{};
    auto n = run_until_done(ioc, r->read_some(std::span<std::byte>(first)));
    ASSERT_TRUE(n) << n.error().message();
  }
  auto body = run_until_done(ioc, fetch(&c, "/blob?size=100000"));
  ASSERT_TRUE(body) << body.error().message();
  EXPECT_EQ(*body, pattern(100000));
  EXPECT_EQ(server.connections(), 1u);
}

TEST_F(h2c_client_test, stream_reset_mid_body_fails_like_a_cut_connection_and_spares_the_others) {
  client c(ioc.get_executor(), local(), options());
  auto body = run_until_done(ioc, fetch(&c, "/reset?size=200000"));
  ASSERT_FALSE(body);
  EXPECT_EQ(body.error(), errc::connection_closed);
  auto next = run_until_done(ioc, fetch(&c, "/blob?size=10"));
  ASSERT_TRUE(next) << next.error().message();
  EXPECT_EQ(server.connections(), 1u) << "a reset ends one stream, not the connection";
}

TEST_F(h2c_client_test, cut_connection_mid_body_fails_and_the_next_exchange_reconnects) {
  client c(ioc.get_executor(), local(), options());
  auto body = run_until_done(ioc, fetch(&c, "/cut?size=200000"));
  ASSERT_FALSE(body);
  EXPECT_EQ(body.error(), errc::connection_closed);
  auto next = run_until_done(ioc, fetch(&c, "/blob?size=10"));
  ASSERT_TRUE(next) << next.error().message();
  EXPECT_EQ(*next, pattern(10));
  EXPECT_EQ(server.connections(), 2u);
}

TEST_F(h2c_client_test, request_a_goaway_left_unprocessed_goes_again_on_a_new_connection) {
  client c(ioc.get_executor(), local(), options());
  auto body = run_until_done(ioc, fetch(&c, "/refused-once"));
  ASSERT_TRUE(body) << body.error().message();
  EXPECT_EQ(*body, "again");
  EXPECT_EQ(server.connections(), 2u);
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST_F(h2c_client_test, silent_upstream_fails_with_read_timeout_and_is_not_reused) {
  auto opts = options();
  opts.read_timeout = 200ms;
  client c(ioc.get_executor(), local(), opts);
  auto r = run_until_done(ioc, c.send(get("/stall")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::read_timeout);
  auto next = run_until_done(ioc, fetch(&c, "/blob?size=10"));
  ASSERT_TRUE(next) << next.error().message();
  EXPECT_EQ(server.connections(), 2u);
}

TEST_F(h2c_client_test, closed_port_fails_with_connect_failed) {
  asio::io_context probe;
  asio::ip::tcp::acceptor closed(probe, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto port = closed.local_endpoint().port();
  closed.close();
  client c(ioc.get_executor(), endpoint{"http", "127.0.0.1", port, ""}, options());
  auto r = run_until_done(ioc, c.send(get("/blob?size=1")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::connect_failed);
}

TEST_F(h2c_client_test, response_may_outlive_its_client) {
  std::optional<response> kept;
  {
    client c(ioc.get_executor(), local(), options());
    auto r = run_until_done(ioc, c.send(get("/blob?size=50000")));
    ASSERT_TRUE(r) << r.error().message();
    kept.emplace(std::move(*r));
  }
  auto body = run_until_done(ioc, kept->read_all(1u << 20));
  ASSERT_TRUE(body) << body.error().message();
  EXPECT_EQ(*body, pattern(50000));
}

}  // namespace
}  // namespace regcache::upstream

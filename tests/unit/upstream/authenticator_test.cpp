#include "regcache/upstream/authenticator.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/read.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

namespace regcache::upstream {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace beast_http = boost::beast::http;
using asio::ip::tcp;
using namespace std::chrono_literals;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// ---- pure parts -------------------------------------------------------------

TEST(token_expiry, default_lifetime_and_margin) {
  const auto t0 = std::chrono::system_clock::time_point{std::chrono::seconds{1'700'000'000}};
  // 60 s default, margin 6 s.
  EXPECT_EQ(token_usable_until(t0, std::nullopt, std::nullopt), t0 + 54s);
  EXPECT_EQ(token_usable_until(t0, std::nullopt, 0), t0 + 54s);
  EXPECT_EQ(token_usable_until(t0, std::nullopt, -5), t0 + 54s);
  // 300 s: margin capped at 30 s.
  EXPECT_EQ(token_usable_until(t0, std::nullopt, 300), t0 + 270s);
  // issued_at counts when plausible.
  EXPECT_EQ(token_usable_until(t0, t0 - 10s, 300), t0 + 260s);
  // issued_at in the future or older than the lifetime (clock skew): the receive time counts.
  EXPECT_EQ(token_usable_until(t0, t0 + 100s, 300), t0 + 270s);
  EXPECT_EQ(token_usable_until(t0, t0 - 1h, 300), t0 + 270s);
}

TEST(token_response, fields) {
  auto r = parse_token_response(R"({"token":"t","access_token":"a","expires_in":300,"issued_at":"2024-01-01T00:00:00Z"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->token, "a");
  EXPECT_EQ(r->expires_in, 300);
  EXPECT_TRUE(r->issued_at);
  r = parse_token_response(R"({"token":"t"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->token, "t");
  EXPECT_FALSE(r->expires_in);
  EXPECT_EQ(parse_token_response(R"({"token":"t","access_token":""})")->token, "t");
  EXPECT_FALSE(parse_token_response(R"({"expires_in":3})"));
  EXPECT_FALSE(parse_token_response("not json"));
  EXPECT_FALSE(parse_token_response("[]"));
}

TEST(token_cache_key, scopes_are_sorted_and_deduplicated) {
  EXPECT_EQ(token_cache_key("r", "s", {"b", "a", "b"}, "u"), token_cache_key("r", "s", {"a", "b"}, "u"));
  EXPECT_NE(token_cache_key("r", "s", {"a"}, "u"), token_cache_key("r", "s", {"a"}, ""));
  EXPECT_NE(token_cache_key("r", "s", {"a"}, "u"), token_cache_key("r", "t", {"a"}, "u"));
}

// ---- against an in-process registry + token endpoint ------------------------

struct seen_request {
  std::string target;
  std::string authorization;
};

// A registry on 127.0.0.1 (port 0) with its own thread. In bearer mode it
// challenges with a realm on itself (/token) and accepts tokens it issued and
// has not revoked; in basic mode it accepts only the expected Basic header.
class auth_server {
 public:
  enum class mode { bearer, basic };

  auth_server() : acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    asio::co_spawn(ioc_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~auth_server() {
    ioc_.stop();
    thread_.join();
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  void set_mode(mode m) {
    std::lock_guard l(mutex_);
    mode_ = m;
  }
  // The Authorization header the token endpoint (bearer) or registry (basic) insists on.
  void require_basic(std::string header) {
    std::lock_guard l(mutex_);
    required_basic_ = std::move(header);
  }
  void set_expires_in(int seconds) {
    std::lock_guard l(mutex_);
    expires_in_ = seconds;
  }
  void set_token_delay(std::chrono::milliseconds d) {
    std::lock_guard l(mutex_);
    token_delay_ = d;
  }
  void set_realm(std::string realm) {
    std::lock_guard l(mutex_);
    realm_override_ = std::move(realm);
  }
  void revoke_all_tokens() {
    std::lock_guard l(mutex_);
    valid_.clear();
  }
  void reject_everything(bool on) {
    std::lock_guard l(mutex_);
    reject_all_ = on;
  }
  std::vector<seen_request> token_requests() const {
    std::lock_guard l(mutex_);
    return token_requests_;
  }
  std::vector<seen_request> registry_requests() const {
    std::lock_guard l(mutex_);
    return registry_requests_;
  }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
      if (ec) co_return;
      asio::co_spawn(ioc_, serve(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> serve(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      beast_http::request<beast_http::empty_body> req;
      auto [ec, n] = co_await beast_http::async_read(stream, buffer, req, use_tuple);
      if (ec) co_return;
      const std::string target(req.target());
      const std::string authorization(req[beast_http::field::authorization]);
      std::chrono::milliseconds delay{0};
      const std::string answer = respond(target, authorization, &delay);
      if (delay.count() > 0) {
        asio::steady_timer timer(co_await asio::this_coro::executor, delay);
        auto [wait_ec] = co_await timer.async_wait(use_tuple);
        ignore_error(wait_ec, "only the server's shutdown cuts the delay short");
      }
      auto [write_ec, written] = co_await asio::async_write(stream, asio::buffer(answer), use_tuple);
      if (write_ec) co_return;
    }
  }

  static std::string answer(unsigned status, std::string_view reason, std::string body, std::string extra = {}) {
    return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra + "\r\n" + body;
  }

  std::string respond(const std::string& target, const std::string& authorization, std::chrono::milliseconds* delay) {
    std::lock_guard lock(mutex_);
    if (target.starts_with("/token")) {
      token_requests_.push_back({target, authorization});
      *delay = token_delay_;
      if (required_basic_ && authorization != *required_basic_) return answer(401, "Unauthorized", "{}");
      const std::string token = "tok-" + std::to_string(++issued_);
      valid_.insert(token);
      return answer(200, "OK", R"({"token":")" + token + R"(","expires_in":)" + std::to_string(expires_in_) + "}",
                    "Content-Type: application/json\r\n");
    }
    registry_requests_.push_back({target, authorization});
    // /v2/<repo>/manifests/<ref>
    std::string repo = target.substr(4);
    repo = repo.substr(0, repo.rfind("/manifests/"));
    if (mode_ == mode::basic) {
      if (!reject_all_ && required_basic_ && authorization == *required_basic_) return answer(200, "OK", "manifest");
      return answer(401, "Unauthorized", "{}", "WWW-Authenticate: Basic realm=\"test\"\r\n");
    }
    if (!reject_all_ && authorization.starts_with("Bearer ") && valid_.count(authorization.substr(7)))
      return answer(200, "OK", "manifest");
    const std::string realm = realm_override_.value_or("http://127.0.0.1:" + std::to_string(port()) + "/token");
    return answer(401, "Unauthorized", "{}",
                  "WWW-Authenticate: Bearer realm=\"" + realm +
                      "\",service=\"test registry\",scope=\"repository:" + repo + ":pull\"\r\n");
  }

  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  mutable std::mutex mutex_;
  mode mode_ = mode::bearer;
  std::optional<std::string> required_basic_;
  std::optional<std::string> realm_override_;
  int expires_in_ = 300;
  std::chrono::milliseconds token_delay_{0};
  bool reject_all_ = false;
  int issued_ = 0;
  std::set<std::string> valid_;
  std::vector<seen_request> token_requests_;
  std::vector<seen_request> registry_requests_;
};

struct outcome {
  unsigned status = 0;
  std::string body;
  error_code error;
};

asio::awaitable<outcome> get_manifest(authenticator* auth, client* c, std::string repo) {
  request req{method::get, "/v2/" + repo + "/manifests/latest", {}};
  auto sent = co_await auth->send(*c, std::move(req), repo);
  if (!sent) co_return outcome{0, {}, sent.error()};
  outcome out{sent->status(), {}, {}};
  auto body = co_await sent->read_all(1 << 20);
  if (body) out.body = std::move(*body);
  co_return out;
}

asio::awaitable<void> store_into(asio::awaitable<outcome> task, outcome* out) { *out = co_await std::move(task); }

class authenticator_test : public ::testing::Test {
 protected:
  authenticator_test()
      : registry_client(ioc.get_executor(), endpoint{"http", "127.0.0.1", server.port(), ""}, options()) {}

  static client_options options() {
    client_options opts;
    opts.connect_timeout = 2s;
    opts.read_timeout = 5s;
    return opts;
  }

  outcome pull(authenticator& auth, std::string repo = "lib/app") {
    outcome out;
    auto done = asio::co_spawn(ioc, store_into(get_manifest(&auth, &registry_client, std::move(repo)), &out),
                               asio::use_future);
    ioc.restart();
    ioc.run();
    done.get();
    return out;
  }

  auth_server server;
  asio::io_context ioc;
  core::manual_clock clock;
  client registry_client;
};

TEST_F(authenticator_test, anonymous_token) {
  authenticator auth("test", std::nullopt, options(), clock);
  const auto r = pull(auth);
  EXPECT_EQ(r.status, 200u) << r.error.message();
  EXPECT_EQ(r.body, "manifest");
  const auto tokens = server.token_requests();
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens[0].target, "/token?service=test%20registry&scope=repository:lib/app:pull");
  EXPECT_EQ(tokens[0].authorization, "");
  const auto reqs = server.registry_requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].authorization, "");
  EXPECT_EQ(reqs[1].authorization, "Bearer tok-1");
  EXPECT_EQ(auth.token_fetches(), 1u);
}

TEST_F(authenticator_test, credentialed_token) {
  const credentials creds{"alice", "s3cret"};
  server.require_basic(basic_authorization(creds));
  authenticator auth("test", creds, options(), clock);
  const auto r = pull(auth);
  EXPECT_EQ(r.status, 200u);
  const auto tokens = server.token_requests();
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens[0].authorization, basic_authorization(creds));
}

TEST_F(authenticator_test, refused_credentials_return_the_401) {
  server.require_basic(basic_authorization({"alice", "right"}));
  authenticator auth("test", credentials{"alice", "wrong"}, options(), clock);
  const auto r = pull(auth);
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(server.token_requests().size(), 1u);
  EXPECT_EQ(server.registry_requests().size(), 1u);
}

TEST_F(authenticator_test, token_is_reused_and_requests_are_preauthorized) {
  authenticator auth("test", std::nullopt, options(), clock);
  EXPECT_EQ(pull(auth).status, 200u);
  EXPECT_EQ(pull(auth).status, 200u);
  EXPECT_EQ(pull(auth).status, 200u);
  EXPECT_EQ(server.token_requests().size(), 1u);
  // One 401 round trip for the first request only.
  EXPECT_EQ(server.registry_requests().size(), 4u);
  // Another repository needs its own scope, still without a 401.
  EXPECT_EQ(pull(auth, "other/repo").status, 200u);
  EXPECT_EQ(server.token_requests().size(), 2u);
  EXPECT_EQ(server.registry_requests().size(), 5u);
}

TEST_F(authenticator_test, token_is_refetched_after_expiry) {
  server.set_expires_in(300);
  authenticator auth("test", std::nullopt, options(), clock);
  EXPECT_EQ(pull(auth).status, 200u);
  clock.advance(260s);  // usable until 270 s
  EXPECT_EQ(pull(auth).status, 200u);
  EXPECT_EQ(server.token_requests().size(), 1u);
  clock.advance(20s);
  EXPECT_EQ(pull(auth).status, 200u);
  EXPECT_EQ(server.token_requests().size(), 2u);
  const auto reqs = server.registry_requests();
  ASSERT_EQ(reqs.size(), 4u);
  EXPECT_EQ(reqs.back().authorization, "Bearer tok-2");
}

TEST_F(authenticator_test, refused_cached_token_is_refetched_once_then_given_up) {
  authenticator auth("test", std::nullopt, options(), clock);
  EXPECT_EQ(pull(auth).status, 200u);
  server.revoke_all_tokens();
  EXPECT_EQ(pull(auth).status, 200u);
  EXPECT_EQ(server.token_requests().size(), 2u);
  auto reqs = server.registry_requests();
  ASSERT_EQ(reqs.size(), 4u);
  EXPECT_EQ(reqs[2].authorization, "Bearer tok-1");
  EXPECT_EQ(reqs[3].authorization, "Bearer tok-2");

  server.reject_everything(true);
  EXPECT_EQ(pull(auth).status, 401u);
  EXPECT_EQ(server.token_requests().size(), 3u);
  EXPECT_EQ(server.registry_requests().size(), 6u);
}

TEST_F(authenticator_test, concurrent_sends_share_one_token_fetch) {
  server.set_token_delay(200ms);
  authenticator auth("test", std::nullopt, options(), clock);
  std::vector<outcome> results(16);
  std::vector<std::future<void>> done;
  for (auto& r : results)
    done.push_back(asio::co_spawn(ioc, store_into(get_manifest(&auth, &registry_client, "lib/app"), &r),
                                  asio::use_future));
  ioc.restart();
  ioc.run();
  for (auto& d : done) d.get();
  for (const auto& r : results) EXPECT_EQ(r.status, 200u) << r.error.message();
  EXPECT_EQ(server.token_requests().size(), 1u);
  EXPECT_EQ(auth.token_fetches(), 1u);
}

TEST_F(authenticator_test, basic_only_registry) {
  const credentials creds{"bob", "pw"};
  server.set_mode(auth_server::mode::basic);
  server.require_basic(basic_authorization(creds));
  authenticator auth("test", creds, options(), clock);
  EXPECT_EQ(pull(auth).status, 200u);
  EXPECT_EQ(pull(auth).status, 200u);
  EXPECT_EQ(server.token_requests().size(), 0u);
  const auto reqs = server.registry_requests();
  ASSERT_EQ(reqs.size(), 3u);  // 401, retry, then pre-authorized
  EXPECT_EQ(reqs[2].authorization, basic_authorization(creds));
}

TEST_F(authenticator_test, refused_basic_credentials_cost_one_request_each_after_the_first) {
  server.set_mode(auth_server::mode::basic);
  server.require_basic(basic_authorization({"bob", "pw"}));
  authenticator auth("test", credentials{"bob", "wrong"}, options(), clock);
  EXPECT_EQ(pull(auth).status, 401u);
  EXPECT_EQ(server.registry_requests().size(), 2u) << "anonymous, then with the credentials";
  EXPECT_EQ(pull(auth).status, 401u);
  EXPECT_EQ(pull(auth).status, 401u);
  const auto reqs = server.registry_requests();
  ASSERT_EQ(reqs.size(), 4u) << "later requests carry the credentials at once and are not repeated";
  EXPECT_EQ(reqs[3].authorization, basic_authorization({"bob", "wrong"}));
}

TEST_F(authenticator_test, basic_challenge_without_credentials_is_returned) {
  server.set_mode(auth_server::mode::basic);
  server.require_basic(basic_authorization({"bob", "pw"}));
  authenticator auth("test", std::nullopt, options(), clock);
  EXPECT_EQ(pull(auth).status, 401u);
  EXPECT_EQ(server.registry_requests().size(), 1u);
}

TEST_F(authenticator_test, realm_that_is_not_http_is_not_followed) {
  server.set_realm("file:///etc/passwd");
  authenticator auth("test", std::nullopt, options(), clock);
  EXPECT_EQ(pull(auth).status, 401u);
  EXPECT_EQ(server.token_requests().size(), 0u);
  EXPECT_EQ(auth.token_fetches(), 0u);
}

TEST_F(authenticator_test, unreachable_realm_returns_the_401) {
  server.set_realm("http://127.0.0.1:1/token");
  authenticator auth("test", std::nullopt, options(), clock);
  EXPECT_EQ(pull(auth).status, 401u);
  EXPECT_EQ(auth.token_fetches(), 1u);
}

}  // namespace
}  // namespace regcache::upstream

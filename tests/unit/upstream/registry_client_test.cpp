#include "regcache/upstream/registry_client.hpp"

#include "unit/upstream/h2_test_server.hpp"
#include "unit/upstream/test_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>

namespace regcache::upstream {
namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::reply;
using test::run;
using test::seen_request;
using test::test_server;

const core::digest blob_digest =
    core::digest::parse("sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824").value();

std::string answer(unsigned status, std::string_view extra = {}, std::string_view body = {}) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         std::string(extra) + "\r\n" + std::string(body);
}

// The upstream of these tests answers the paths below; a status can be forced
// for a number of requests first ("fail_next").
//   /v2/team/app/manifests/v1        200 manifest with Content-Type + Docker-Content-Digest
//   /v2/team/app/blobs/<digest>      200 100 bytes; with Range: bytes=N- a 206 (or what range_reply says)
//   /v2/team/app/tags/list           first page with Link to the second, the second without
//   /v2/team/app/referrers/<digest>  200 index, OCI-Filters-Applied when filtered
//   /v2/status/<code>/...            that status
//   /v2/redirect/loop/...            307 to itself
class upstream_fixture {
 public:
  std::atomic<int> fail_next{0};
  std::atomic<unsigned> fail_status{503};
  std::string range_reply;  // overrides the 206 to a Range request when set

  reply route(const seen_request& req, std::size_t) {
    if (fail_next > 0) {
      --fail_next;
      return {answer(fail_status)};
    }
    const auto path = req.path();
    if (path.starts_with("/v2/status/")) return {answer(std::stoul(path.substr(11, 3)))};
    if (path.starts_with("/v2/redirect/loop/")) return {answer(307, "Location: " + req.target + "\r\n")};
    if (path == "/v2/team/app/manifests/v1") {
      auto whole = answer(200,
                          "Content-Type: application/vnd.oci.image.manifest.v1+json; charset=utf-8\r\n"
                          "Docker-Content-Digest: " + blob_digest.str() + "\r\nRateLimit-Remaining: 76;w=21600\r\n",
                          "{}");
      if (req.method == "HEAD") whole.resize(whole.size() - 2);
      return {whole};
    }
    if (path == "/v2/team/app/blobs/" + blob_digest.str()) {
      const auto range = req.values("Range");
      if (range.empty()) return {answer(200, {}, std::string(100, 'b'))};
      if (!range_reply.empty()) return {range_reply};
      const auto from = std::stoul(range.front().substr(6));
      return {answer(206, "Content-Range: bytes " + std::to_string(from) + "-99/100\r\n", std::string(100 - from, 'b'))};
    }
    if (path == "/v2/team/app/tags/list") {
      if (req.target.find("last=b") == std::string::npos)
        return {answer(200, "Link: </v2/team/app/tags/list?n=2&last=b>; rel=\"next\"\r\n",
                       R"({"name":"team/app","tags":["a","b"]})")};
      return {answer(200, {}, R"({"name":"team/app","tags":["c"]})")};
    }
    if (path == "/v2/team/app/referrers/" + blob_digest.str()) {
      const bool filtered = req.target.find("artifactType=") != std::string::npos;
      return {answer(200, filtered ? "OCI-Filters-Applied: artifactType\r\n" : "", R"({"manifests":[]})")};
    }
    return {answer(404)};
  }
};

class registry_client_test : public ::testing::Test {
 protected:
  std::shared_ptr<registry_client> make(std::uint16_t port, registry_options options = {},
                                        std::optional<credentials> creds = std::nullopt) {
    client_options opts;
    opts.connect_timeout = 2s;
    opts.read_timeout = 2s;
    if (options.name.empty()) options.name = "upstream.test";
    options.first_retry_pause = 1ms;
    const endpoint ep{"http", "127.0.0.1", port, ""};
    return std::make_shared<registry_client>(
        options, std::vector{std::make_shared<client>(ioc.get_executor(), ep, opts)},
        std::make_shared<authenticator>(options.name, std::move(creds), opts), metrics);
  }
  std::uint64_t requests_with_status(std::string status) {
    return metrics
        .get_counter("regcache_upstream_requests_total",
                     "Requests sent to upstream registries, by upstream and status (error: no answer)",
                     {{"upstream", "upstream.test"}, {"status", std::move(status)}})
        .value();
  }

  asio::io_context ioc;
  metrics::registry metrics;
  upstream_fixture upstream;
  test_server server{[this](const seen_request& req, std::size_t nth) { return upstream.route(req, nth); }};
};

TEST(status_error, each_status_has_its_error) {
  const std::map<unsigned, errc> table = {
      {400, errc::rejected},     {401, errc::unauthorized}, {403, errc::denied},       {404, errc::not_found},
      {405, errc::rejected},     {410, errc::not_found},    {416, errc::rejected},     {429, errc::rate_limited},
      {500, errc::server_error}, {503, errc::server_error}, {206, errc::server_error}, {304, errc::server_error},
  };
  for (const auto& [status, want] : table) EXPECT_EQ(status_error(status), want) << status;
}

TEST_F(registry_client_test, get_manifest_sends_accept_and_returns_typed_fields) {
  auto c = make(server.port());
  auto got = run(ioc, c->get_manifest("team/app", "v1", "application/vnd.oci.image.manifest.v1+json"));
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(got->bytes, "{}");
  EXPECT_EQ(got->media_type, "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(got->digest, blob_digest);
  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].target, "/v2/team/app/manifests/v1");
  EXPECT_EQ(seen[0].values("Accept"), std::vector<std::string>{"application/vnd.oci.image.manifest.v1+json"});
  EXPECT_EQ(requests_with_status("200"), 1u);
  EXPECT_EQ(metrics
                .get_gauge("regcache_upstream_ratelimit_remaining",
                           "Pull quota the upstream reported in its RateLimit headers (last value seen)",
                           {{"upstream", "upstream.test"}})
                .value(),
            76);
}

TEST_F(registry_client_test, head_manifest_and_head_blob_report_sizes) {
  auto c = make(server.port());
  auto manifest = run(ioc, c->head_manifest("team/app", "v1", "*/*"));
  ASSERT_TRUE(manifest) << manifest.error().message();
  EXPECT_EQ(manifest->size, 2u);
  EXPECT_EQ(manifest->digest, blob_digest);
  auto blob = run(ioc, c->head_blob("team/app", blob_digest));
  ASSERT_TRUE(blob) << blob.error().message();
  EXPECT_EQ(blob->size, 100u);
  EXPECT_EQ(server.requests().at(1).method, "HEAD");
}

TEST_F(registry_client_test, transient_statuses_are_retried_with_back_off) {
  auto c = make(server.port());
  upstream.fail_next = 2;
  auto got = run(ioc, c->head_blob("team/app", blob_digest));
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(server.requests().size(), 3u);
  EXPECT_EQ(requests_with_status("503"), 2u);
}

TEST_F(registry_client_test, retries_stop_after_max_attempts) {
  auto c = make(server.port());
  upstream.fail_next = 10;
  upstream.fail_status = 502;
  auto got = run(ioc, c->head_blob("team/app", blob_digest));
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error(), errc::server_error);
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST_F(registry_client_test, a_4xx_is_answered_once_and_never_retried) {
  const std::map<unsigned, errc> table = {
      {400, errc::rejected}, {401, errc::unauthorized}, {403, errc::denied},
      {404, errc::not_found}, {429, errc::rate_limited}, {501, errc::server_error},
  };
  auto c = make(server.port());
  std::size_t sent = 0;
  for (const auto& [status, want] : table) {
    auto got = run(ioc, c->get_manifest("status/" + std::to_string(status) + "/x", "v1", "*/*"));
    ASSERT_FALSE(got) << status;
    EXPECT_EQ(got.error(), want) << status;
    EXPECT_EQ(server.requests().size(), ++sent) << status << " must not be retried";
  }
}

TEST_F(registry_client_test, refused_connections_are_retried_then_reported) {
  std::uint16_t closed_port = 0;
  {
    asio::ip::tcp::acceptor probe(ioc, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    closed_port = probe.local_endpoint().port();
  }
  auto c = make(closed_port);
  const auto started = std::chrono::steady_clock::now();
  auto got = run(ioc, c->head_blob("team/app", blob_digest));
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error(), errc::connect_failed);
  EXPECT_GE(std::chrono::steady_clock::now() - started, 3ms) << "two back-offs of 1 ms and 2 ms";
  EXPECT_EQ(requests_with_status("error"), 3u) << "every attempt without an answer";
}

TEST_F(registry_client_test, offline_sends_nothing) {
  auto c = make(server.port(), registry_options{.name = "upstream.test", .offline = true});
  auto got = run(ioc, c->get_manifest("team/app", "v1", "*/*"));
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error(), errc::offline);
  EXPECT_EQ(server.connections(), 0u);
}

std::vector<oci::repository_glob> globs(std::initializer_list<std::string_view> patterns) {
  std::vector<oci::repository_glob> out;
  for (auto p : patterns) out.push_back(oci::repository_glob::parse(p).value());
  return out;
}

TEST_F(registry_client_test, a_repository_outside_the_egress_lists_sends_nothing_on_any_call) {
  registry_options options{.name = "upstream.test"};
  options.allow_repositories = globs({"team/**", "library/*"});
  options.deny_repositories = globs({"team/secret/**"});
  auto c = make(server.port(), options);
  for (const auto* repository : {"other/app", "team/secret", "team/secret/x", "library/a/b", "teamx/app"}) {
    EXPECT_FALSE(c->permits(repository)) << repository;
    const std::string repo = repository;
    const auto expect_refused = [&](const error_code& ec) {
      EXPECT_EQ(ec, errc::repository_not_allowed) << repo;
    };
    expect_refused(run(ioc, c->get_manifest(repo, "v1", "*/*")).error());
    expect_refused(run(ioc, c->head_manifest(repo, "v1", "*/*")).error());
    expect_refused(run(ioc, c->get_blob(repo, blob_digest, 0)).error());
    expect_refused(run(ioc, c->get_blob(repo, blob_digest, 10)).error());
    expect_refused(run(ioc, c->head_blob(repo, blob_digest)).error());
    expect_refused(run(ioc, c->tags(repo, std::nullopt)).error());
    expect_refused(run(ioc, c->tags(repo, "/v2/team/app/tags/list?n=2&last=b")).error());
    expect_refused(run(ioc, c->referrers(repo, blob_digest, "")).error());
  }
  EXPECT_EQ(server.connections(), 0u);
  EXPECT_TRUE(c->permits("team/app"));
  EXPECT_TRUE(c->permits("library/alpine"));
  auto allowed = run(ioc, c->get_manifest("team/app", "v1", "*/*"));
  ASSERT_TRUE(allowed) << allowed.error().message();
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_F(registry_client_test, without_egress_lists_every_repository_is_asked_for_and_deny_alone_subtracts) {
  auto open = make(server.port());
  EXPECT_TRUE(open->permits("any/thing/at/all"));
  registry_options options{.name = "upstream.test"};
  options.deny_repositories = globs({"**/internal"});
  auto deny_only = make(server.port(), options);
  EXPECT_TRUE(deny_only->permits("team/app"));
  EXPECT_FALSE(deny_only->permits("internal"));
  EXPECT_FALSE(deny_only->permits("team/internal"));
}

TEST_F(registry_client_test, send_ns_names_the_upstream_on_every_target) {
  auto c = make(server.port(), registry_options{.name = "docker.io", .send_ns = true});
  ASSERT_TRUE(run(ioc, c->head_blob("team/app", blob_digest)));
  ASSERT_TRUE(run(ioc, c->tags("team/app", std::nullopt)));
  const auto seen = server.requests();
  EXPECT_EQ(seen.at(0).target, "/v2/team/app/blobs/" + blob_digest.str() + "?ns=docker.io");
  EXPECT_EQ(seen.at(1).target, "/v2/team/app/tags/list?n=1000&ns=docker.io");
}

TEST_F(registry_client_test, resume_accepts_only_a_range_continuing_at_the_offset) {
  auto c = make(server.port());
  auto resumed = run(ioc, c->get_blob("team/app", blob_digest, 40));
  ASSERT_TRUE(resumed) << resumed.error().message();
  EXPECT_EQ(resumed->offset(), 40u);
  EXPECT_EQ(resumed->size(), 100u);
  EXPECT_EQ(server.requests().back().values("Range"), std::vector<std::string>{"bytes=40-"});
  std::array<std::byte, 200> buf{};
  auto n = run(ioc, resumed->read_some(std::span<std::byte>(buf)));
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 60u);

  for (const auto& wrong : {answer(200, {}, std::string(100, 'b')),
                            answer(206, "Content-Range: bytes 0-99/100\r\n", std::string(100, 'b')),
                            answer(206, "Content-Range: bytes 40-89/100\r\n", std::string(50, 'b')),
                            answer(206, {}, std::string(60, 'b'))}) {
    upstream.range_reply = wrong;
    auto refused = run(ioc, c->get_blob("team/app", blob_digest, 40));
    ASSERT_FALSE(refused) << wrong;
    EXPECT_EQ(refused.error(), errc::range_not_continued) << wrong;
  }
  upstream.range_reply = answer(404);
  auto gone = run(ioc, c->get_blob("team/app", blob_digest, 40));
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error(), errc::not_found);
}

TEST_F(registry_client_test, whole_blob_reports_its_size) {
  auto c = make(server.port());
  auto got = run(ioc, c->get_blob("team/app", blob_digest, 0));
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(got->offset(), 0u);
  EXPECT_EQ(got->size(), 100u);
  EXPECT_TRUE(server.requests().back().values("Range").empty());
}

TEST_F(registry_client_test, tags_follow_the_upstream_s_next_page) {
  auto c = make(server.port());
  auto first = run(ioc, c->tags("team/app", std::nullopt));
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_EQ(first->tags, (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(first->next);
  auto second = run(ioc, c->tags("team/app", first->next));
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_EQ(second->tags, std::vector<std::string>{"c"});
  EXPECT_FALSE(second->next);
  EXPECT_EQ(server.requests().at(1).target, "/v2/team/app/tags/list?n=2&last=b");
}

TEST_F(registry_client_test, referrers_pass_the_filter_and_report_it) {
  auto c = make(server.port());
  auto got = run(ioc, c->referrers("team/app", blob_digest, "application/vnd.example+json"));
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(got->filters_applied, "artifactType");
  EXPECT_EQ(got->bytes, R"({"manifests":[]})");
  EXPECT_EQ(server.requests().back().target,
            "/v2/team/app/referrers/" + blob_digest.str() + "?artifactType=application/vnd.example%2Bjson");
}

TEST_F(registry_client_test, redirect_loops_end_after_ten_hops) {
  auto c = make(server.port());
  auto got = run(ioc, c->head_blob("redirect/loop/app", blob_digest));
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error(), errc::protocol_error);
  EXPECT_EQ(server.requests().size(), 11u) << "the request and ten redirects, not retried";
}

TEST_F(registry_client_test, a_redirected_manifest_request_keeps_its_accept) {
  test_server moved([](const seen_request& req, std::size_t) {
    if (req.path() == "/v2/team/app/manifests/v1")
      return reply{answer(301, "Location: /elsewhere/manifests/v1\r\n")};
    return reply{answer(200, "Content-Type: application/vnd.oci.image.index.v1+json\r\n", "{}")};
  });
  auto c = make(moved.port());
  auto got = run(ioc, c->get_manifest("team/app", "v1", "application/vnd.oci.image.index.v1+json"));
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(got->media_type, "application/vnd.oci.image.index.v1+json");
  const auto seen = moved.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].target, "/elsewhere/manifests/v1");
  EXPECT_EQ(seen[1].values("Accept"), std::vector<std::string>{"application/vnd.oci.image.index.v1+json"});
}

// An upstream that wants Basic credentials and sends blobs to a storage host
// (another port: another origin), as registries with object storage do.
TEST_F(registry_client_test, redirects_keep_range_and_carry_credentials_only_home) {
  test_server storage([](const seen_request& req, std::size_t) {
    return reply{answer(206, "Content-Range: bytes 10-99/100\r\n", std::string(90, 's'))};
  });
  test_server home([&storage](const seen_request& req, std::size_t) {
    if (req.values("Authorization").empty())
      return reply{answer(401, "WWW-Authenticate: Basic realm=\"test\"\r\n")};
    if (req.path().starts_with("/v2/team/app/blobs/"))
      return reply{answer(307, "Location: /moved" + req.target.substr(req.target.find("/blobs/")) + "\r\n")};
    return reply{answer(307, "Location: " + storage.url() + "/object?sig=abc\r\n")};
  });
  auto c = make(home.port(), {}, credentials{"puller", "secret"});
  auto got = run(ioc, c->get_blob("team/app", blob_digest, 10));
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(got->size(), 100u);

  const auto at_home = home.requests();
  ASSERT_EQ(at_home.size(), 3u) << "anonymous, with credentials, then the redirect on the same host";
  EXPECT_EQ(at_home[2].target, "/moved/blobs/" + blob_digest.str());
  EXPECT_FALSE(at_home[2].values("Authorization").empty()) << "the upstream's own host gets the credentials";
  EXPECT_EQ(at_home[2].values("Range"), std::vector<std::string>{"bytes=10-"});
  const auto at_storage = storage.requests();
  ASSERT_EQ(at_storage.size(), 1u);
  EXPECT_EQ(at_storage[0].target, "/object?sig=abc");
  EXPECT_TRUE(at_storage[0].values("Authorization").empty()) << "credentials never leave the upstream's host";
  EXPECT_EQ(at_storage[0].values("Range"), std::vector<std::string>{"bytes=10-"});
  EXPECT_EQ(requests_with_status("307"), 2u);
}

asio::awaitable<result<std::string>> read_whole(blob_stream* stream) {
  std::string out;
  std::array<std::byte, 4096> buf{};
  for (;;) {
    auto n = co_await stream->read_some(std::span<std::byte>(buf));
    if (!n) co_return n.error();
    if (*n == 0) co_return out;
    out.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
}

// An h2c upstream (another regcache): the Basic challenge is answered on the
// same connection, and a redirect to another host (object storage) is
// followed over HTTP/1.1, without the credentials.
TEST_F(registry_client_test, an_h2c_upstream_answers_challenges_and_redirects_elsewhere_go_over_http1) {
  test_server storage([](const seen_request&, std::size_t) { return reply{answer(200, {}, std::string(100, 's'))}; });
  test::h2_test_server tier([&storage](const seen_request& req, std::size_t) {
    if (req.values("authorization").empty())
      return test::h2_reply{401, {{"www-authenticate", "Basic realm=\"tier\""}, {"content-length", "0"}}, {}};
    if (req.path().find("/blobs/") != std::string::npos)
      return test::h2_reply{307, {{"location", storage.url() + "/object?sig=abc"}, {"content-length", "0"}}, {}};
    return test::h2_reply{200, {{"content-type", "application/vnd.oci.image.manifest.v1+json"}, {"content-length", "2"}},
                          "{}"};
  });
  client_options opts;
  opts.connect_timeout = 2s;
  opts.read_timeout = 2s;
  auto h2c_opts = opts;
  h2c_opts.h2c = true;
  registry_options options{.name = "tier.test"};
  const endpoint ep{"http", "127.0.0.1", tier.port(), ""};
  auto c = std::make_shared<registry_client>(
      options, std::vector{std::make_shared<client>(ioc.get_executor(), ep, h2c_opts)},
      std::make_shared<authenticator>(options.name, credentials{"node", "secret"}, opts), metrics);

  auto manifest = test::run_until_done(ioc, c->get_manifest("team/app", "v1", "application/json"));
  ASSERT_TRUE(manifest) << manifest.error().message();
  EXPECT_EQ(manifest->bytes, "{}");
  EXPECT_EQ(manifest->media_type, "application/vnd.oci.image.manifest.v1+json");
  auto blob = test::run_until_done(ioc, c->get_blob("team/app", blob_digest, 0));
  ASSERT_TRUE(blob) << blob.error().message();
  auto bytes = test::run_until_done(ioc, read_whole(&*blob));
  ASSERT_TRUE(bytes) << bytes.error().message();
  EXPECT_EQ(*bytes, std::string(100, 's'));

  const auto at_tier = tier.requests();
  ASSERT_EQ(at_tier.size(), 3u) << "anonymous, with credentials, then the blob with credentials at once";
  EXPECT_FALSE(at_tier[2].values("authorization").empty());
  EXPECT_EQ(tier.connections(), 1u);
  const auto at_storage = storage.requests();
  ASSERT_EQ(at_storage.size(), 1u);
  EXPECT_TRUE(at_storage[0].values("Authorization").empty()) << "credentials never leave the upstream's host";
}

}  // namespace
}  // namespace regcache::upstream

#include "regcache/registry/handler.hpp"

#include "regcache/cache/fill_coordinator.hpp"
#include "regcache/core/hasher.hpp"
#include "regcache/store/blob_store.hpp"
#include "regcache/store/index.hpp"
#include "regcache/trust/errc.hpp"
#include "regcache/upstream/registry_client.hpp"
#include "regcache/upstream/url.hpp"
#include "unit/http/in_memory_session.hpp"
#include "unit/store/test_support.hpp"

#include <boost/asio/thread_pool.hpp>
#include <boost/json/parse.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>

namespace regcache::registry {
namespace {

using http::testing::in_memory_session;
using http::testing::response;
using ::testing::HasSubstr;
using verb = boost::beast::http::verb;

constexpr std::string_view manifest_type = "application/vnd.oci.image.manifest.v1+json";
constexpr std::string_view upstream_name = "127.0.0.1:9";

// The OCI error code of an error body.
std::string oci_code(const response& res) {
  const auto body = boost::json::parse(res.body());
  return std::string(body.at("errors").at(0).at("code").as_string());
}

std::shared_ptr<const cache::upstream_source> offline_source(boost::asio::any_io_executor executor,
                                                             metrics::registry& metrics) {
  auto source = std::make_shared<cache::upstream_source>();
  source->name = std::string(upstream_name);
  source->registry = std::make_shared<upstream::registry_client>(
      upstream::registry_options{.name = source->name, .offline = true},
      std::vector{std::make_shared<upstream::client>(executor, upstream::parse_url("http://127.0.0.1:9").value(),
                                                     upstream::client_options{})},
      std::make_shared<upstream::authenticator>(source->name, std::nullopt, upstream::client_options{}), metrics);
  return source;
}

// An image manifest whose config is the given blob.
std::string manifest_naming(const core::digest& config, std::size_t size) {
  return std::string(R"({"schemaVersion":2,"mediaType":")") + std::string(manifest_type) +
         R"(","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" + config.str() +
         R"(","size":)" + std::to_string(size) + R"(},"layers":[]})";
}

// The registry handler behind a real http::server session, over a real store
// and index holding one image (team/app:v1, a manifest and one blob). Its
// only upstream is offline: whatever the cache lacks answers 503 without a
// connection, so these tests never touch the network.
class handler_test : public ::testing::Test {
 protected:
  explicit handler_test(trust::signature_policy signature_rules = {})
      : signatures_(std::move(signature_rules), ctx_, manifest_cache_, blob_cache_, discovery_) {
    const auto now = core::to_unix_ms(core::clock::system().now());
    put_blob(blob_, now);
    EXPECT_FALSE(index_->put_manifest(manifest_digest_, {std::string(manifest_type), manifest_, now, now}));
    EXPECT_FALSE(index_->put_link(upstream_name, "team/app", manifest_digest_, now));
    EXPECT_FALSE(
        index_->put_tag(upstream_name, "team/app", "v1", {manifest_digest_, std::string(manifest_type), now, ""}));
  }
  // The password checker's thread may still be finishing a completion that
  // holds work on the session's io_context after the response went out; the
  // gate (and that thread) ends before the session and its io_context do.
  ~handler_test() override {
    gate_ = auth::gate();
    blocking_.join();
  }

  void put_blob(const std::string& content, std::int64_t now) {
    auto writer = blobs_->create_writer(blob_digest_, content.size()).value();
    EXPECT_FALSE(writer.append(store::testing::as_bytes(content)));
    EXPECT_FALSE(writer.verify());
    EXPECT_TRUE(writer.commit());
    EXPECT_FALSE(index_->put_blob(blob_digest_, {content.size(), "application/octet-stream", now, now, false}));
    EXPECT_FALSE(index_->put_link(upstream_name, "team/app", blob_digest_, now));
  }

  response get(std::string target, std::vector<std::pair<std::string, std::string>> fields = {}) {
    return session_.request(verb::get, std::move(target), std::move(fields));
  }
  response head(std::string target, std::vector<std::pair<std::string, std::string>> fields = {}) {
    return session_.request(verb::head, std::move(target), std::move(fields));
  }

  store::testing::temp_dir dir_;
  boost::asio::io_context idle_;  // the offline upstream's client never runs
  boost::asio::thread_pool blocking_{1};
  metrics::registry registry_;
  cache::cache_metrics metrics_{registry_};
  std::shared_ptr<store::blob_store> blobs_ = store::blob_store::open(dir_.path()).value();
  std::unique_ptr<store::index> index_ = store::index::open(dir_.path() / "index").value();
  store::remover remover_{*blobs_, *index_};
  cache::context ctx_{blobs_, index_.get(), &metrics_, &core::clock::system(), blocking_.get_executor(),
                      &remover_};
  cache::fill_coordinator fills_{ctx_};
  cache::blob_cache blob_cache_{ctx_, fills_, std::chrono::minutes(5)};
  cache::manifest_cache manifest_cache_{ctx_};
  cache::discovery discovery_{ctx_};
  std::shared_ptr<const cache::upstream_source> source_ = offline_source(idle_.get_executor(), registry_);
  std::atomic<bool> ready_{true};
  auth::gate gate_;
  trust::signature_gate signatures_;
  handler handler_{{true, "/metrics"},        router({source_}, std::string(upstream_name)),
                   manifest_cache_,           blob_cache_,
                   discovery_,                metrics_,
                   [this] { return ready_.load(); }, gate_, signatures_};
  in_memory_session session_{std::ref(handler_)};

  const std::string blob_ = store::testing::pattern(1000);
  const core::digest blob_digest_ = core::hasher::of(blob_);
  const std::string manifest_ = manifest_naming(blob_digest_, blob_.size());
  const core::digest manifest_digest_ = core::hasher::of(manifest_);
};

TEST_F(handler_test, base_endpoint_answers_with_the_api_version) {
  const auto res = get("/v2/");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res["Docker-Distribution-API-Version"], "registry/2.0");
  EXPECT_EQ(res.body(), "{}");
  EXPECT_EQ(head("/v2/").result_int(), 200);
}

TEST_F(handler_test, cached_manifest_by_tag_and_by_digest) {
  const auto by_tag = get("/v2/team/app/manifests/v1", {{"Accept", std::string(manifest_type)}});
  ASSERT_EQ(by_tag.result_int(), 200) << by_tag.body();
  EXPECT_EQ(by_tag.body(), manifest_);
  EXPECT_EQ(by_tag["Docker-Content-Digest"], manifest_digest_.str());
  EXPECT_EQ(by_tag["Content-Type"], manifest_type);
  EXPECT_EQ(by_tag["ETag"], "\"" + manifest_digest_.str() + "\"");

  const auto by_digest = get("/v2/team/app/manifests/" + manifest_digest_.str(), {{"Accept", "*/*"}});
  EXPECT_EQ(by_digest.result_int(), 200);
  EXPECT_EQ(by_digest.body(), manifest_);
}

TEST_F(handler_test, head_of_a_manifest_has_its_length_and_no_body) {
  const auto res = head("/v2/team/app/manifests/v1", {{"Accept", std::string(manifest_type)}});
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res["Content-Length"], std::to_string(manifest_.size()));
  EXPECT_EQ(res["Docker-Content-Digest"], manifest_digest_.str());
  EXPECT_EQ(res.body(), "");
}

TEST_F(handler_test, matching_if_none_match_is_304_without_a_body) {
  const auto etag = "\"" + manifest_digest_.str() + "\"";
  const auto manifest = get("/v2/team/app/manifests/v1", {{"Accept", std::string(manifest_type)}, {"If-None-Match", etag}});
  EXPECT_EQ(manifest.result_int(), 304);
  EXPECT_EQ(manifest.body(), "");
  const auto blob = get("/v2/team/app/blobs/" + blob_digest_.str(), {{"If-None-Match", "\"" + blob_digest_.str() + "\""}});
  EXPECT_EQ(blob.result_int(), 304);
  EXPECT_EQ(blob.body(), "");
  const auto other = get("/v2/team/app/manifests/v1", {{"Accept", std::string(manifest_type)}, {"If-None-Match", "\"sha256:0\""}});
  EXPECT_EQ(other.result_int(), 200);
}

TEST_F(handler_test, a_tag_that_moved_is_never_answered_with_the_old_manifests_response) {
  const std::vector<std::pair<std::string, std::string>> accept{{"Accept", std::string(manifest_type)}};
  for (int i = 0; i < 3; ++i) {  // the first answer fills the memory, the others come from it
    const auto res = get("/v2/team/app/manifests/v1", accept);
    ASSERT_EQ(res.result_int(), 200) << i;
    EXPECT_EQ(res.body(), manifest_) << i;
    EXPECT_EQ(res["Docker-Content-Digest"], manifest_digest_.str()) << i;
  }
  // The tag moves (as a revalidation or purge would store it) and the forgetter
  // drops the old one from memory.
  const auto moved = manifest_naming(blob_digest_, blob_.size() + 1);
  const auto moved_digest = core::hasher::of(moved);
  const auto now = core::to_unix_ms(core::clock::system().now());
  ASSERT_FALSE(index_->put_manifest(moved_digest, {std::string(manifest_type), moved, now, now}));
  ASSERT_FALSE(index_->put_link(upstream_name, "team/app", moved_digest, now));
  ASSERT_FALSE(index_->put_tag(upstream_name, "team/app", "v1", {moved_digest, std::string(manifest_type), now, ""}));
  manifest_cache_.forget_tag(upstream_name, "team/app", "v1");
  for (int i = 0; i < 3; ++i) {
    const auto res = get("/v2/team/app/manifests/v1", accept);
    ASSERT_EQ(res.result_int(), 200) << i;
    EXPECT_EQ(res.body(), moved) << i;
    EXPECT_EQ(res["Docker-Content-Digest"], moved_digest.str()) << i;
    EXPECT_EQ(res["ETag"], "\"" + moved_digest.str() + "\"") << i;
    EXPECT_EQ(res["Content-Length"], std::to_string(moved.size())) << i;
    const auto head_res = head("/v2/team/app/manifests/v1", accept);
    EXPECT_EQ(head_res["Docker-Content-Digest"], moved_digest.str()) << i;
  }
}

TEST_F(handler_test, a_manifest_routed_by_namespace_echoes_it_from_memory_too) {
  const std::vector<std::pair<std::string, std::string>> accept{{"Accept", std::string(manifest_type)}};
  for (int i = 0; i < 2; ++i) {
    const auto by_ns = get("/v2/team/app/manifests/v1?ns=" + std::string(upstream_name), accept);
    ASSERT_EQ(by_ns.result_int(), 200) << i;
    EXPECT_EQ(by_ns["OCI-Namespace"], upstream_name) << i;
    EXPECT_EQ(by_ns.body(), manifest_) << i;
    const auto plain = get("/v2/team/app/manifests/v1", accept);
    EXPECT_EQ(plain.count("OCI-Namespace"), 0u) << i;
    EXPECT_EQ(plain.body(), manifest_) << i;
  }
}

TEST_F(handler_test, manifest_in_a_type_the_client_does_not_accept_is_unknown) {
  ASSERT_EQ(get("/v2/team/app/manifests/v1", {{"Accept", std::string(manifest_type)}}).result_int(), 200);
  for (int i = 0; i < 2; ++i) {  // from the index, then from memory
    const auto res = get("/v2/team/app/manifests/v1", {{"Accept", "application/vnd.docker.distribution.manifest.v1+json"}});
    EXPECT_EQ(res.result_int(), 404) << i;
    EXPECT_EQ(oci_code(res), "MANIFEST_UNKNOWN") << i;
  }
}

TEST_F(handler_test, cached_blob_whole_ranged_and_head) {
  const auto target = "/v2/team/app/blobs/" + blob_digest_.str();
  const auto whole = get(target);
  ASSERT_EQ(whole.result_int(), 200) << whole.body();
  EXPECT_EQ(whole.body(), blob_);
  EXPECT_EQ(whole["Docker-Content-Digest"], blob_digest_.str());
  EXPECT_EQ(whole["Accept-Ranges"], "bytes");

  const auto part = get(target, {{"Range", "bytes=10-19"}});
  EXPECT_EQ(part.result_int(), 206);
  EXPECT_EQ(part.body(), blob_.substr(10, 10));
  EXPECT_EQ(part["Content-Range"], "bytes 10-19/1000");

  const auto beyond = get(target, {{"Range", "bytes=5000-"}});
  EXPECT_EQ(beyond.result_int(), 416);
  EXPECT_EQ(oci_code(beyond), "RANGE_INVALID");

  const auto head_res = head(target);
  EXPECT_EQ(head_res.result_int(), 200);
  EXPECT_EQ(head_res["Content-Length"], "1000");
  EXPECT_EQ(head_res.body(), "");
}

TEST_F(handler_test, what_the_cache_lacks_is_asked_upstream_never_assumed) {
  // The blob is cached, but not known to be in this repository: only the
  // upstream may say so, and it is offline.
  const auto elsewhere = get("/v2/other/app/blobs/" + blob_digest_.str());
  EXPECT_EQ(elsewhere.result_int(), 503);
  EXPECT_EQ(oci_code(elsewhere), "UNAVAILABLE");
  const auto unknown_tag = get("/v2/team/app/manifests/v2", {{"Accept", std::string(manifest_type)}});
  EXPECT_EQ(unknown_tag.result_int(), 503);
  EXPECT_THAT(unknown_tag.body(), HasSubstr(std::string(upstream_name)));
}

TEST_F(handler_test, malformed_requests_are_answered_from_the_error_table) {
  const std::pair<std::string, std::pair<unsigned, std::string>> cases[] = {
      {"/v2/team/app/manifests/.INVALID_MANIFEST_NAME", {404, "MANIFEST_UNKNOWN"}},
      {"/v2/team/app/manifests/" + std::string(129, 't'), {404, "MANIFEST_UNKNOWN"}},
      {"/v2/team/app/manifests/sha256:abc", {400, "DIGEST_INVALID"}},
      {"/v2/team/app/blobs/latest", {400, "DIGEST_INVALID"}},
      {"/v2/Team/App/manifests/v1", {400, "NAME_INVALID"}},
      {"/v2/" + std::string(250, 'a') + "/manifests/v1", {400, "NAME_INVALID"}},
      {"/v2/ghcr.io/owner/app/manifests/v1", {404, "NAME_UNKNOWN"}},
      {"/v2/_catalog", {404, "UNSUPPORTED"}},
      {"/v2/team/app/nothing/here", {404, "UNSUPPORTED"}},
  };
  for (const auto& [target, expected] : cases) {
    const auto res = get(target);
    EXPECT_EQ(res.result_int(), expected.first) << target.substr(0, 60);
    EXPECT_EQ(oci_code(res), expected.second) << target.substr(0, 60);
    EXPECT_EQ(res["Docker-Distribution-API-Version"], "registry/2.0") << target.substr(0, 60);
  }
  const auto head_res = head("/v2/team/app/manifests/.INVALID_MANIFEST_NAME");
  EXPECT_EQ(head_res.result_int(), 404);
  EXPECT_EQ(head_res.body(), "");
}

TEST_F(handler_test, writes_are_refused_with_the_methods_allowed) {
  for (const auto method : {verb::put, verb::post, verb::delete_, verb::patch}) {
    const auto res = session_.request(method, "/v2/team/app/manifests/v1");
    EXPECT_EQ(res.result_int(), 405);
    EXPECT_EQ(res["Allow"], "GET, HEAD");
    EXPECT_EQ(oci_code(res), "UNSUPPORTED");
  }
  EXPECT_EQ(session_.request(verb::post, "/v2/team/app/blobs/uploads/").result_int(), 405);
}

TEST_F(handler_test, health_readiness_and_metrics) {
  EXPECT_EQ(get("/healthz").result_int(), 200);
  EXPECT_EQ(get("/readyz").result_int(), 200);
  ready_ = false;
  EXPECT_EQ(get("/readyz").result_int(), 503);
  EXPECT_EQ(get("/healthz").result_int(), 200) << "alive while not ready";
  (void)get("/v2/team/app/blobs/" + blob_digest_.str());
  const auto metrics = get("/metrics");
  EXPECT_EQ(metrics.result_int(), 200);
  EXPECT_THAT(metrics.body(), HasSubstr("regcache_cache_requests_total"));
}

// htpasswd -nbB alice 'correct horse' / htpasswd -nbB bob b0b
constexpr std::string_view users =
    "alice:$2y$05$rNz0pOeuZAc.3XURBkn7ZeJrUin58wwtGdTE8apngyafLqBsRK1sm\n"
    "bob:$2y$05$CtU2y6z3X9APD.LzsmeSAOtHj7/KdYZMhEwFVf2aTTeDnOM9/EyTG\n";
constexpr std::string_view alice = "Basic YWxpY2U6Y29ycmVjdCBob3JzZQ==";  // alice:correct horse
constexpr std::string_view bob = "Basic Ym9iOmIwYg==";                   // bob:b0b
constexpr std::string_view wrong = "Basic YWxpY2U6d3Jvbmc=";              // alice:wrong

// team/** is alice's; nobody else pulls anything.
class gated_handler_test : public handler_test {
 protected:
  gated_handler_test() {
    {
      std::ofstream out(dir_.path() / "htpasswd");
      out << users;
    }
    auth::identity_options options;
    options.htpasswd_file = dir_.path() / "htpasswd";
    auto ids = std::make_unique<auth::identities>(options, core::clock::system());
    auth::policy rules({{"*", {oci::repository_glob::parse("team/**").value()}, auth::decision::allow, {"alice"}}}, {},
                       auth::decision::deny);
    auto trail = std::make_unique<auth::audit>([this](const std::string& line) { audit_lines_.push_back(line); },
                                               false, registry_, core::clock::system());
    gate_ = auth::gate(std::move(ids), std::move(rules), std::move(trail));
  }

  static std::vector<std::pair<std::string, std::string>> as(std::string_view authorization) {
    return {{"Authorization", std::string(authorization)}, {"Accept", std::string(manifest_type)}};
  }

  std::vector<std::string> audit_lines_;
};

TEST_F(gated_handler_test, base_endpoint_challenges_until_valid_credentials_come) {
  const auto anonymous = get("/v2/");
  EXPECT_EQ(anonymous.result_int(), 401);
  EXPECT_EQ(anonymous["WWW-Authenticate"], "Basic realm=\"regcache\"");
  EXPECT_EQ(oci_code(anonymous), "UNAUTHORIZED");
  const auto wrong_password = get("/v2/", as(wrong));
  EXPECT_EQ(wrong_password.result_int(), 401);
  EXPECT_EQ(wrong_password["WWW-Authenticate"], "Basic realm=\"regcache\"");
  EXPECT_EQ(get("/v2/", as(alice)).result_int(), 200);
  EXPECT_EQ(get("/v2/", as(bob)).result_int(), 200) << "bob is someone, even if he may pull nothing";
}

TEST_F(gated_handler_test, every_repository_route_passes_the_gate) {
  const std::vector<std::string> routes{"/v2/team/app/manifests/v1", "/v2/team/app/manifests/" + manifest_digest_.str(),
                                        "/v2/team/app/blobs/" + blob_digest_.str(), "/v2/team/app/tags/list",
                                        "/v2/team/app/referrers/" + manifest_digest_.str()};
  for (const auto& route : routes) {
    const auto anonymous = get(route);
    EXPECT_EQ(anonymous.result_int(), 401) << route;
    EXPECT_EQ(anonymous["WWW-Authenticate"], "Basic realm=\"regcache\"") << route;
    EXPECT_EQ(oci_code(anonymous), "UNAUTHORIZED") << route;
    EXPECT_EQ(head(route).result_int(), 401) << route;
    const auto denied = get(route, as(bob));
    EXPECT_EQ(denied.result_int(), 403) << route;
    EXPECT_EQ(denied["WWW-Authenticate"], "") << route;
    EXPECT_EQ(oci_code(denied), "DENIED") << route;
    EXPECT_EQ(get(route, as(wrong)).result_int(), 401) << route;
  }
  EXPECT_EQ(get(routes[0], as(alice)).result_int(), 200);
  EXPECT_EQ(get(routes[1], as(alice)).result_int(), 200);
  EXPECT_EQ(get(routes[2], as(alice)).body(), blob_);
  EXPECT_EQ(head(routes[2], as(alice)).result_int(), 200);
}

TEST_F(gated_handler_test, denials_and_first_pulls_are_audited) {
  (void)get("/v2/team/app/manifests/v1", as(bob));
  (void)get("/v2/team/app/manifests/v1", as(alice));
  (void)get("/v2/team/app/manifests/v1", as(alice));
  ASSERT_EQ(audit_lines_.size(), 2u);
  EXPECT_THAT(audit_lines_[0], HasSubstr("decision=deny identity=bob client=local upstream=127.0.0.1:9 "
                                         "repository=team/app reference=v1 digest=-"));
  EXPECT_THAT(audit_lines_[1], HasSubstr("decision=allow identity=alice client=local upstream=127.0.0.1:9 "
                                         "repository=team/app reference=v1 digest=" + manifest_digest_.str()));
  EXPECT_THAT(get("/metrics").body(), HasSubstr(R"(regcache_access_decisions_total{decision="deny"} 1)"));
}

// team/** must be signed (enforce), warned/** is checked in warn mode. The
// verdicts are stored beforehand, as a check against the upstream would have
// left them (the upstream here is offline; trust's own tests find and check
// real signatures).
trust::signature_policy signature_rules() {
  std::vector<trust::signature_rule> rules(2);
  rules[0].repositories = {oci::repository_glob::parse("team/**").value()};
  rules[0].mode = trust::mode::enforce;
  rules[1].repositories = {oci::repository_glob::parse("warned/**").value()};
  rules[1].mode = trust::mode::warn;
  return trust::signature_policy(std::move(rules));
}

class signed_handler_test : public handler_test {
 protected:
  signed_handler_test() : handler_test(signature_rules()) {}

  void judge(std::string_view repository, trust::errc failure) { judge(repository, static_cast<std::uint32_t>(failure)); }
  void judge(std::string_view repository, std::uint32_t failure = 0) {
    const auto now = core::to_unix_ms(core::clock::system().now());
    EXPECT_FALSE(index_->put_verdict(manifest_digest_, upstream_name, repository,
                                     {failure, now, trust::key_set_of({}, "", false), "", "stored by the test"}));
  }
  void hold_in(std::string_view repository) {
    const auto now = core::to_unix_ms(core::clock::system().now());
    EXPECT_FALSE(index_->put_link(upstream_name, repository, manifest_digest_, now));
    EXPECT_FALSE(index_->put_link(upstream_name, repository, blob_digest_, now));
    EXPECT_FALSE(index_->put_tag(upstream_name, repository, "v1",
                                 {manifest_digest_, std::string(manifest_type), now, ""}));
  }
  std::string verdicts(std::string_view verdict, std::string_view mode) {
    return "regcache_signature_verdicts_total{mode=\"" + std::string(mode) + "\",verdict=\"" + std::string(verdict) +
           "\"} ";
  }
};

TEST_F(signed_handler_test, a_manifest_that_passed_is_served_by_tag_and_digest_and_its_blobs_with_it) {
  judge("team/app");
  const std::vector<std::pair<std::string, std::string>> accept{{"Accept", std::string(manifest_type)}};
  EXPECT_EQ(head("/v2/team/app/manifests/v1", accept).result_int(), 200);
  EXPECT_EQ(get("/v2/team/app/manifests/v1", accept).body(), manifest_);  // the hot path, from memory
  EXPECT_EQ(get("/v2/team/app/manifests/" + manifest_digest_.str(), accept).result_int(), 200);
  EXPECT_EQ(get("/v2/team/app/blobs/" + blob_digest_.str()).body(), blob_);
  EXPECT_EQ(head("/v2/team/app/blobs/" + blob_digest_.str()).result_int(), 200);
  EXPECT_THAT(get("/metrics").body(), HasSubstr(verdicts("pass", "enforce") + "3"));
}

TEST_F(signed_handler_test, an_unsigned_manifest_and_blobs_no_passed_manifest_names_are_denied_in_enforce) {
  judge("team/app", trust::errc::not_signed);
  const auto refused = get("/v2/team/app/manifests/v1", {{"Accept", std::string(manifest_type)}});
  EXPECT_EQ(refused.result_int(), 403);
  EXPECT_EQ(oci_code(refused), "DENIED");
  EXPECT_THAT(refused.body(), HasSubstr("manifest team/app:v1 (" + manifest_digest_.str() +
                                        ") is refused by regcache's signature policy: no signature found"));
  EXPECT_EQ(head("/v2/team/app/manifests/v1").result_int(), 403);
  EXPECT_EQ(get("/v2/team/app/manifests/" + manifest_digest_.str()).result_int(), 403);
  const auto blob = get("/v2/team/app/blobs/" + blob_digest_.str());
  EXPECT_EQ(blob.result_int(), 403);
  EXPECT_THAT(blob.body(), HasSubstr("no manifest that passed the signature policy references it"));
  EXPECT_EQ(head("/v2/team/app/blobs/" + blob_digest_.str()).result_int(), 403);
  EXPECT_THAT(get("/metrics").body(), HasSubstr(verdicts("fail", "enforce") + "3"));
}

TEST_F(signed_handler_test, warn_serves_what_failed_and_counts_it) {
  hold_in("warned/app");
  judge("warned/app", trust::errc::signature_invalid);
  const std::vector<std::pair<std::string, std::string>> accept{{"Accept", std::string(manifest_type)}};
  EXPECT_EQ(get("/v2/warned/app/manifests/v1", accept).body(), manifest_);
  EXPECT_EQ(get("/v2/warned/app/manifests/v1", accept).body(), manifest_);
  EXPECT_EQ(get("/v2/warned/app/blobs/" + blob_digest_.str()).body(), blob_);
  EXPECT_THAT(get("/metrics").body(), HasSubstr(verdicts("fail", "warn") + "2"));
}

TEST_F(signed_handler_test, signatures_that_cannot_be_fetched_answer_503_and_unruled_repositories_pass) {
  // No verdict, and the upstream is offline: the signatures cannot be looked for.
  const auto unavailable = get("/v2/team/app/manifests/v1", {{"Accept", std::string(manifest_type)}});
  EXPECT_EQ(unavailable.result_int(), 503);
  EXPECT_EQ(oci_code(unavailable), "UNAVAILABLE");
  hold_in("other/app");
  EXPECT_EQ(get("/v2/other/app/manifests/v1", {{"Accept", std::string(manifest_type)}}).result_int(), 200);
  EXPECT_EQ(get("/v2/other/app/blobs/" + blob_digest_.str()).result_int(), 200);
}

}  // namespace
}  // namespace regcache::registry

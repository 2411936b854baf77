#include "regcache/cache/manifest_cache.hpp"

#include "regcache/cache/errc.hpp"
#include "unit/store/test_support.hpp"
#include "unit/upstream/test_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>

namespace regcache::cache {
namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::reply;
using test::run;
using test::seen_request;
using test::test_server;

std::string image_manifest(char seed) {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
         R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:)" +
         std::string(64, seed) + R"(","size":2},"layers":[]})";
}

// An upstream holding one repository, team/app, whose tag v1 names `current`
// (its manifests answer GET and HEAD, by tag and by digest), or that answers
// every request with `forced_status` when it is set.
class upstream_registry {
 public:
  void point_tag_at(std::string manifest) {
    std::lock_guard lock(mutex_);
    manifests_[core::hasher::of(manifest).str()] = manifest;
    current_ = std::move(manifest);
  }
  std::atomic<unsigned> forced_status{0};

  reply route(const seen_request& req, std::size_t) {
    if (const unsigned status = forced_status)
      return {"HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 0\r\n\r\n"};
    std::lock_guard lock(mutex_);
    const std::string prefix = "/v2/team/app/manifests/";
    const auto reference = req.path().substr(prefix.size());
    const auto found = reference == "v1" ? std::optional(current_)
                       : manifests_.contains(reference) ? std::optional(manifests_.at(reference))
                                                        : std::nullopt;
    if (!req.path().starts_with(prefix) || !found)
      return {"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"};
    return {"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\n"
            "Docker-Content-Digest: " + core::hasher::of(*found).str() + "\r\nContent-Length: " +
            std::to_string(found->size()) + "\r\n\r\n" + (req.method == "HEAD" ? "" : *found)};
  }

 private:
  std::mutex mutex_;
  std::string current_;
  std::map<std::string, std::string> manifests_;
};

// manifest_cache against that upstream, with a clock the tests move.
class manifest_cache_test : public ::testing::Test {
 protected:
  void SetUp() override {
    upstream_.point_tag_at(image_manifest('a'));
    blobs_ = store::blob_store::open(dir_.path()).value();
    index_ = store::index::open(dir_.path() / "index").value();
    source_ = std::make_shared<upstream_source>();
    source_->name = "upstream.test";
    source_->tag_ttl = 60s;
    // One attempt: these tests count requests, and a 503 is the upstream being down.
    source_->registry = registry_client_with(upstream::registry_options{.name = source_->name, .max_attempts = 1});
    cache_ = std::make_unique<manifest_cache>(
        context{blobs_, index_.get(), &metrics_, &clock_, ioc_.get_executor()});
  }

  // A client of the test server configured with `options`.
  std::shared_ptr<upstream::registry_client> registry_client_with(upstream::registry_options options) {
    upstream::client_options opts;
    opts.connect_timeout = 2s;
    opts.read_timeout = 2s;
    const upstream::endpoint ep{"http", "127.0.0.1", server_.port(), ""};
    auto name = options.name;
    return std::make_shared<upstream::registry_client>(
        std::move(options), std::vector{std::make_shared<upstream::client>(ioc_.get_executor(), ep, opts)},
        std::make_shared<upstream::authenticator>(std::move(name), std::nullopt, opts), registry_);
  }

  result<manifest_result> by_tag(bool need_body = true) {
    return run(ioc_, cache_->by_tag(source_, "team/app", "v1", need_body));
  }
  std::size_t requests(std::string_view method) const {
    std::size_t n = 0;
    for (const auto& r : server_.requests()) n += r.method == method;
    return n;
  }

  store::testing::temp_dir dir_;
  asio::io_context ioc_;
  metrics::registry registry_;
  cache_metrics metrics_{registry_};
  core::manual_clock clock_;
  upstream_registry upstream_;
  test_server server_{[this](const seen_request& req, std::size_t nth) { return upstream_.route(req, nth); }};
  std::shared_ptr<store::blob_store> blobs_;
  std::unique_ptr<store::index> index_;
  std::shared_ptr<upstream_source> source_;
  std::unique_ptr<manifest_cache> cache_;
};

TEST_F(manifest_cache_test, a_new_tag_is_fetched_with_one_get) {
  auto first = by_tag();
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_STREQ(first->outcome, "miss");
  EXPECT_EQ(*first->bytes, image_manifest('a'));
  EXPECT_EQ(first->digest, core::hasher::of(image_manifest('a')));
  EXPECT_EQ(first->media_type, "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(requests("GET"), 1u);
  EXPECT_EQ(requests("HEAD"), 0u);
}

TEST_F(manifest_cache_test, a_cached_manifest_is_not_served_once_the_egress_lists_exclude_its_repository) {
  auto first = by_tag();
  ASSERT_TRUE(first) << first.error().message();
  const auto before = server_.requests().size();
  // The same upstream, its configuration now denying team/**.
  auto options = source_->registry->options();
  options.deny_repositories = {oci::repository_glob::parse("team/**").value()};
  auto excluded = std::make_shared<upstream_source>(*source_);
  excluded->registry = registry_client_with(std::move(options));
  for (const bool need_body : {true, false}) {
    auto tagged = run(ioc_, cache_->by_tag(excluded, "team/app", "v1", need_body));
    ASSERT_FALSE(tagged);
    EXPECT_EQ(tagged.error(), upstream::errc::repository_not_allowed);
    auto by_digest = run(ioc_, cache_->by_digest(excluded, "team/app", first->digest, need_body));
    ASSERT_FALSE(by_digest);
    EXPECT_EQ(by_digest.error(), upstream::errc::repository_not_allowed);
  }
  EXPECT_EQ(server_.requests().size(), before);
}

TEST_F(manifest_cache_test, forgotten_tags_and_manifests_leave_memory_and_are_fetched_again) {
  ASSERT_TRUE(by_tag());
  const auto digest = core::hasher::of(image_manifest('a'));
  // Rows removed behind the memory's back: the memory still answers.
  ASSERT_FALSE(index_->remove_tag("upstream.test", "team/app", "v1"));
  ASSERT_FALSE(index_->remove_manifest(digest));
  auto remembered = by_tag();
  ASSERT_TRUE(remembered) << remembered.error().message();
  EXPECT_STREQ(remembered->outcome, "hit");

  // What the forgetter does once the remover took the rows.
  cache_->forget_tag("upstream.test", "team/app", "v1");
  cache_->forget_manifest(digest);
  auto again = by_tag();
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_STREQ(again->outcome, "miss");
  EXPECT_EQ(requests("GET"), 2u);
}

TEST_F(manifest_cache_test, the_stored_listener_hears_of_each_manifest_fetched_from_upstream) {
  std::vector<std::string> heard;
  cache_->on_stored([&](const upstream_source& source, const std::string& repository, const core::digest& digest,
                        const std::string& media_type) {
    heard.push_back(source.name + "/" + repository + "@" + digest.str() + " " + media_type);
  });
  const auto digest = core::hasher::of(image_manifest('a'));
  ASSERT_TRUE(by_tag());
  ASSERT_TRUE(by_tag());  // a hit: nothing entered the cache
  ASSERT_TRUE(run(ioc_, cache_->by_digest(source_, "team/app", digest, true)));
  ASSERT_EQ(heard.size(), 1u);
  EXPECT_EQ(heard[0], "upstream.test/team/app@" + digest.str() + " application/vnd.oci.image.manifest.v1+json");
  // Forgotten (evicted) and pulled again: it enters the cache again.
  cache_->forget_tag("upstream.test", "team/app", "v1");
  cache_->forget_manifest(digest);
  ASSERT_FALSE(index_->remove_manifest(digest));
  ASSERT_FALSE(index_->remove_tag("upstream.test", "team/app", "v1"));
  ASSERT_TRUE(by_tag());
  EXPECT_EQ(heard.size(), 2u);
}

TEST_F(manifest_cache_test, within_tag_ttl_the_upstream_is_not_asked) {
  ASSERT_TRUE(by_tag());
  clock_.advance(59s);
  upstream_.point_tag_at(image_manifest('b'));
  auto again = by_tag();
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_STREQ(again->outcome, "hit");
  EXPECT_EQ(*again->bytes, image_manifest('a')) << "the tag is trusted for tag_ttl";
  EXPECT_EQ(server_.requests().size(), 1u);
}

TEST_F(manifest_cache_test, past_tag_ttl_an_unchanged_tag_costs_one_head) {
  ASSERT_TRUE(by_tag());
  clock_.advance(61s);
  auto revalidated = by_tag();
  ASSERT_TRUE(revalidated) << revalidated.error().message();
  EXPECT_STREQ(revalidated->outcome, "hit");
  EXPECT_EQ(requests("HEAD"), 1u);
  EXPECT_EQ(requests("GET"), 1u) << "only the first fetch";

  clock_.advance(59s);
  ASSERT_TRUE(by_tag());
  EXPECT_EQ(server_.requests().size(), 2u) << "the revalidation restarted the tag's TTL";
}

TEST_F(manifest_cache_test, past_tag_ttl_a_moved_tag_is_followed) {
  ASSERT_TRUE(by_tag());
  upstream_.point_tag_at(image_manifest('b'));
  clock_.advance(61s);
  auto moved = by_tag();
  ASSERT_TRUE(moved) << moved.error().message();
  EXPECT_STREQ(moved->outcome, "miss");
  EXPECT_EQ(*moved->bytes, image_manifest('b'));
  const auto seen = server_.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[1].method, "HEAD");
  EXPECT_EQ(seen[2].target, "/v2/team/app/manifests/" + core::hasher::of(image_manifest('b')).str())
      << "the new manifest is fetched by the digest the HEAD named";
}

TEST_F(manifest_cache_test, a_head_request_for_a_new_digest_needs_no_body) {
  ASSERT_TRUE(by_tag());
  upstream_.point_tag_at(image_manifest('c'));
  clock_.advance(61s);
  auto head = by_tag(false);
  ASSERT_TRUE(head) << head.error().message();
  EXPECT_EQ(head->digest, core::hasher::of(image_manifest('c')));
  EXPECT_EQ(head->size, image_manifest('c').size());
  EXPECT_FALSE(head->bytes);
  EXPECT_EQ(requests("GET"), 1u);
}

TEST_F(manifest_cache_test, an_unreachable_upstream_gets_the_stale_tag_within_max_stale) {
  source_->max_stale = 120s;
  ASSERT_TRUE(by_tag());
  upstream_.forced_status = 503;
  clock_.advance(61s + 118s);
  auto stale = by_tag();
  ASSERT_TRUE(stale) << stale.error().message();
  EXPECT_STREQ(stale->outcome, "stale");
  EXPECT_EQ(*stale->bytes, image_manifest('a'));
  EXPECT_EQ(metrics_.stale.value(), 1u);

  clock_.advance(2s);
  auto too_stale = by_tag();
  ASSERT_FALSE(too_stale);
  EXPECT_EQ(too_stale.error(), errc::upstream_failed);
}

TEST_F(manifest_cache_test, a_tag_the_upstream_lost_follows_the_upstream_unless_configured) {
  ASSERT_TRUE(by_tag());
  upstream_.forced_status = 404;
  clock_.advance(61s);
  auto gone = by_tag();
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error(), errc::manifest_unknown);

  source_->serve_cached_when_tag_not_found = true;
  auto kept = by_tag();
  ASSERT_TRUE(kept) << kept.error().message();
  EXPECT_STREQ(kept->outcome, "stale");
}

TEST_F(manifest_cache_test, an_upstream_4xx_becomes_the_matching_cache_error) {
  const std::map<unsigned, errc> table = {
      {401, errc::upstream_unauthorized}, {403, errc::upstream_denied}, {400, errc::upstream_rejected},
      {429, errc::upstream_rate_limited}, {404, errc::manifest_unknown},
  };
  for (const auto& [status, want] : table) {
    upstream_.forced_status = status;
    const auto before = server_.requests().size();
    auto got = by_tag();
    ASSERT_FALSE(got) << status;
    EXPECT_EQ(got.error(), want) << status;
    EXPECT_EQ(server_.requests().size(), before + 1) << status;
  }
}

TEST_F(manifest_cache_test, a_fresh_tag_in_memory_is_answered_without_the_coroutine) {
  EXPECT_FALSE(cache_->fresh_by_tag(*source_, "team/app", "v1")) << "never seen";
  ASSERT_TRUE(by_tag());
  const auto hits = metrics_.hits.value();
  const auto fresh = cache_->fresh_by_tag(*source_, "team/app", "v1");
  ASSERT_TRUE(fresh);
  EXPECT_EQ(*fresh->bytes, image_manifest('a'));
  EXPECT_EQ(fresh->digest, core::hasher::of(image_manifest('a')));
  EXPECT_EQ(fresh->media_type, "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(metrics_.hits.value(), hits + 1);
  EXPECT_EQ(cache_->fresh_by_tag(*source_, "team/app", "v1"), fresh) << "the same object every time";
  EXPECT_FALSE(cache_->fresh_by_tag(*source_, "team/app", "v2"));
  EXPECT_FALSE(cache_->fresh_by_tag(*source_, "team/other", "v1"));
  EXPECT_EQ(server_.requests().size(), 1u);
}

TEST_F(manifest_cache_test, a_tag_past_its_ttl_is_not_fresh_until_revalidated_and_then_names_the_new_manifest) {
  ASSERT_TRUE(by_tag());
  upstream_.point_tag_at(image_manifest('b'));
  clock_.advance(59s);
  ASSERT_TRUE(cache_->fresh_by_tag(*source_, "team/app", "v1"));
  clock_.advance(2s);
  EXPECT_FALSE(cache_->fresh_by_tag(*source_, "team/app", "v1")) << "due for revalidation";
  ASSERT_TRUE(by_tag());
  const auto moved = cache_->fresh_by_tag(*source_, "team/app", "v1");
  ASSERT_TRUE(moved);
  EXPECT_EQ(*moved->bytes, image_manifest('b'));
  EXPECT_EQ(moved->digest, core::hasher::of(image_manifest('b')));
}

TEST_F(manifest_cache_test, a_moved_tag_whose_new_manifest_is_not_in_memory_is_not_fresh) {
  ASSERT_TRUE(by_tag());
  upstream_.point_tag_at(image_manifest('c'));
  clock_.advance(61s);
  ASSERT_TRUE(by_tag(false)) << "a HEAD learns the new digest without its body";
  EXPECT_FALSE(cache_->fresh_by_tag(*source_, "team/app", "v1"));
}

TEST_F(manifest_cache_test, forgotten_or_excluded_tags_are_not_fresh) {
  ASSERT_TRUE(by_tag());
  cache_->forget_manifest(core::hasher::of(image_manifest('a')));
  EXPECT_FALSE(cache_->fresh_by_tag(*source_, "team/app", "v1")) << "its manifest left memory";
  ASSERT_TRUE(by_tag());
  ASSERT_TRUE(cache_->fresh_by_tag(*source_, "team/app", "v1"));
  cache_->forget_tag("upstream.test", "team/app", "v1");
  EXPECT_FALSE(cache_->fresh_by_tag(*source_, "team/app", "v1")) << "the tag left memory";

  ASSERT_TRUE(by_tag());
  auto options = source_->registry->options();
  options.deny_repositories = {oci::repository_glob::parse("team/**").value()};
  auto excluded = std::make_shared<upstream_source>(*source_);
  excluded->registry = registry_client_with(std::move(options));
  EXPECT_FALSE(cache_->fresh_by_tag(*excluded, "team/app", "v1"));
}

TEST_F(manifest_cache_test, a_cached_digest_is_served_without_the_upstream) {
  auto first = by_tag();
  ASSERT_TRUE(first);
  upstream_.forced_status = 503;
  auto by_digest = run(ioc_, cache_->by_digest(source_, "team/app", first->digest, true));
  ASSERT_TRUE(by_digest) << by_digest.error().message();
  EXPECT_STREQ(by_digest->outcome, "hit");
  EXPECT_EQ(server_.requests().size(), 1u) << "the repository was linked when the tag was fetched";
}

}  // namespace
}  // namespace regcache::cache

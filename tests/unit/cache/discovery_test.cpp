#include "regcache/cache/discovery.hpp"

#include "regcache/cache/errc.hpp"
#include "unit/cache/test_support.hpp"
#include "unit/upstream/test_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

namespace regcache::cache {
namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::reply;
using test::seen_request;
using test::test_server;

constexpr std::string_view cosign_type = "application/vnd.dev.cosign.artifact.sig.v1+json";

std::string referrers_index(std::string_view artifact_type) {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)"
         R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:)" +
         std::string(64, 'e') + R"(","size":400,"artifactType":")" + std::string(artifact_type) + R"("}]})";
}

// An upstream holding team/app: its tag list (unsorted, with a duplicate, as
// registries may send it) and the referrers of one subject, filtered when
// asked; or answering every request with `forced_status` when that is set.
class upstream_registry {
 public:
  std::atomic<unsigned> forced_status{0};

  void set_tags(std::string json) {
    std::lock_guard lock(mutex_);
    tags_ = std::move(json);
  }

  reply route(const seen_request& req, std::size_t) {
    if (const unsigned status = forced_status)
      return {"HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 0\r\n\r\n"};
    std::lock_guard lock(mutex_);
    if (req.path() == "/v2/team/app/tags/list") return ok("application/json", tags_, "");
    if (req.path() == "/v2/team/app/referrers/" + subject.str()) {
      const bool filtered = req.target.find("artifactType=") != std::string::npos;
      return ok("application/vnd.oci.image.index.v1+json", referrers_index(filtered ? cosign_type : "any"),
                filtered ? "OCI-Filters-Applied: artifactType\r\n" : "");
    }
    return {"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"};
  }

  const core::digest subject = core::hasher::of("subject");

 private:
  static reply ok(std::string_view type, const std::string& body, std::string_view extra) {
    return {"HTTP/1.1 200 OK\r\nContent-Type: " + std::string(type) + "\r\n" + std::string(extra) +
            "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body};
  }

  std::mutex mutex_;
  std::string tags_ = R"({"name":"team/app","tags":["v2","latest","v1","v2"]})";
};

// discovery over the shared cache fixture's index, asking that upstream.
class discovery_test : public testing::cache_fixture {
 protected:
  void SetUp() override {
    cache_fixture::SetUp();
    discovery_ = std::make_unique<discovery>(make_context());
    up_ = source_at(server_.port());
  }
  void TearDown() override {
    discovery_.reset();
    cache_fixture::TearDown();
  }

  // Closes and reopens the index under a new discovery, as a restart does.
  void restart() {
    discovery_.reset();
    remover_.reset();
    index_.reset();
    index_ = store::index::open(root_ / "index").value();
    remover_ = std::make_unique<store::remover>(*blobs_, *index_);
    discovery_ = std::make_unique<discovery>(make_context());
  }

  // The upstream "upstream.test" at 127.0.0.1:<port>; one attempt, since a
  // 503 here is the upstream being down. Port 1 refuses every connection.
  std::shared_ptr<upstream_source> source_at(std::uint16_t port) {
    upstream::registry_options options;
    options.max_attempts = 1;
    auto source = testing::test_upstream::source_at(port, ioc_.get_executor(), registry_, std::move(options));
    source->name = "upstream.test";
    return source;
  }

  result<tag_listing> tags(std::shared_ptr<const upstream_source> source, std::string repository = "team/app") {
    return run(discovery_->tags(std::move(source), std::move(repository)));
  }
  result<referrers_listing> referrers(std::shared_ptr<const upstream_source> source, std::string artifact_type) {
    return run(discovery_->referrers(std::move(source), "team/app", registry_upstream_.subject,
                                     std::move(artifact_type)));
  }
  std::uint64_t stale_count() const { return metrics_->stale.value(); }

  upstream_registry registry_upstream_;
  test_server server_{
      [this](const seen_request& req, std::size_t nth) { return registry_upstream_.route(req, nth); }};
  std::unique_ptr<discovery> discovery_;
  std::shared_ptr<upstream_source> up_;
};

TEST_F(discovery_test, every_answer_is_stored_and_served_stale_while_the_upstream_fails) {
  auto fresh = tags(up_);
  ASSERT_TRUE(fresh) << fresh.error().message();
  EXPECT_STREQ(fresh->outcome, "pass");
  EXPECT_EQ(fresh->tags, (std::vector<std::string>{"latest", "v1", "v2"}));
  auto fresh_refs = referrers(up_, std::string(cosign_type));
  ASSERT_TRUE(fresh_refs) << fresh_refs.error().message();
  EXPECT_STREQ(fresh_refs->outcome, "pass");
  EXPECT_EQ(fresh_refs->filters_applied, "artifactType");

  const auto stored = index_->get_tag_list("upstream.test", "team/app");
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ((*stored)->tags, fresh->tags);
  EXPECT_EQ((*stored)->fetched_ms, core::to_unix_ms(clock_.now()));

  registry_upstream_.forced_status = 503;
  auto stale = tags(up_);
  ASSERT_TRUE(stale) << stale.error().message();
  EXPECT_STREQ(stale->outcome, "stale");
  EXPECT_EQ(stale->tags, fresh->tags);
  auto stale_refs = referrers(up_, std::string(cosign_type));
  ASSERT_TRUE(stale_refs) << stale_refs.error().message();
  EXPECT_STREQ(stale_refs->outcome, "stale");
  EXPECT_EQ(stale_refs->body, fresh_refs->body);
  EXPECT_EQ(stale_refs->filters_applied, "artifactType");
  EXPECT_EQ(stale_count(), 2u);

  // Remembered per filter: the unfiltered referrers were never asked.
  auto unfiltered = referrers(up_, "");
  ASSERT_FALSE(unfiltered);
  EXPECT_EQ(unfiltered.error(), errc::upstream_failed);
}

TEST_F(discovery_test, after_a_restart_an_unreachable_upstream_still_gets_both_lists_answered) {
  ASSERT_TRUE(tags(up_));
  ASSERT_TRUE(referrers(up_, ""));
  ASSERT_TRUE(referrers(up_, std::string(cosign_type)));
  restart();
  const auto down = source_at(1);
  auto listed = tags(down);
  ASSERT_TRUE(listed) << listed.error().message();
  EXPECT_STREQ(listed->outcome, "stale");
  EXPECT_EQ(listed->tags, (std::vector<std::string>{"latest", "v1", "v2"}));
  for (const auto type : {std::string_view(), cosign_type}) {
    auto refs = referrers(down, std::string(type));
    ASSERT_TRUE(refs) << refs.error().message();
    EXPECT_STREQ(refs->outcome, "stale");
    EXPECT_EQ(refs->body, referrers_index(type.empty() ? "any" : cosign_type));
    EXPECT_EQ(refs->filters_applied, type.empty() ? "" : "artifactType");
  }
}

TEST_F(discovery_test, the_newest_answer_replaces_the_stored_one) {
  ASSERT_TRUE(tags(up_));
  registry_upstream_.set_tags(R"({"name":"team/app","tags":["v3"]})");
  clock_.advance(10s);
  auto moved = tags(up_);
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->tags, std::vector<std::string>{"v3"});
  registry_upstream_.forced_status = 502;
  auto stale = tags(up_);
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->tags, std::vector<std::string>{"v3"});
}

TEST_F(discovery_test, without_a_stored_list_the_resolved_tags_are_listed) {
  ASSERT_FALSE(index_->put_tag("upstream.test", "team/other", "resolved",
                               {core::hasher::of("m"), "application/vnd.oci.image.manifest.v1+json", 1, ""}));
  registry_upstream_.forced_status = 503;
  auto listed = tags(up_, "team/other");
  ASSERT_TRUE(listed) << listed.error().message();
  EXPECT_STREQ(listed->outcome, "stale");
  EXPECT_EQ(listed->tags, std::vector<std::string>{"resolved"});

  auto unknown = tags(up_, "team/never");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error(), errc::upstream_failed);
}

TEST_F(discovery_test, an_upstream_404_is_passed_on_even_with_a_stored_answer) {
  ASSERT_TRUE(tags(up_));
  ASSERT_TRUE(referrers(up_, ""));
  registry_upstream_.forced_status = 404;
  auto listed = tags(up_);
  ASSERT_FALSE(listed);
  EXPECT_EQ(listed.error(), errc::manifest_unknown);
  auto refs = referrers(up_, "");
  ASSERT_FALSE(refs);
  EXPECT_EQ(refs.error(), errc::manifest_unknown) << "clients fall back to the referrers tag schema";
  EXPECT_EQ(stale_count(), 0u);
}

}  // namespace
}  // namespace regcache::cache

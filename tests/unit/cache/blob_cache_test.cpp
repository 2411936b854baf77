#include "regcache/cache/blob_cache.hpp"

#include "regcache/cache/errc.hpp"
#include "test_support.hpp"

namespace regcache::cache {
namespace {
using namespace std::chrono_literals;

boost::asio::awaitable<result<std::string>> read_all(blob_cache* cache, std::shared_ptr<const upstream_source> source,
                                                     std::string repository, core::digest digest) {
  auto opened = co_await cache->open(source, repository, digest);
  if (!opened) co_return opened.error();
  std::string out;
  for (;;) {
    const std::uint64_t offset = out.size();
    auto piece = co_await opened->read(offset, 1 << 20);
    if (!piece) co_return piece.error();
    if (length_of(*piece) == 0) co_return out;
    const auto& segment = std::get<file_segment>(*piece);
    std::string bytes(segment.length, '\0');
    const auto n = ::pread(segment.fd, bytes.data(), bytes.size(), static_cast<off_t>(segment.offset));
    out.append(bytes.data(), n < 0 ? 0 : static_cast<std::size_t>(n));
  }
}

boost::asio::awaitable<result<const char*>> outcome_of(blob_cache* cache, std::shared_ptr<const upstream_source> source,
                                                       std::string repository, core::digest digest) {
  auto opened = co_await cache->open(source, repository, digest);
  if (!opened) co_return opened.error();
  co_return opened->outcome();
}

boost::asio::awaitable<result<blob_stat>> stat_of(blob_cache* cache, std::shared_ptr<const upstream_source> source,
                                                  std::string repository, core::digest digest) {
  co_return co_await cache->stat(source, repository, digest);
}

class blob_cache_test : public testing::cache_fixture {
 protected:
  void SetUp() override {
    cache_fixture::SetUp();
    fills_.emplace(make_context());
    cache_.emplace(make_context(), *fills_, 10s);
  }
  void TearDown() override {
    cache_.reset();
    fills_.reset();
    cache_fixture::TearDown();
  }
  // Pulls the blob through repository A until it is committed.
  core::digest cached_via_a(const std::string& content) {
    const auto digest = upstream_.add_blob("team/a", content);
    auto got = run(read_all(&*cache_, source_, "team/a", digest));
    EXPECT_TRUE(got) << got.error().message();
    EXPECT_TRUE(run_until([&] { return fills_->in_flight() == 0; }));
    EXPECT_TRUE(blobs_->exists(digest));
    return digest;
  }
  std::optional<fill_coordinator> fills_;
  std::optional<blob_cache> cache_;
};

TEST_F(blob_cache_test, a_miss_streams_the_fill_and_the_next_open_is_a_hit) {
  const std::string content(200'000, 'x');
  const auto digest = cached_via_a(content);
  EXPECT_EQ(metrics_->misses.value(), 1u);
  EXPECT_EQ(run(read_all(&*cache_, source_, "team/a", digest)).value(), content);
  EXPECT_EQ(metrics_->hits.value(), 1u);
  EXPECT_EQ(upstream_.requests(), std::vector<std::string>{"GET /v2/team/a/blobs/" + digest.str()})
      << "the fill recorded the link: a hit under the same repository asks nothing upstream";
}

TEST_F(blob_cache_test, a_cached_blob_is_not_served_once_the_egress_lists_exclude_its_repository) {
  const auto digest = cached_via_a("layer bytes");
  const auto before = upstream_.requests();
  auto options = source_->registry->options();
  options.allow_repositories = {oci::repository_glob::parse("library/**").value()};
  auto excluded = testing::test_upstream::source_at(upstream_.port(), ioc_.get_executor(), registry_, options);
  auto opened = run(outcome_of(&*cache_, excluded, "team/a", digest));
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error(), upstream::errc::repository_not_allowed);
  auto stat = run(stat_of(&*cache_, excluded, "team/a", digest));
  ASSERT_FALSE(stat);
  EXPECT_EQ(stat.error(), upstream::errc::repository_not_allowed);
  EXPECT_EQ(upstream_.requests(), before);
}

TEST_F(blob_cache_test, a_blob_cached_via_one_repository_is_not_served_under_another_the_upstream_denies) {
  const auto digest = cached_via_a("layer bytes");
  auto opened = run(outcome_of(&*cache_, source_, "team/b", digest));
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error(), errc::blob_unknown);
  auto stat = run(stat_of(&*cache_, source_, "team/b", digest));
  ASSERT_FALSE(stat);
  EXPECT_EQ(stat.error(), errc::blob_unknown);
  EXPECT_EQ(upstream_.count("HEAD /v2/team/b/blobs/" + digest.str()), 2u);
  EXPECT_EQ(upstream_.count("GET /v2/team/b/blobs/" + digest.str()), 0u) << "the cached copy is not fetched again";
}

TEST_F(blob_cache_test, a_blob_cached_via_one_repository_is_served_under_another_the_upstream_confirms) {
  const auto digest = cached_via_a("layer bytes");
  upstream_.add_blob("team/b", "layer bytes");
  EXPECT_STREQ(run(outcome_of(&*cache_, source_, "team/b", digest)).value(), "hit");
  EXPECT_STREQ(run(outcome_of(&*cache_, source_, "team/b", digest)).value(), "hit");
  EXPECT_EQ(upstream_.count("HEAD /v2/team/b/blobs/" + digest.str()), 1u) << "confirmed once, then remembered";
  EXPECT_EQ(upstream_.count("GET /v2/team/b/blobs/" + digest.str()), 0u);
  auto stat = run(stat_of(&*cache_, source_, "team/b", digest));
  ASSERT_TRUE(stat);
  EXPECT_TRUE(stat->cached);
  EXPECT_EQ(stat->size, 11u);
}

TEST_F(blob_cache_test, stat_of_a_miss_asks_upstream_and_starts_no_download) {
  const auto digest = upstream_.add_blob("team/a", "not cached");
  auto stat = run(stat_of(&*cache_, source_, "team/a", digest));
  ASSERT_TRUE(stat) << stat.error().message();
  EXPECT_FALSE(stat->cached);
  EXPECT_EQ(stat->size, 10u);
  EXPECT_EQ(fills_->in_flight(), 0u);
  EXPECT_EQ(upstream_.requests(), std::vector<std::string>{"HEAD /v2/team/a/blobs/" + digest.str()});
}

TEST_F(blob_cache_test, a_blob_the_upstream_does_not_have_is_unknown) {
  const auto digest = core::hasher::of("nowhere");
  auto opened = run(outcome_of(&*cache_, source_, "team/a", digest));
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error(), errc::blob_unknown);
}

}  // namespace
}  // namespace regcache::cache

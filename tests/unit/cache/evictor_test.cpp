#include "regcache/cache/evictor.hpp"

#include "regcache/cache/forgetter.hpp"
#include "regcache/cache/manifest_cache.hpp"
#include "regcache/store/errc.hpp"
#include "unit/store/test_support.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <gtest/gtest.h>

#include <set>

namespace regcache::cache {
namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;
using store::testing::digest_of;
using store::testing::pattern;

constexpr std::string_view image_manifest_type = "application/vnd.oci.image.manifest.v1+json";
constexpr std::string_view image_index_type = "application/vnd.oci.image.index.v1+json";

class evictor_test : public ::testing::Test {
 protected:
  void SetUp() override {
    blobs_ = store::blob_store::open(dir_.path()).value();
    index_ = store::index::open(dir_.path() / "index").value();
    remover_ = std::make_unique<store::remover>(*blobs_, *index_);
    ctx_ = {blobs_, index_.get(), &metrics_, &clock_, pool_.get_executor(), remover_.get()};
    manifests_ = std::make_unique<manifest_cache>(ctx_);
    forgetter_ = std::make_unique<forgetter>(*remover_, *manifests_, metrics_);
  }
  void TearDown() override { pool_.join(); }

  // Stops a run_forever loop: its io_context, then the blocking pool, whose
  // pass may still be completing onto that io_context and the evictor, both
  // locals of the test that must outlive it (ASan saw one use after free).
  void stop_loop(asio::io_context& io) {
    io.stop();
    pool_.join();
  }

  std::int64_t now_ms() const { return core::to_unix_ms(clock_.now()); }

  // A committed blob of `size` bytes last used `age` ago; counted in the gauge
  // as a commit would.
  core::digest add_blob(std::size_t size, std::chrono::milliseconds age, unsigned seed) {
    const auto content = pattern(size, seed);
    const auto d = digest_of(content);
    auto writer = blobs_->create_writer(d, size).value();
    EXPECT_FALSE(writer.append(store::testing::as_bytes(content)));
    EXPECT_TRUE(writer.commit().has_value());
    const auto used = now_ms() - age.count();
    EXPECT_FALSE(index_->put_blob(d, {.size = size, .media_type = {}, .created_ms = used, .last_access_ms = used}));
    metrics_.cached_bytes.add(static_cast<std::int64_t>(size));
    return d;
  }

  core::digest add_manifest(const std::string& json, std::string_view media_type, std::chrono::milliseconds age) {
    const auto d = digest_of(json);
    const auto used = now_ms() - age.count();
    EXPECT_FALSE(index_->put_manifest(
        d, {.media_type = std::string(media_type), .bytes = json, .created_ms = used, .last_access_ms = used}));
    return d;
  }

  static std::string descriptor_json(std::string_view media_type, const core::digest& d, std::uint64_t size) {
    return R"({"mediaType":")" + std::string(media_type) + R"(","digest":")" + d.str() + R"(","size":)" +
           std::to_string(size) + "}";
  }

  // An image manifest naming `config` and `layer` (each 100 bytes).
  core::digest add_image(const core::digest& config, const core::digest& layer, std::chrono::milliseconds age) {
    const auto json = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":)" +
                      descriptor_json("application/vnd.oci.image.config.v1+json", config, 100) + R"(,"layers":[)" +
                      descriptor_json("application/vnd.oci.image.layer.v1.tar+gzip", layer, 100) + "]}";
    return add_manifest(json, image_manifest_type, age);
  }

  core::digest add_index(const core::digest& amd64, const core::digest& arm64, std::chrono::milliseconds age) {
    const auto entry = [](const core::digest& d, std::string_view arch) {
      return R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + d.str() +
             R"(","size":300,"platform":{"os":"linux","architecture":")" + std::string(arch) + R"("}})";
    };
    const auto json = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)" +
                      entry(amd64, "amd64") + "," + entry(arm64, "arm64") + "]}";
    return add_manifest(json, image_index_type, age);
  }

  bool has_blob(const core::digest& d) const {
    const bool row = index_->get_blob(d)->has_value();
    EXPECT_EQ(row, blobs_->exists(d)) << "row and file disagree for " << d.str();
    return row;
  }
  bool has_manifest(const core::digest& d) const { return index_->get_manifest(d)->has_value(); }

  // A pull of a tag through manifest_cache, as the registry handler makes it,
  // from an upstream regcache may not contact: only what the cache holds (in
  // memory or in the index) can answer.
  result<manifest_result> pull_tag(std::string repository, std::string tag) {
    asio::io_context io;
    auto source = std::make_shared<upstream_source>();
    source->name = "docker.io";
    const upstream::endpoint nowhere{"http", "127.0.0.1", 1, ""};
    source->registry = std::make_shared<upstream::registry_client>(
        upstream::registry_options{.name = source->name, .offline = true},
        std::vector{std::make_shared<upstream::client>(io.get_executor(), nowhere, upstream::client_options{})},
        std::make_shared<upstream::authenticator>(source->name, std::nullopt, upstream::client_options{}),
        registry_);
    source->tag_ttl = 24h;
    std::optional<result<manifest_result>> out;
    asio::co_spawn(io, pull_tag_into(source, std::move(repository), std::move(tag), &out), asio::detached);
    io.run();
    return out.value();
  }
  asio::awaitable<void> pull_tag_into(std::shared_ptr<const upstream_source> source, std::string repository,
                                      std::string tag, std::optional<result<manifest_result>>* out) {
    *out = co_await manifests_->by_tag(std::move(source), std::move(repository), std::move(tag), true);
  }

  // A filesystem of capacity_ bytes that holds other_bytes_ of other files
  // and the cached blobs (as the index counts them): what statvfs would say.
  store::disk_space_reader fake_disk() {
    return [this]() -> result<store::disk_space> {
      const auto cached = index_->compute_stats().value().blob_bytes;
      return store::disk_space{capacity_, capacity_ - other_bytes_ - cached};
    };
  }

  eviction_report run(evictor& e, bool forced = false) {
    auto report = e.run_once(forced);
    EXPECT_TRUE(report.has_value()) << report.error().message();
    return report ? *report : eviction_report{};
  }

  store::testing::temp_dir dir_;
  std::shared_ptr<store::blob_store> blobs_;
  std::unique_ptr<store::index> index_;
  metrics::registry registry_;
  cache_metrics metrics_{registry_};
  core::manual_clock clock_;
  asio::thread_pool pool_{1};
  std::unique_ptr<store::remover> remover_;
  context ctx_;
  std::unique_ptr<manifest_cache> manifests_;
  std::unique_ptr<forgetter> forgetter_;
  std::uint64_t capacity_ = 10'000;
  std::uint64_t other_bytes_ = 0;
};

eviction_policy quota_policy(std::uint64_t quota) {
  return {.quota_bytes = quota, .high_watermark = 0.9, .low_watermark = 0.5, .min_age = 10min,
          .max_unused_age = 0ms};
}

TEST_F(evictor_test, over_the_high_watermark_the_oldest_go_until_the_low_watermark) {
  std::vector<core::digest> blobs;  // oldest first
  for (unsigned i = 0; i < 10; ++i) blobs.push_back(add_blob(100, std::chrono::hours(10 - i), i));
  evictor e(ctx_, quota_policy(1000));

  const auto report = run(e);
  EXPECT_EQ(report.usage_before, 1000u);
  EXPECT_EQ(report.usage_after, 500u);
  EXPECT_EQ(report.blobs_evicted, 5u);
  EXPECT_EQ(report.blob_bytes_evicted, 500u);
  EXPECT_TRUE(report.reached_low_watermark);
  for (unsigned i = 0; i < 10; ++i) EXPECT_EQ(has_blob(blobs[i]), i >= 5) << i;
  EXPECT_EQ(e.usage(), 500u);
  EXPECT_EQ(e.last_report()->blobs_evicted, 5u);
}

TEST_F(evictor_test, access_moves_a_blob_to_the_back_of_the_line) {
  const auto oldest = add_blob(100, 3h, 1);
  const auto middle = add_blob(100, 2h, 2);
  const auto newest = add_blob(100, 1h, 3);
  index_->record_access(oldest, now_ms() - 30min / 1ms);  // pending: the pass flushes it first
  evictor e(ctx_, {.quota_bytes = 250, .high_watermark = 1.0, .low_watermark = 0.8, .min_age = 10min});

  const auto report = run(e);
  EXPECT_EQ(report.blobs_evicted, 1u);
  EXPECT_FALSE(has_blob(middle));
  EXPECT_TRUE(has_blob(oldest));
  EXPECT_TRUE(has_blob(newest));
}

TEST_F(evictor_test, under_the_high_watermark_nothing_goes_unless_forced) {
  for (unsigned i = 0; i < 9; ++i) add_blob(100, std::chrono::hours(10 - i), i);
  evictor e(ctx_, quota_policy(1000));
  const auto idle = run(e);
  EXPECT_EQ(idle.blobs_evicted, 0u);
  EXPECT_TRUE(idle.reached_low_watermark) << "nothing was asked of it";
  EXPECT_EQ(e.usage(), 900u);

  const auto forced = run(e, true);
  EXPECT_EQ(forced.blobs_evicted, 4u);
  EXPECT_EQ(forced.usage_after, 500u);
}

TEST_F(evictor_test, a_pass_recomputes_usage_so_the_gauge_never_drifts) {
  add_blob(100, 1h, 1);
  metrics_.cached_bytes.set(12345);
  evictor e(ctx_, quota_policy(1000));
  EXPECT_EQ(run(e).usage_before, 100u);
  EXPECT_EQ(metrics_.cached_bytes.value(), 100);
}

TEST_F(evictor_test, content_used_within_min_age_stays) {
  const auto old_blob = add_blob(300, 1h, 1);
  const auto young1 = add_blob(300, 5min, 2);
  const auto young2 = add_blob(300, 1min, 3);
  evictor e(ctx_, quota_policy(1000));

  const auto report = run(e, true);
  EXPECT_FALSE(has_blob(old_blob));
  EXPECT_TRUE(has_blob(young1));
  EXPECT_TRUE(has_blob(young2));
  EXPECT_EQ(report.usage_after, 600u);
  EXPECT_FALSE(report.reached_low_watermark);
  EXPECT_EQ(report.young_bytes_kept, 300u) << "only what min_age keeps from the low watermark";
  EXPECT_EQ(metrics_.eviction_shortfall_bytes.value(), 100) << "600 left, the low watermark is 500";

  clock_.advance(10min);
  const auto later = run(e, true);
  EXPECT_EQ(later.blobs_evicted, 1u);
  EXPECT_FALSE(has_blob(young1));
  EXPECT_TRUE(later.reached_low_watermark);
  EXPECT_EQ(metrics_.eviction_shortfall_bytes.value(), 0);
}

TEST_F(evictor_test, pinned_images_stay_with_their_manifests) {
  const auto config = add_blob(100, 9h, 1);
  const auto layer = add_blob(100, 9h, 2);
  const auto other = add_blob(100, 8h, 3);
  const auto image = add_image(config, layer, 9h);
  ASSERT_FALSE(index_->put_pin("docker.io", "library/alpine", "3.19", {image, {}, now_ms(), 0, ""}));
  evictor e(ctx_, quota_policy(200));

  const auto report = run(e, true);
  EXPECT_TRUE(has_blob(config));
  EXPECT_TRUE(has_blob(layer));
  EXPECT_FALSE(has_blob(other));
  EXPECT_TRUE(has_manifest(image));
  EXPECT_EQ(report.pinned_bytes_kept, 200u);
  EXPECT_FALSE(report.reached_low_watermark);
  EXPECT_EQ(metrics_.pinned_bytes.value(), 200);
  EXPECT_EQ(metrics_.pins.value(), 1);
  EXPECT_EQ(metrics_.eviction_shortfall_bytes.value(), 100) << "200 left, the low watermark is 100";
}

TEST_F(evictor_test, a_pin_keeps_its_image_until_it_expires_then_lifts_itself) {
  const auto config = add_blob(100, 9h, 1);
  const auto layer = add_blob(100, 9h, 2);
  // Used before its blobs, so it goes with them once they go.
  const auto image = add_image(config, layer, 10h);
  const auto forever = add_blob(100, 9h, 3);
  ASSERT_FALSE(index_->put_pin("docker.io", "shop", "v1", {image, {}, now_ms(), now_ms() + 60'000, "app=shop"}));
  ASSERT_FALSE(index_->put_pin("docker.io", "base", "1", {forever, {}, now_ms(), 0, "app=shop"}));
  evictor e(ctx_, quota_policy(100));

  const auto valid = run(e, true);
  EXPECT_EQ(valid.pins_expired, 0u);
  EXPECT_EQ(valid.pinned_bytes_kept, 300u);
  EXPECT_TRUE(has_blob(config) && has_blob(layer) && has_manifest(image));

  clock_.advance(60s);
  const auto expired = run(e, true);
  EXPECT_EQ(expired.pins_expired, 1u);
  EXPECT_FALSE(index_->get_pin("docker.io", "shop", "v1")->has_value());
  EXPECT_FALSE(has_blob(config));
  EXPECT_FALSE(has_blob(layer));
  EXPECT_FALSE(has_manifest(image));
  // A pin without expiry stays, whatever its label.
  EXPECT_TRUE(index_->get_pin("docker.io", "base", "1")->has_value());
  EXPECT_TRUE(has_blob(forever));
  EXPECT_EQ(metrics_.pins.value(), 1);
}

TEST_F(evictor_test, expired_pins_lift_without_a_pass) {
  const auto blob = add_blob(100, 1h, 1);
  ASSERT_FALSE(index_->put_pin("docker.io", "a", "1", {blob, {}, now_ms(), now_ms() + 1000, ""}));
  ASSERT_FALSE(index_->put_pin("docker.io", "b", "1", {blob, {}, now_ms(), now_ms() + 5000, ""}));
  evictor e(ctx_, quota_policy(0));
  clock_.advance(1s);
  EXPECT_EQ(e.lift_expired_pins().value(), 1u);
  EXPECT_FALSE(index_->get_pin("docker.io", "a", "1")->has_value());
  EXPECT_TRUE(index_->get_pin("docker.io", "b", "1")->has_value());
  EXPECT_EQ(e.lift_expired_pins().value(), 0u);
  EXPECT_TRUE(has_blob(blob));
}

TEST_F(evictor_test, a_pinned_index_protects_only_the_chosen_platforms) {
  const auto amd_config = add_blob(100, 9h, 1);
  const auto amd_layer = add_blob(100, 9h, 2);
  const auto arm_config = add_blob(100, 9h, 3);
  const auto arm_layer = add_blob(100, 9h, 4);
  // Manifests are fetched a little before their blobs.
  const auto amd = add_image(amd_config, amd_layer, 9h + 5min);
  const auto arm = add_image(arm_config, arm_layer, 9h + 5min);
  const auto top = add_index(amd, arm, 9h + 5min);
  ASSERT_FALSE(index_->put_pin("docker.io", "library/alpine", "3.19", {top, {"linux/amd64"}, now_ms(), 0, ""}));
  ASSERT_FALSE(index_->put_tag("docker.io", "library/alpine", "3.19", {top, std::string(image_index_type), 1, ""}));
  evictor e(ctx_, quota_policy(400));

  const auto report = run(e, true);
  EXPECT_TRUE(has_blob(amd_config));
  EXPECT_TRUE(has_blob(amd_layer));
  EXPECT_FALSE(has_blob(arm_config));
  EXPECT_FALSE(has_blob(arm_layer));
  EXPECT_TRUE(has_manifest(top));
  EXPECT_TRUE(has_manifest(amd));
  EXPECT_FALSE(has_manifest(arm)) << "unused since the evicted blobs' last access";
  EXPECT_EQ(report.manifests_evicted, 1u);
  EXPECT_TRUE(index_->get_tag("docker.io", "library/alpine", "3.19")->has_value());
}

TEST_F(evictor_test, blobs_flagged_pinned_in_their_row_stay) {
  const auto pinned = add_blob(100, 9h, 1);
  auto record = **index_->get_blob(pinned);
  record.pinned = true;
  ASSERT_FALSE(index_->put_blob(pinned, record));
  evictor e(ctx_, quota_policy(100));
  EXPECT_EQ(run(e, true).pinned_bytes_kept, 100u);
  EXPECT_TRUE(has_blob(pinned));
}

TEST_F(evictor_test, manifests_and_their_tags_follow_the_blobs_horizon) {
  const auto old_config = add_blob(100, 5h, 1);
  const auto old_layer = add_blob(100, 5h, 2);
  const auto new_config = add_blob(100, 1h, 3);
  const auto new_layer = add_blob(100, 1h, 4);
  const auto old_image = add_image(old_config, old_layer, 6h);
  const auto new_image = add_image(new_config, new_layer, 2h);  // older than its blobs, newer than the horizon
  ASSERT_FALSE(index_->put_tag("docker.io", "app", "v1", {old_image, std::string(image_manifest_type), 1, ""}));
  ASSERT_FALSE(index_->put_tag("docker.io", "app", "stable", {old_image, std::string(image_manifest_type), 1, ""}));
  ASSERT_FALSE(index_->put_tag("docker.io", "app", "v2", {new_image, std::string(image_manifest_type), 1, ""}));
  evictor e(ctx_, quota_policy(400));

  const auto report = run(e, true);
  EXPECT_EQ(report.blobs_evicted, 2u);
  EXPECT_EQ(report.manifests_evicted, 1u);
  EXPECT_EQ(report.tags_evicted, 2u);
  EXPECT_FALSE(has_manifest(old_image));
  EXPECT_TRUE(has_manifest(new_image));
  EXPECT_EQ(*index_->list_tags("docker.io", "app"), std::vector<std::string>{"v2"});
}

TEST_F(evictor_test, a_manifest_used_within_the_access_time_granularity_of_the_horizon_stays) {
  const auto config = add_blob(100, 5h, 1);
  const auto layer = add_blob(100, 5h, 2);
  const auto keep = add_blob(100, 1h, 3);
  // Stored a little before the horizon, but its access time is only written
  // once a minute: it may have been used since.
  const auto image = add_image(config, layer, 5h + 30s);
  evictor e(ctx_, quota_policy(300));

  const auto report = run(e, true);
  EXPECT_EQ(report.blobs_evicted, 2u);
  EXPECT_TRUE(has_blob(keep));
  EXPECT_TRUE(has_manifest(image));
}

TEST_F(evictor_test, a_tag_a_pin_names_stays_even_when_its_manifest_goes) {
  const auto pinned_config = add_blob(100, 9h, 1);
  const auto pinned_layer = add_blob(100, 9h, 2);
  const auto moved_config = add_blob(100, 8h, 3);
  const auto moved_layer = add_blob(100, 8h, 4);
  const auto pinned = add_image(pinned_config, pinned_layer, 9h + 5min);
  const auto moved = add_image(moved_config, moved_layer, 8h + 5min);
  // Pinned at `pinned`; the tag moved on to `moved` since.
  ASSERT_FALSE(index_->put_pin("docker.io", "app", "latest", {pinned, {}, now_ms(), 0, ""}));
  ASSERT_FALSE(index_->put_tag("docker.io", "app", "latest", {moved, std::string(image_manifest_type), 1, ""}));
  evictor e(ctx_, quota_policy(400));

  run(e, true);
  EXPECT_FALSE(has_manifest(moved));
  EXPECT_TRUE(has_manifest(pinned));
  EXPECT_TRUE(index_->get_tag("docker.io", "app", "latest")->has_value());
}

TEST_F(evictor_test, content_unused_for_max_unused_age_goes_even_without_a_quota) {
  const auto stale_blob = add_blob(100, 8 * 24h, 1);
  const auto fresh_blob = add_blob(100, 1h, 2);
  const auto pinned_blob = add_blob(100, 8 * 24h, 3);
  const auto stale_image = add_image(stale_blob, stale_blob, 8 * 24h);
  const auto fresh_image = add_image(fresh_blob, fresh_blob, 1h);
  ASSERT_FALSE(index_->put_pin("docker.io", "p", "1", {pinned_blob, {}, now_ms(), 0, ""}));
  evictor e(ctx_, {.quota_bytes = 0, .min_age = 10min, .max_unused_age = 7 * 24h});

  const auto report = run(e);
  EXPECT_FALSE(has_blob(stale_blob));
  EXPECT_TRUE(has_blob(fresh_blob));
  EXPECT_TRUE(has_blob(pinned_blob));
  EXPECT_FALSE(has_manifest(stale_image));
  EXPECT_TRUE(has_manifest(fresh_image));
  EXPECT_EQ(report.blobs_evicted, 1u);
  EXPECT_EQ(report.manifests_evicted, 1u);
  EXPECT_TRUE(report.reached_low_watermark);
}

TEST_F(evictor_test, metrics_count_passes_evictions_and_bytes) {
  for (unsigned i = 0; i < 4; ++i) add_blob(250, std::chrono::hours(4 - i), i);
  const auto config = add_blob(1, 9h, 10);
  const auto image = add_image(config, config, 9h);
  evictor e(ctx_, quota_policy(1000));
  EXPECT_EQ(metrics_.quota_bytes.value(), 1000);

  run(e);
  run(e);
  EXPECT_EQ(metrics_.eviction_runs.value(), 2u);
  EXPECT_EQ(metrics_.blobs_evicted.value(), 3u);
  EXPECT_EQ(metrics_.evicted_bytes.value(), 501u);
  EXPECT_EQ(metrics_.manifests_evicted.value(), 1u);
  EXPECT_FALSE(has_manifest(image));
  EXPECT_EQ(metrics_.cached_bytes.value(), 500);
  const auto exposed = registry_.expose();
  EXPECT_NE(exposed.find("regcache_evictions_total{kind=\"blob\"} 3"), std::string::npos) << exposed;
  EXPECT_NE(exposed.find("regcache_evicted_bytes_total 501"), std::string::npos);
  EXPECT_NE(exposed.find("regcache_quota_bytes 1000"), std::string::npos);
}

TEST_F(evictor_test, an_evicted_manifest_and_its_tag_are_no_longer_served_from_memory) {
  const auto config = add_blob(100, 1h, 1);
  const auto layer = add_blob(100, 1h, 2);
  const auto image = add_image(config, layer, 1h);
  ASSERT_FALSE(index_->put_tag("docker.io", "library/app", "v1",
                               {image, std::string(image_manifest_type), now_ms(), ""}));
  auto pulled = pull_tag("library/app", "v1");
  ASSERT_TRUE(pulled.has_value()) << pulled.error().message();
  ASSERT_EQ(pulled->digest, image) << "the tag and its manifest are now held in memory";

  clock_.advance(3h);  // that pull is long past now
  evictor e(ctx_, {.quota_bytes = 0, .high_watermark = 0.9, .low_watermark = 0.8, .min_age = 10min,
                   .max_unused_age = 2h});
  const auto report = run(e);
  EXPECT_EQ(report.blobs_evicted, 2u);
  EXPECT_EQ(report.manifests_evicted, 1u);
  EXPECT_EQ(report.tags_evicted, 1u);

  auto again = pull_tag("library/app", "v1");
  ASSERT_FALSE(again.has_value()) << "the evicted manifest was served from memory";
  EXPECT_EQ(again.error(), errc::offline) << again.error().message();
  EXPECT_EQ(metrics_.cached_bytes.value(), 0) << "the gauge dropped with the blobs";
  EXPECT_EQ(e.usage(), 0u);
}

TEST_F(evictor_test, the_gauge_follows_blobs_removed_outside_a_pass) {
  const auto kept = add_blob(100, 1h, 1);
  const auto purged = add_blob(250, 1h, 2);
  ASSERT_TRUE(remover_->remove_blob(purged).has_value());  // as purge or fsck do
  EXPECT_EQ(metrics_.cached_bytes.value(), 100);
  evictor e(ctx_, quota_policy(1000));
  EXPECT_EQ(run(e).usage_before, 100u) << "the pass measures what the gauge said";
  EXPECT_EQ(metrics_.cached_bytes.value(), 100);
  EXPECT_TRUE(has_blob(kept));
}

TEST_F(evictor_test, below_min_free_the_oldest_go_until_free_space_is_back_even_under_the_quota) {
  std::vector<core::digest> blobs;  // oldest first
  for (unsigned i = 0; i < 10; ++i) blobs.push_back(add_blob(300, std::chrono::hours(10 - i), i));
  other_bytes_ = 6'000;  // 3000 cached: 1000 left of 10000
  // No quota at all: only the free space can ask for room.
  evictor e(ctx_, {.quota_bytes = 0, .min_age = 10min, .min_free_bytes = 1'500}, fake_disk());

  const auto report = run(e);
  EXPECT_TRUE(report.below_min_free);
  EXPECT_EQ(report.available_before, 1'000u);
  EXPECT_EQ(report.blobs_evicted, 2u) << "500 bytes short: two blobs of 300";
  EXPECT_TRUE(report.reached_low_watermark);
  for (unsigned i = 0; i < 10; ++i) EXPECT_EQ(has_blob(blobs[i]), i >= 2) << i;
  EXPECT_EQ(fake_disk()()->available, 1'600u);
  EXPECT_EQ(metrics_.cached_bytes.value(), 2'400);

  const auto again = run(e);
  EXPECT_FALSE(again.below_min_free);
  EXPECT_EQ(again.blobs_evicted, 0u) << "free space is above min_free: nothing more goes";
}

TEST_F(evictor_test, below_min_free_a_pass_also_frees_the_quotas_watermark_gap) {
  for (unsigned i = 0; i < 10; ++i) add_blob(300, std::chrono::hours(10 - i), i);
  other_bytes_ = 6'000;
  // Usage 3000 is far under this quota's high watermark (9000); its gap
  // between the watermarks is 1000.
  evictor e(ctx_, {.quota_bytes = 10'000, .high_watermark = 0.9, .low_watermark = 0.8, .min_age = 10min,
                   .min_free_bytes = 1'500},
            fake_disk());
  const auto report = run(e);
  EXPECT_EQ(report.blobs_evicted, 5u) << "1500 to reach min_free plus the gap of 1000";
  EXPECT_GE(fake_disk()()->available, 2'500u);
}

TEST_F(evictor_test, below_min_free_pinned_and_young_content_still_stays) {
  const auto old_blob = add_blob(300, 2h, 1);
  const auto young = add_blob(300, 1min, 2);
  const auto pinned_config = add_blob(300, 5h, 3);
  const auto pinned_image = add_image(pinned_config, pinned_config, 5h);
  ASSERT_FALSE(index_->put_pin("docker.io", "library/app", "v1", {pinned_image, {}, 1, 0, ""}));
  other_bytes_ = 9'000;  // other files took the disk: 100 bytes left
  evictor e(ctx_, {.quota_bytes = 0, .min_age = 10min, .min_free_bytes = 2'000}, fake_disk());

  const auto report = run(e);
  EXPECT_TRUE(report.below_min_free);
  EXPECT_EQ(report.blobs_evicted, 1u);
  EXPECT_FALSE(has_blob(old_blob));
  EXPECT_TRUE(has_blob(young));
  EXPECT_TRUE(has_blob(pinned_config));
  EXPECT_FALSE(report.reached_low_watermark) << "the cache cannot free what other files hold";
  EXPECT_EQ(report.pinned_bytes_kept, 300u);
  EXPECT_EQ(report.young_bytes_kept, 300u);
  EXPECT_EQ(metrics_.eviction_shortfall_bytes.value(), 1'600) << "1900 to reach min_free, 300 freed";
}

TEST_F(evictor_test, min_free_off_or_unmeasurable_leaves_the_quota_in_charge) {
  for (unsigned i = 0; i < 4; ++i) add_blob(300, std::chrono::hours(4 - i), i);
  other_bytes_ = 8'800;  // almost full
  evictor off(ctx_, {.quota_bytes = 0, .min_age = 10min, .min_free_bytes = 0}, fake_disk());
  EXPECT_EQ(run(off).blobs_evicted, 0u);
  EXPECT_FALSE(off.last_report()->below_min_free);

  evictor blind(ctx_, {.quota_bytes = 1'000, .high_watermark = 0.9, .low_watermark = 0.5, .min_age = 10min,
                       .min_free_bytes = 5'000},
                [] { return result<store::disk_space>(make_error_code(store::errc::io_error)); });
  const auto report = run(blind);
  EXPECT_FALSE(report.below_min_free);
  EXPECT_EQ(report.blobs_evicted, 3u) << "the quota still works: 1200 down to 500 or below";
}

TEST_F(evictor_test, run_forever_starts_a_pass_when_free_space_falls_below_min_free) {
  for (unsigned i = 0; i < 4; ++i) add_blob(300, std::chrono::hours(4 - i), i);
  evictor e(ctx_, {.quota_bytes = 0, .min_age = 10min, .min_free_bytes = 2'000}, fake_disk());
  asio::io_context io;
  asio::co_spawn(io, e.run_forever(20ms), asio::detached);
  io.run_for(100ms);
  EXPECT_FALSE(e.last_report()) << "8800 free: nothing to do";

  other_bytes_ = 7'000;  // 1800 free now
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!e.last_report() && std::chrono::steady_clock::now() < deadline) io.run_for(10ms);
  stop_loop(io);
  ASSERT_TRUE(e.last_report());
  EXPECT_EQ(e.last_report()->blobs_evicted, 1u);
  EXPECT_GE(fake_disk()()->available, 2'000u);
}

TEST_F(evictor_test, a_reader_with_an_open_handle_finishes_an_evicted_blob) {
  const auto content = pattern(100'000, 7);
  const auto d = add_blob(content.size(), 5h, 7);
  auto handle = blobs_->open_blob(d).value();
  evictor e(ctx_, quota_policy(1000));

  EXPECT_EQ(run(e, true).blobs_evicted, 1u);
  EXPECT_FALSE(blobs_->exists(d));
  EXPECT_EQ(store::testing::read_all(*handle), content);
}

TEST_F(evictor_test, run_forever_answers_a_request_with_a_forced_pass_on_the_blocking_executor) {
  for (unsigned i = 0; i < 4; ++i) add_blob(100, std::chrono::hours(4 - i), i);
  evictor e(ctx_, quota_policy(600));  // 400 used: under the high watermark (540), over the low one (300)
  asio::io_context io;
  asio::co_spawn(io, e.run_forever(20ms), asio::detached);
  e.request();
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!e.last_report() && std::chrono::steady_clock::now() < deadline) io.run_for(10ms);
  stop_loop(io);
  ASSERT_TRUE(e.last_report());
  EXPECT_EQ(e.last_report()->blobs_evicted, 1u) << "forced: down to the low watermark";
}

TEST_F(evictor_test, a_request_wakes_run_forever_before_its_next_poll) {
  for (unsigned i = 0; i < 4; ++i) add_blob(100, std::chrono::hours(4 - i), i);
  evictor e(ctx_, quota_policy(600));
  asio::io_context io;
  asio::co_spawn(io, e.run_forever(1h), asio::detached);  // polls once a second
  io.poll();                                               // now waiting on its timer
  const auto requested_at = std::chrono::steady_clock::now();
  e.request();
  // The loop's own timer fires only a second from now: a pass before that
  // was started by the request.
  while (!e.last_report() && std::chrono::steady_clock::now() < requested_at + 900ms) io.run_for(5ms);
  stop_loop(io);
  ASSERT_TRUE(e.last_report()) << "the request had to wait for the next poll";
  EXPECT_EQ(e.last_report()->blobs_evicted, 1u);
}

TEST_F(evictor_test, run_forever_stays_idle_under_the_high_watermark) {
  add_blob(100, 4h, 1);
  evictor e(ctx_, quota_policy(1000));
  asio::io_context io;
  asio::co_spawn(io, e.run_forever(20ms), asio::detached);
  io.run_for(100ms);
  stop_loop(io);
  EXPECT_FALSE(e.last_report());
  EXPECT_EQ(metrics_.eviction_runs.value(), 0u);
}

}  // namespace
}  // namespace regcache::cache

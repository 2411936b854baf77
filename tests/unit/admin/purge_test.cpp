// purge_image and take_inventory against a real index and blob store.
#include "regcache/admin/purge.hpp"

#include "regcache/admin/inventory.hpp"
#include "unit/store/test_support.hpp"

#include <gtest/gtest.h>

namespace regcache::admin {
namespace {

using store::testing::as_bytes;
using store::testing::digest_of;

class purge_test : public ::testing::Test {
 protected:
  void SetUp() override {
    blobs_ = *store::blob_store::open(dir_.path() / "root");
    idx_ = std::move(*store::index::open(dir_.path() / "root" / "index"));
    remover_ = std::make_unique<store::remover>(*blobs_, *idx_);
    remover_->add_listener(heard_);
  }

  core::digest blob(std::string_view content, std::int64_t last_access_ms = 100) {
    const auto d = digest_of(content);
    auto w = blobs_->create_writer(d, content.size());
    EXPECT_FALSE(w->append(as_bytes(content)));
    EXPECT_TRUE(w->commit().has_value());
    EXPECT_FALSE(idx_->put_blob(d, {.size = content.size(),
                                    .media_type = {},
                                    .created_ms = 1,
                                    .last_access_ms = last_access_ms,
                                    .pinned = false}));
    return d;
  }

  static std::string descriptor(const core::digest& d, std::size_t size, std::string_view media_type) {
    return R"({"mediaType":")" + std::string(media_type) + R"(","digest":")" + d.str() + R"(","size":)" +
           std::to_string(size) + "}";
  }

  core::digest put(const std::string& bytes, std::string media_type) {
    const auto d = digest_of(bytes);
    EXPECT_FALSE(idx_->put_manifest(d, {std::move(media_type), bytes, 1, 50}));
    return d;
  }

  // An image manifest over a config and layers (contents given; sizes from them).
  core::digest image(std::string_view config, std::vector<std::string_view> layers) {
    std::string json = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":)" +
                       descriptor(digest_of(config), config.size(), "application/vnd.oci.image.config.v1+json") +
                       R"(,"layers":[)";
    for (std::size_t i = 0; i < layers.size(); ++i)
      json += (i ? "," : "") +
              descriptor(digest_of(layers[i]), layers[i].size(), "application/vnd.oci.image.layer.v1.tar+gzip");
    json += "]}";
    return put(json, "application/vnd.oci.image.manifest.v1+json");
  }

  core::digest index_of(const core::digest& amd64, const core::digest& arm64) {
    const auto entry = [&](const core::digest& d, std::string_view arch) {
      auto bytes = idx_->get_manifest(d).value()->bytes;
      return R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + d.str() + R"(","size":)" +
             std::to_string(bytes.size()) + R"(,"platform":{"os":"linux","architecture":")" + std::string(arch) +
             R"("}})";
    };
    const std::string json =
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)" +
        entry(amd64, "amd64") + "," + entry(arm64, "arm64") + "]}";
    return put(json, "application/vnd.oci.image.index.v1+json");
  }

  void tag(std::string_view repo, std::string_view t, const core::digest& d) {
    EXPECT_FALSE(idx_->put_tag("docker.io", repo, t, {d, "application/vnd.oci.image.index.v1+json", 1, ""}));
  }

  boost::system::result<purge_report, purge_failure> purge(std::string_view repo, std::string_view ref) {
    return purge_image(*remover_, "docker.io", repo, *oci::parse_reference(ref));
  }

  store::testing::temp_dir dir_;
  std::shared_ptr<store::blob_store> blobs_;
  std::unique_ptr<store::index> idx_;
  store::testing::recording_listener heard_;
  std::unique_ptr<store::remover> remover_;
};

TEST_F(purge_test, removes_the_image_but_not_what_another_image_uses) {
  const auto base = blob("base-layer");
  const auto only_a = blob("layer-a");
  blob("config-a");
  blob("config-b");
  const auto a = index_of(image("config-a", {"base-layer", "layer-a"}), image("config-a", {"base-layer"}));
  const auto b = image("config-b", {"base-layer"});
  tag("library/app", "a", a);
  tag("library/other", "b", b);

  auto report = purge("library/app", "a");
  ASSERT_TRUE(report.has_value()) << report.error().message;
  EXPECT_EQ(report->digest, a.str());
  EXPECT_EQ(report->tags_removed, 1u);
  EXPECT_EQ(report->manifests_removed, 3u);
  EXPECT_EQ(report->blobs_removed, 2u);  // layer-a and config-a
  EXPECT_EQ(report->bytes_removed, std::string_view("layer-a").size() + std::string_view("config-a").size());
  EXPECT_FALSE(blobs_->exists(only_a));
  EXPECT_TRUE(blobs_->exists(base));
  EXPECT_TRUE(idx_->get_manifest(b)->has_value());
  EXPECT_FALSE(idx_->get_tag("docker.io", "library/app", "a")->has_value());
  // Everything went through the remover, so the cache hears of each removal.
  EXPECT_EQ(heard_.blobs, (std::map<core::digest, std::uint64_t>{{only_a, 7}, {digest_of("config-a"), 8}}));
  EXPECT_EQ(heard_.manifests.size(), 3u);
  EXPECT_EQ(heard_.tags, std::vector<std::string>{"docker.io/library/app:a"});
}

TEST_F(purge_test, pinned_image_is_refused) {
  blob("c");
  const auto m = image("c", {});
  tag("library/app", "v1", m);
  ASSERT_FALSE(idx_->put_pin("docker.io", "library/app", "v1", {m, {}, 5, 0, ""}));
  auto report = purge("library/app", "v1");
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().what, purge_failure::kind::pinned);
  EXPECT_NE(report.error().message.find("unpin"), std::string::npos);
  // By digest too: the pin protects the content, whatever name the operator uses.
  report = purge("library/app", m.str());
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().what, purge_failure::kind::pinned);
}

TEST_F(purge_test, by_digest_removes_the_tags_naming_it) {
  blob("c");
  const auto m = image("c", {});
  tag("library/app", "v1", m);
  tag("library/app", "also", m);
  auto report = purge("library/app", m.str());
  ASSERT_TRUE(report.has_value()) << report.error().message;
  EXPECT_EQ(report->tags_removed, 2u);
  EXPECT_EQ(report->manifests_removed, 1u);
}

TEST_F(purge_test, uncached_image_is_not_found) {
  auto report = purge("library/app", "nope");
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().what, purge_failure::kind::not_cached);
}

TEST_F(purge_test, inventory_sizes_platforms_last_use_and_pins) {
  blob("config-a", 300);
  blob("base-layer", 700);
  // layer-a is not cached: it counts in total_bytes only.
  const auto a = index_of(image("config-a", {"base-layer", "layer-a"}), image("config-a", {"base-layer"}));
  tag("library/app", "a", a);
  tag("library/app", "same", a);
  ASSERT_FALSE(idx_->put_pin("docker.io", "library/app", "a", {a, {}, 5, 0, ""}));

  auto inv = take_inventory(*idx_);
  ASSERT_TRUE(inv.has_value()) << inv.error().message();
  ASSERT_EQ(inv->images.size(), 2u);
  const auto& e = inv->images[0];
  EXPECT_EQ(e.tag, "a");
  EXPECT_EQ(e.platforms, (std::vector<std::string>{"linux/amd64", "linux/arm64"}));
  EXPECT_EQ(e.cached_bytes, 8u + 10u);
  EXPECT_EQ(e.total_bytes, 8u + 10u + 7u);
  EXPECT_EQ(e.last_used_ms, 700);
  EXPECT_TRUE(e.pinned);
  EXPECT_TRUE(inv->images[1].pinned);  // the same digest as a pinned one
  ASSERT_EQ(inv->repositories.size(), 1u);
  EXPECT_EQ(inv->repositories[0].tags, 2u);
  EXPECT_EQ(inv->repositories[0].cached_bytes, 18u);  // shared blobs once
}

TEST_F(purge_test, inventory_shows_the_worst_scan_verdict_of_an_images_manifests) {
  const auto amd64 = image("config-a", {"base-layer"});
  const auto arm64 = image("config-b", {"base-layer"});
  const auto both = index_of(amd64, arm64);
  tag("library/app", "multi", both);
  tag("library/app", "single", amd64);
  const auto scan_of = [&] {
    auto inv = take_inventory(*idx_);
    EXPECT_TRUE(inv.has_value());
    return std::make_pair(inv->images[0].scan, inv->images[1].scan);  // multi, single
  };
  EXPECT_EQ(scan_of(), std::make_pair(std::string(), std::string()));
  ASSERT_FALSE(idx_->put_scan(amd64, {store::scan_verdict::pass, 1, "", "", ""}));
  EXPECT_EQ(scan_of(), std::make_pair(std::string("pending"), std::string("pass")));
  ASSERT_FALSE(idx_->put_scan(arm64, {store::scan_verdict::error, 1, "", "", ""}));
  EXPECT_EQ(scan_of().first, "error");
  ASSERT_FALSE(idx_->put_scan(arm64, {store::scan_verdict::fail, 1, "", "", ""}));
  EXPECT_EQ(scan_of().first, "fail");
  ASSERT_FALSE(idx_->put_scan(arm64, {store::scan_verdict::pass, 1, "", "", ""}));
  EXPECT_EQ(scan_of().first, "pass");
}

}  // namespace
}  // namespace regcache::admin

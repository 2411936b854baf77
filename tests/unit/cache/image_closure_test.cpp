#include "regcache/cache/image_closure.hpp"

#include "regcache/cache/errc.hpp"
#include "unit/store/test_support.hpp"

#include <gtest/gtest.h>

namespace regcache::cache {
namespace {
using store::testing::digest_of;

std::string descriptor(std::string_view media_type, const core::digest& d, std::uint64_t size,
                       std::string_view platform = {}) {
  return R"({"mediaType":")" + std::string(media_type) + R"(","digest":")" + d.str() + R"(","size":)" +
         std::to_string(size) + std::string(platform) + "}";
}

class image_closure_test : public ::testing::Test {
 protected:
  void SetUp() override { index_ = store::index::open(dir_.path() / "index").value(); }

  core::digest put(const std::string& json, std::string media_type) {
    const auto d = digest_of(json);
    EXPECT_FALSE(index_->put_manifest(d, {.media_type = std::move(media_type), .bytes = json}));
    return d;
  }

  // An image with its own config and layer; `shared` is a layer every image has.
  std::string image_json(const std::string& name) const {
    return R"({"schemaVersion":2,"config":)" +
           descriptor("application/vnd.oci.image.config.v1+json", digest_of(name + "-config"), 10) +
           R"(,"layers":[)" + descriptor("application/vnd.oci.image.layer.v1.tar+gzip", shared_, 100) + "," +
           descriptor("application/vnd.oci.image.layer.v1.tar+gzip", digest_of(name + "-layer"), 1000) + "]}";
  }

  std::string index_json(const std::vector<std::pair<core::digest, std::string>>& children) const {
    std::string json = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)";
    for (std::size_t i = 0; i < children.size(); ++i) {
      const auto& [d, arch] = children[i];
      if (i) json += ",";
      json += descriptor("application/vnd.oci.image.manifest.v1+json", d, 500,
                         arch.empty() ? "" : R"(,"platform":{"os":"linux","architecture":")" + arch + R"("})");
    }
    return json + "]}";
  }

  store::testing::temp_dir dir_;
  std::unique_ptr<store::index> index_;
  const core::digest shared_ = digest_of("shared-layer");
  static constexpr const char* manifest_type = "application/vnd.oci.image.manifest.v1+json";
  static constexpr const char* index_type = "application/vnd.oci.image.index.v1+json";
};

TEST_F(image_closure_test, single_image_lists_its_config_and_layers) {
  const auto top = put(image_json("solo"), manifest_type);
  auto closure = closure_of(*index_, top);
  ASSERT_TRUE(closure) << closure.error().message();
  EXPECT_EQ(closure->manifests, std::vector<core::digest>{top});
  ASSERT_EQ(closure->blobs.size(), 3u);
  EXPECT_EQ(closure->blobs[0].digest, digest_of("solo-config"));
  EXPECT_EQ(closure->blob_bytes(), 1110u);
  EXPECT_TRUE(closure->missing_manifests.empty());
}

TEST_F(image_closure_test, index_walks_chosen_platforms_and_reports_missing_children) {
  const auto amd = put(image_json("amd64"), manifest_type);
  const auto arm = put(image_json("arm64"), manifest_type);
  const auto absent = digest_of("never stored");
  const auto attestation = put(image_json("attestation"), manifest_type);
  const auto top = put(index_json({{amd, "amd64"}, {arm, "arm64"}, {absent, "s390x"}, {attestation, ""}}), index_type);

  auto all = closure_of(*index_, top);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->manifests, (std::vector<core::digest>{top, amd, arm, attestation}));
  EXPECT_EQ(all->missing_manifests, std::vector<core::digest>{absent});
  EXPECT_EQ(all->blobs.size(), 7u) << "the shared layer is listed once";

  auto arm_only = closure_of(*index_, top, platform_filter::parse({"linux/arm64"}).value());
  ASSERT_TRUE(arm_only);
  EXPECT_EQ(arm_only->manifests, (std::vector<core::digest>{top, arm, attestation}))
      << "entries without a platform always come along";
  EXPECT_TRUE(arm_only->missing_manifests.empty());
}

TEST_F(image_closure_test, unknown_top_manifest_is_an_error) {
  auto closure = closure_of(*index_, digest_of("nothing"));
  ASSERT_FALSE(closure);
  EXPECT_EQ(closure.error(), errc::manifest_unknown);
}

TEST(platform_filter, parses_os_arch_and_variant_and_rejects_the_rest) {
  auto ok = platform_filter::parse({"linux/amd64", "linux/arm64/v8"});
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->matches(oci::platform{"linux", "arm64", "v8"}));
  EXPECT_TRUE(ok->matches(oci::platform{"linux", "amd64", ""}));
  EXPECT_FALSE(ok->matches(oci::platform{"linux", "arm", "v7"}));
  EXPECT_TRUE(platform_filter{}.matches(oci::platform{"windows", "amd64", ""}));
  for (const char* bad : {"linux", "linux/", "/amd64", "Linux/amd64", "linux/amd64/v8/extra", "linux amd64"})
    EXPECT_EQ(platform_filter::parse({bad}).error(), errc::invalid_platform) << bad;
}

}  // namespace
}  // namespace regcache::cache

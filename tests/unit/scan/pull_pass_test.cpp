#include "regcache/scan/pull_pass.hpp"

#include "regcache/core/hasher.hpp"

#include <gtest/gtest.h>

namespace regcache::scan {
namespace {

core::digest digest_of(std::string_view text) { return core::hasher::of(text, core::digest::algorithm::sha256); }

const auto config_digest = digest_of("config");
const auto layer_digest = digest_of("layer");

std::string manifest_json() {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
         R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
         config_digest.str() + R"(","size":6},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip",)"
         R"("digest":")" + layer_digest.str() + R"(","size":5}]})";
}

TEST(pull_passes, a_pass_admits_its_manifest_under_its_repository_only) {
  pull_passes passes;
  const auto manifest = digest_of(manifest_json());
  const auto token = passes.issue("docker.io", "library/alpine", manifest);
  EXPECT_EQ(token.size(), 32u);
  EXPECT_TRUE(passes.admits(token, "docker.io", "library/alpine", manifest));
  EXPECT_FALSE(passes.admits(token, "docker.io", "library/busybox", manifest));
  EXPECT_FALSE(passes.admits(token, "ghcr.io", "library/alpine", manifest));
  EXPECT_FALSE(passes.admits(token, "docker.io", "library/alpine", digest_of("another manifest")));
  EXPECT_FALSE(passes.admits(token, "docker.io", "library/alpine", layer_digest));
  EXPECT_FALSE(passes.admits(std::string(32, '0'), "docker.io", "library/alpine", manifest));
  EXPECT_NE(passes.issue("docker.io", "library/alpine", manifest), token);
}

TEST(pull_passes, blobs_open_only_once_their_manifest_was_served_through_the_pass) {
  pull_passes passes;
  const auto body = manifest_json();
  const auto manifest = digest_of(body);
  const auto token = passes.issue("docker.io", "library/alpine", manifest);
  const auto other = passes.issue("docker.io", "library/alpine", digest_of("other"));
  // A manifest the pass does not admit opens nothing.
  passes.served_manifest(other, manifest, "application/vnd.oci.image.manifest.v1+json", body);
  EXPECT_FALSE(passes.admits(other, "docker.io", "library/alpine", layer_digest));
  passes.served_manifest(token, manifest, "application/vnd.oci.image.manifest.v1+json", body);
  EXPECT_TRUE(passes.admits(token, "docker.io", "library/alpine", config_digest));
  EXPECT_TRUE(passes.admits(token, "docker.io", "library/alpine", layer_digest));
  EXPECT_FALSE(passes.admits(token, "docker.io", "library/busybox", layer_digest));
  passes.revoke(token);
  EXPECT_FALSE(passes.admits(token, "docker.io", "library/alpine", manifest));
  EXPECT_FALSE(passes.admits(token, "docker.io", "library/alpine", layer_digest));
  EXPECT_EQ(passes.size(), 1u);
}

TEST(pull_passes, split_takes_the_pass_segment_off_a_path_name) {
  const std::string token(32, 'a');
  auto split = pull_passes::split("regcache-scan-" + token + "/library/alpine");
  ASSERT_TRUE(split);
  EXPECT_EQ(split->token, token);
  EXPECT_EQ(split->rest, "library/alpine");
  split = pull_passes::split("regcache-scan-" + token + "/127.0.0.1:5001/team/app");
  ASSERT_TRUE(split);
  EXPECT_EQ(split->rest, "127.0.0.1:5001/team/app");
  EXPECT_FALSE(pull_passes::split("library/alpine"));
  EXPECT_FALSE(pull_passes::split("regcache-scan-" + token));
  EXPECT_FALSE(pull_passes::split("regcache-scan-short/library/alpine"));
}

}  // namespace
}  // namespace regcache::scan

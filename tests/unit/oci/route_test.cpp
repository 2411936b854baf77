#include "regcache/oci/route.hpp"

#include "regcache/oci/errc.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace regcache::oci {
namespace {

const std::string digest = "sha256:" + std::string(64, 'b');

error_code error_of(std::string_view path) {
  auto r = parse_route(path);
  return r ? error_code{} : r.error();
}

TEST(parse_route, base_and_catalog) {
  for (const char* path : {"/v2", "/v2/"}) {
    auto r = parse_route(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->kind, route_kind::base);
    EXPECT_TRUE(r->name.empty());
  }
  auto c = parse_route("/v2/_catalog");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->kind, route_kind::catalog);
}

TEST(parse_route, manifest_by_tag_and_by_digest) {
  auto tag = parse_route("/v2/library/alpine/manifests/3.19");
  ASSERT_TRUE(tag);
  EXPECT_EQ(tag->kind, route_kind::manifest);
  EXPECT_EQ(tag->name, "library/alpine");
  EXPECT_EQ(tag->reference.text, "3.19");
  EXPECT_FALSE(tag->reference.is_digest());

  auto by_digest = parse_route("/v2/a/manifests/" + digest);
  ASSERT_TRUE(by_digest);
  EXPECT_TRUE(by_digest->reference.is_digest());
  EXPECT_EQ(by_digest->reference.digest->str(), digest);
}

TEST(parse_route, blob_tags_referrers) {
  auto blob = parse_route("/v2/a/b/c/blobs/" + digest);
  ASSERT_TRUE(blob);
  EXPECT_EQ(blob->kind, route_kind::blob);
  EXPECT_EQ(blob->name, "a/b/c");
  EXPECT_EQ(blob->reference.digest->str(), digest);

  auto tags = parse_route("/v2/a/tags/list");
  ASSERT_TRUE(tags);
  EXPECT_EQ(tags->kind, route_kind::tags_list);
  EXPECT_EQ(tags->name, "a");
  EXPECT_TRUE(tags->reference.text.empty());

  auto referrers = parse_route("/v2/a/referrers/" + digest);
  ASSERT_TRUE(referrers);
  EXPECT_EQ(referrers->kind, route_kind::referrers);
  EXPECT_EQ(referrers->reference.digest->str(), digest);
}

TEST(parse_route, name_keeps_a_registry_host_prefix_unvalidated) {
  auto r = parse_route("/v2/127.0.0.1:5000/team/app/manifests/v1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->name, "127.0.0.1:5000/team/app");
  auto upper = parse_route("/v2/Library/Alpine/manifests/latest");
  ASSERT_TRUE(upper);
  EXPECT_EQ(upper->name, "Library/Alpine");
  EXPECT_FALSE(is_valid_repository_name(upper->name));
}

TEST(parse_route, uses_the_last_endpoint_segment) {
  auto r = parse_route("/v2/a/manifests/b/manifests/c");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, route_kind::manifest);
  EXPECT_EQ(r->name, "a/manifests/b");
  EXPECT_EQ(r->reference.text, "c");

  auto blobs = parse_route("/v2/blobs/tags/list/blobs/" + digest);
  ASSERT_TRUE(blobs);
  EXPECT_EQ(blobs->kind, route_kind::blob);
  EXPECT_EQ(blobs->name, "blobs/tags/list");

  auto tags = parse_route("/v2/manifests/x/tags/list");
  ASSERT_TRUE(tags);
  EXPECT_EQ(tags->kind, route_kind::tags_list);
  EXPECT_EQ(tags->name, "manifests/x");
}

TEST(parse_route, blob_uploads_take_anything_after) {
  for (const char* path : {"/v2/a/blobs/uploads", "/v2/a/blobs/uploads/", "/v2/a/blobs/uploads/3f1b-uuid",
                           "/v2/a/blobs/uploads/x/y/z"}) {
    auto r = parse_route(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->kind, route_kind::blob_upload) << path;
    EXPECT_EQ(r->name, "a") << path;
  }
}

TEST(parse_route, path_traversal_and_unsafe_names) {
  for (const std::string& path : std::vector<std::string>{"/v2/../x/manifests/a", "/v2/a/../b/blobs/..", "/v2/a/./b/manifests/x",
                                 "/v2/./manifests/x", "/v2/../manifests/x", "/v2/a/../blobs/" + digest,
                                 "/v2//a/manifests/x", "/v2/a//b/manifests/x", "/v2/a/b//manifests/x",
                                 "/v2//manifests/x", "/v2/manifests/x", "/v2/tags/list", "/v2/blobs/uploads/",
                                 "/v2/a%2f..%2fb/manifests/x", "/v2/%2e%2e/manifests/x",
                                 std::string("/v2/a\x01/manifests/x"), std::string("/v2/a\x7f/manifests/x"),
                                 std::string("/v2/a\0b/manifests/x", 19)}) {
    EXPECT_EQ(error_of(path), errc::name_invalid) << path;
  }
}

TEST(parse_route, name_length_bound) {
  const std::string ok(max_route_name_length, 'a');
  EXPECT_TRUE(parse_route("/v2/" + ok + "/manifests/x"));
  EXPECT_EQ(error_of("/v2/" + ok + "a/manifests/x"), errc::name_invalid);
  EXPECT_EQ(error_of("/v2/" + std::string(1'000'000, 'a') + "/tags/list"), errc::name_invalid);
}

TEST(parse_route, blob_and_referrers_need_digests) {
  EXPECT_EQ(error_of("/v2/a/blobs/latest"), errc::digest_invalid);
  EXPECT_EQ(error_of("/v2/a/referrers/latest"), errc::digest_invalid);
  EXPECT_EQ(error_of("/v2/a/blobs/"), errc::digest_invalid);
  EXPECT_EQ(error_of("/v2/a/blobs/sha256:" + std::string(64, 'B')), errc::digest_invalid);
  EXPECT_EQ(error_of("/v2/a/blobs/sha256:xyz"), errc::digest_invalid);
  EXPECT_EQ(error_of("/v2/a/blobs/md5:d41d8cd98f00b204e9800998ecf8427e"), errc::unsupported_digest);
  EXPECT_EQ(error_of("/v2/a/referrers/sha384:abc"), errc::unsupported_digest);
}

TEST(parse_route, bad_manifest_references) {
  EXPECT_EQ(error_of("/v2/a/manifests/"), errc::tag_invalid);
  EXPECT_EQ(error_of("/v2/a/manifests/-x"), errc::tag_invalid);
  EXPECT_EQ(error_of("/v2/a/manifests/" + std::string(129, 't')), errc::tag_invalid);
  EXPECT_EQ(error_of("/v2/a/manifests/sha256:short"), errc::digest_invalid);
  EXPECT_EQ(error_of("/v2/a/manifests/latest?x=1"), errc::tag_invalid);
  // The references of the distribution-spec conformance tests' "invalid manifest name".
  EXPECT_EQ(error_of("/v2/a/manifests/.INVALID_MANIFEST_NAME"), errc::tag_invalid);
  EXPECT_EQ(error_of("/v2/a/manifests/.x"), errc::tag_invalid);
  EXPECT_EQ(error_of("/v2/a/manifests/sha256:" + std::string(64, 'G')), errc::digest_invalid);
  EXPECT_EQ(error_of("/v2/a/manifests/sha256:"), errc::digest_invalid);
}

TEST(parse_route, longest_tag_is_a_manifest_reference) {
  const auto r = parse_route("/v2/a/manifests/" + std::string(128, 't'));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, route_kind::manifest);
  EXPECT_EQ(r->reference.text, std::string(128, 't'));
  EXPECT_FALSE(r->reference.is_digest());
}

TEST(parse_route, unknown_paths) {
  for (const char* path : {"", "/", "/v1/", "/v2x", "/v3/a/manifests/x", "v2/a/manifests/x", "/v2/a",
                           "/v2/a/", "/v2/a/tags", "/v2/a/tags/list/", "/v2/a/tags/all", "/v2/a/manifests",
                           "/v2/_catalog/", "/v2/a/b/c", "/V2/a/manifests/x"}) {
    EXPECT_EQ(error_of(path), errc::route_unknown) << path;
  }
}

}  // namespace
}  // namespace regcache::oci

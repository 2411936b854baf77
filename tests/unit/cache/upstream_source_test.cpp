#include "regcache/cache/upstream_source.hpp"

#include <gtest/gtest.h>

namespace regcache::cache {
namespace {

TEST(repository_of_target, names_the_repository_of_registry_paths) {
  EXPECT_EQ(repository_of_target("/v2/library/alpine/manifests/latest"), "library/alpine");
  EXPECT_EQ(repository_of_target("/v2/a/b/c/blobs/sha256:abc"), "a/b/c");
  EXPECT_EQ(repository_of_target("/v2/app/tags/list?n=10&last=x"), "app");
  EXPECT_EQ(repository_of_target("/v2/app/referrers/sha256:abc?artifactType=x/y"), "app");
  EXPECT_EQ(repository_of_target("/v2/blobs/blobs/sha256:abc"), "blobs");
  EXPECT_EQ(repository_of_target("/v2/"), "");
  EXPECT_EQ(repository_of_target("/v2/manifests/latest"), "");
  EXPECT_EQ(repository_of_target("/v2/app/other/latest"), "");
  EXPECT_EQ(repository_of_target("/token"), "");
}

}  // namespace
}  // namespace regcache::cache

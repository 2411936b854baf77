#include "regcache/admin/purge_plan.hpp"

#include "regcache/core/hasher.hpp"

#include <gtest/gtest.h>

namespace regcache::admin {
namespace {

core::digest d(std::string_view name) { return core::hasher::of(name); }

using refs = std::unordered_map<core::digest, std::vector<core::digest>>;

TEST(purge_plan, unshared_image_goes_entirely) {
  const refs graph{{d("index"), {d("m1")}}, {d("m1"), {d("config"), d("layer")}}};
  const auto plan = plan_purge({d("index"), d("m1")}, {d("config"), d("layer")}, graph, {});
  EXPECT_EQ(plan.manifests, (std::vector{d("index"), d("m1")}));
  EXPECT_EQ(plan.blobs, (std::vector{d("config"), d("layer")}));
}

TEST(purge_plan, blobs_shared_with_another_image_stay) {
  const refs graph{{d("a"), {d("config-a"), d("base")}}, {d("b"), {d("config-b"), d("base")}}};
  const auto plan = plan_purge({d("a")}, {d("config-a"), d("base")}, graph, {d("b")});
  EXPECT_EQ(plan.manifests, (std::vector{d("a")}));
  EXPECT_EQ(plan.blobs, (std::vector{d("config-a")}));
}

TEST(purge_plan, top_still_tagged_elsewhere_keeps_everything) {
  const refs graph{{d("index"), {d("m1")}}, {d("m1"), {d("layer")}}};
  const auto plan = plan_purge({d("index"), d("m1")}, {d("layer")}, graph, {d("index")});
  EXPECT_TRUE(plan.manifests.empty());
  EXPECT_TRUE(plan.blobs.empty());
}

TEST(purge_plan, child_manifest_shared_by_another_index_stays_with_its_blobs) {
  const refs graph{
      {d("index-a"), {d("m1"), d("m2")}}, {d("index-b"), {d("m1")}}, {d("m1"), {d("l1")}}, {d("m2"), {d("l2")}}};
  const auto plan = plan_purge({d("index-a"), d("m1"), d("m2")}, {d("l1"), d("l2")}, graph, {d("index-b")});
  EXPECT_EQ(plan.manifests, (std::vector{d("index-a"), d("m2")}));
  EXPECT_EQ(plan.blobs, (std::vector{d("l2")}));
}

TEST(purge_plan, unreferenced_other_manifest_still_protects_its_blobs) {
  // A manifest nobody tags (pulled by digest) is still cached content.
  const refs graph{{d("a"), {d("shared")}}, {d("loose"), {d("shared")}}};
  const auto plan = plan_purge({d("a")}, {d("shared")}, graph, {});
  EXPECT_EQ(plan.manifests, (std::vector{d("a")}));
  EXPECT_TRUE(plan.blobs.empty());
}

}  // namespace
}  // namespace regcache::admin

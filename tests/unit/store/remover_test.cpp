#include "regcache/store/remover.hpp"

#include "regcache/store/errc.hpp"
#include "unit/store/test_support.hpp"

#include <gtest/gtest.h>

namespace regcache::store {
namespace {

using testing::digest_of;

class remover_test : public testing::store_and_index_test {
 protected:
  std::size_t lru_rows() const {
    std::size_t n = 0;
    EXPECT_FALSE(idx_->for_each_lru([&](std::int64_t, const core::digest&) { return ++n, true; }));
    return n;
  }
};

TEST_F(remover_test, a_blob_goes_row_and_file_and_its_listeners_hear_its_size) {
  const auto d = store_blob("twelve bytes");
  auto removed = remover_->remove_blob(d);
  ASSERT_TRUE(removed.has_value()) << removed.error().message();
  EXPECT_EQ(removed->row_size, 12u);
  EXPECT_TRUE(removed->file_removed);
  EXPECT_FALSE(removed->file_error);
  EXPECT_FALSE(idx_->get_blob(d)->has_value());
  EXPECT_EQ(lru_rows(), 0u);
  EXPECT_FALSE(blobs_->exists(d));
  EXPECT_EQ(heard_.blobs, (std::map<core::digest, std::uint64_t>{{d, 12}}));
}

TEST_F(remover_test, removing_twice_is_not_an_error_and_is_heard_once) {
  const auto d = store_blob("once");
  ASSERT_TRUE(remover_->remove_blob(d).has_value());
  auto again = remover_->remove_blob(d);
  ASSERT_TRUE(again.has_value());
  EXPECT_FALSE(again->row_size.has_value());
  EXPECT_FALSE(again->file_removed);
  EXPECT_EQ(heard_.blobs.size(), 1u);
}

TEST_F(remover_test, a_file_without_a_row_goes_unheard) {
  const auto d = digest_of("orphan");
  testing::write_file(blobs_->blob_path(d), "orphan");
  auto removed = remover_->remove_blob(d);
  ASSERT_TRUE(removed.has_value());
  EXPECT_FALSE(removed->row_size.has_value());
  EXPECT_TRUE(removed->file_removed);
  EXPECT_FALSE(blobs_->exists(d));
  EXPECT_TRUE(heard_.blobs.empty()) << "it was never counted";
}

TEST_F(remover_test, a_row_whose_file_cannot_be_unlinked_still_goes_and_is_heard) {
  const auto d = store_blob("stuck");
  // A directory in the file's place: unlink(2) fails with EISDIR.
  std::filesystem::remove(blobs_->blob_path(d));
  std::filesystem::create_directories(blobs_->blob_path(d) / "inside");
  auto removed = remover_->remove_blob(d);
  ASSERT_TRUE(removed.has_value());
  EXPECT_EQ(removed->row_size, 5u);
  EXPECT_FALSE(removed->file_removed);
  EXPECT_TRUE(removed->file_error);
  EXPECT_FALSE(idx_->get_blob(d)->has_value());
  EXPECT_EQ(heard_.blobs.size(), 1u);
}

TEST_F(remover_test, remove_blob_row_leaves_the_file) {
  const auto d = store_blob("kept file");
  auto removed = remover_->remove_blob_row(d);
  ASSERT_TRUE(removed.has_value());
  EXPECT_EQ(*removed, 9u);
  EXPECT_FALSE(idx_->get_blob(d)->has_value());
  EXPECT_TRUE(blobs_->exists(d));
  EXPECT_EQ(heard_.blobs, (std::map<core::digest, std::uint64_t>{{d, 9}}));
  EXPECT_FALSE(remover_->remove_blob_row(d)->has_value());
}

TEST_F(remover_test, manifests_and_tags_are_heard_only_when_a_row_went) {
  const auto m = digest_of("{}");
  ASSERT_FALSE(idx_->put_manifest(m, {.media_type = "m", .bytes = "{}", .created_ms = 1, .last_access_ms = 1}));
  ASSERT_FALSE(idx_->put_tag("docker.io", "library/alpine", "3.20", {m, "m", 1, ""}));

  EXPECT_TRUE(*remover_->remove_manifest(m));
  EXPECT_FALSE(*remover_->remove_manifest(m));
  EXPECT_TRUE(*remover_->remove_tag("docker.io", "library/alpine", "3.20"));
  EXPECT_FALSE(*remover_->remove_tag("docker.io", "library/alpine", "3.20"));

  EXPECT_FALSE(idx_->get_manifest(m)->has_value());
  EXPECT_FALSE(idx_->get_tag("docker.io", "library/alpine", "3.20")->has_value());
  EXPECT_EQ(heard_.manifests, std::vector<core::digest>{m});
  EXPECT_EQ(heard_.tags, std::vector<std::string>{"docker.io/library/alpine:3.20"});
}

}  // namespace
}  // namespace regcache::store

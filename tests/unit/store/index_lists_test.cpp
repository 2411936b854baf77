#include "regcache/store/errc.hpp"
#include "unit/store/index_fixture.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace regcache::store {
namespace {

using testing::digest_of;
using testing::index_test;

class index_lists_test : public index_test {
 protected:
  void reopen_with(list_limits limits) {
    idx_.reset();
    auto opened = index::open(dir_.path() / "index", limits);
    ASSERT_TRUE(opened.has_value()) << opened.error().message();
    idx_ = std::move(*opened);
  }

  bool has_list(std::string_view repository) const {
    auto got = idx_->get_tag_list("docker.io", repository);
    EXPECT_TRUE(got.has_value());
    return got && got->has_value();
  }
  bool has_referrers(const core::digest& subject) const {
    auto got = idx_->get_referrers("docker.io", "r", subject, "");
    EXPECT_TRUE(got.has_value());
    return got && got->has_value();
  }
  static tag_list_record list(std::int64_t fetched_ms) { return {{"latest", "v1"}, fetched_ms}; }
  static referrers_record index_body(std::size_t size, std::int64_t fetched_ms) {
    return {std::string(size, 'x'), "", fetched_ms};
  }
};

TEST_F(index_lists_test, tag_lists_round_trip_overwrite_and_survive_a_reopen) {
  EXPECT_FALSE(idx_->get_tag_list("docker.io", "library/alpine")->has_value());
  const tag_list_record first{{"3.19", "3.20", "latest"}, 10};
  ASSERT_FALSE(idx_->put_tag_list("docker.io", "library/alpine", first));
  EXPECT_EQ(**idx_->get_tag_list("docker.io", "library/alpine"), first);

  const tag_list_record second{{}, 20};
  ASSERT_FALSE(idx_->put_tag_list("docker.io", "library/alpine", second));
  EXPECT_EQ(**idx_->get_tag_list("docker.io", "library/alpine"), second);

  const tag_list_record third{{"v1", std::string("odd\0tag", 7)}, 30};
  ASSERT_FALSE(idx_->put_tag_list("docker.io", "library/alpine", third));
  reopen();
  EXPECT_EQ(**idx_->get_tag_list("docker.io", "library/alpine"), third);
}

TEST_F(index_lists_test, tag_lists_are_isolated_by_repository_and_upstream) {
  ASSERT_FALSE(idx_->put_tag_list("docker.io", "repo", {{"a"}, 1}));
  ASSERT_FALSE(idx_->put_tag_list("docker.io", "repo2", {{"b"}, 1}));
  ASSERT_FALSE(idx_->put_tag_list("ghcr.io", "repo", {{"c"}, 1}));
  EXPECT_EQ((*idx_->get_tag_list("docker.io", "repo"))->tags, std::vector<std::string>{"a"});
  EXPECT_EQ((*idx_->get_tag_list("docker.io", "repo2"))->tags, std::vector<std::string>{"b"});
  EXPECT_EQ((*idx_->get_tag_list("ghcr.io", "repo"))->tags, std::vector<std::string>{"c"});
  EXPECT_FALSE(idx_->get_tag_list("docker.io", "rep")->has_value());
  EXPECT_FALSE(idx_->get_tag_list("quay.io", "repo")->has_value());
}

TEST_F(index_lists_test, referrers_are_kept_per_subject_and_filter_and_survive_a_reopen) {
  const referrers_record all{R"({"schemaVersion":2,"manifests":[]})", "", 5};
  const referrers_record signatures{R"({"schemaVersion":2,"manifests":[{"artifactType":"sig"}]})", "artifactType",
                                    6};
  ASSERT_FALSE(idx_->put_referrers("docker.io", "r", a_, "", all));
  ASSERT_FALSE(idx_->put_referrers("docker.io", "r", a_, "application/vnd.dev.cosign.artifact.sig.v1+json",
                                   signatures));
  reopen();
  EXPECT_EQ(**idx_->get_referrers("docker.io", "r", a_, ""), all);
  EXPECT_EQ(**idx_->get_referrers("docker.io", "r", a_, "application/vnd.dev.cosign.artifact.sig.v1+json"),
            signatures);
  EXPECT_FALSE(idx_->get_referrers("docker.io", "r", a_, "other")->has_value());
  EXPECT_FALSE(idx_->get_referrers("docker.io", "r", b_, "")->has_value());
  EXPECT_FALSE(idx_->get_referrers("docker.io", "r2", a_, "")->has_value());
  EXPECT_FALSE(idx_->get_referrers("ghcr.io", "r", a_, "")->has_value());
}

TEST_F(index_lists_test, past_the_row_bound_the_rows_fetched_longest_ago_leave) {
  reopen_with({.tag_list_rows = 3});
  ASSERT_FALSE(idx_->put_tag_list("docker.io", "one", list(100)));
  ASSERT_FALSE(idx_->put_tag_list("docker.io", "two", list(200)));
  ASSERT_FALSE(idx_->put_tag_list("docker.io", "three", list(300)));
  // Refreshed: "one" is now the newest, "two" the oldest.
  ASSERT_FALSE(idx_->put_tag_list("docker.io", "one", list(400)));
  EXPECT_TRUE(has_list("one") && has_list("two") && has_list("three"));

  ASSERT_FALSE(idx_->put_tag_list("docker.io", "four", list(500)));
  EXPECT_FALSE(has_list("two"));
  EXPECT_TRUE(has_list("one") && has_list("three") && has_list("four"));

  // The age order is read back from disk at open.
  reopen_with({.tag_list_rows = 3});
  ASSERT_FALSE(idx_->put_tag_list("docker.io", "five", list(600)));
  EXPECT_FALSE(has_list("three"));
  EXPECT_TRUE(has_list("one") && has_list("four") && has_list("five"));
}

TEST_F(index_lists_test, a_smaller_bound_sheds_the_excess_at_the_next_put_only) {
  for (int i = 0; i < 5; ++i)
    ASSERT_FALSE(idx_->put_referrers("docker.io", "r", digest_of(std::to_string(i)), "", index_body(10, i)));
  reopen_with({.referrers_rows = 2});
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(has_referrers(digest_of(std::to_string(i)))) << i;
  ASSERT_FALSE(idx_->put_referrers("docker.io", "r", a_, "", index_body(10, 99)));
  EXPECT_TRUE(has_referrers(a_));
  EXPECT_TRUE(has_referrers(digest_of("4")));
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(has_referrers(digest_of(std::to_string(i)))) << i;
}

TEST_F(index_lists_test, past_the_byte_bound_the_oldest_leave_and_an_oversized_row_is_refused) {
  // A row here is its key (93 bytes) and value (13 + the body).
  reopen_with({.referrers_bytes = 1200});
  ASSERT_FALSE(idx_->put_referrers("docker.io", "r", a_, "", index_body(400, 1)));
  ASSERT_FALSE(idx_->put_referrers("docker.io", "r", b_, "", index_body(400, 2)));
  EXPECT_TRUE(has_referrers(a_) && has_referrers(b_));
  ASSERT_FALSE(idx_->put_referrers("docker.io", "r", c_, "", index_body(400, 3)));
  EXPECT_FALSE(has_referrers(a_));
  EXPECT_TRUE(has_referrers(b_) && has_referrers(c_));

  // Overwriting a row counts its new size, not both.
  ASSERT_FALSE(idx_->put_referrers("docker.io", "r", c_, "", index_body(500, 4)));
  EXPECT_TRUE(has_referrers(b_) && has_referrers(c_));

  EXPECT_EQ(idx_->put_referrers("docker.io", "r", a_, "", index_body(1200, 5)), errc::no_space);
  EXPECT_FALSE(has_referrers(a_));
  EXPECT_TRUE(has_referrers(b_) && has_referrers(c_));
}

TEST_F(index_lists_test, an_undecodable_row_is_reported_and_leaves_first) {
  ASSERT_FALSE(idx_->put_tag_list("docker.io", "good", list(100)));
  ASSERT_FALSE(idx_->put_tag_list("docker.io", "bad", list(200)));
  std::string key;
  for (const std::string_view part : {"docker.io", "bad"}) {
    key += std::string{'\0', '\0', '\0', static_cast<char>(part.size())};
    key += part;
  }
  // A tag count far beyond the bytes that follow.
  put_raw("tag_lists", key, std::string("\x01", 1) + std::string(8, '\0') + "\xff\xff\xff\xff");
  reopen_with({.tag_list_rows = 2});
  EXPECT_EQ(idx_->get_tag_list("docker.io", "bad").error(), errc::corrupt_record);
  ASSERT_FALSE(idx_->put_tag_list("docker.io", "new", list(300)));
  EXPECT_FALSE(has_list("bad"));
  EXPECT_TRUE(has_list("good") && has_list("new"));
}

TEST_F(index_lists_test, an_index_from_before_lists_opens_and_gains_them) {
  idx_.reset();
  const auto path = (dir_.path() / "old-index").string();
  create_old_index(path, {"default", "blobs", "lru", "manifests", "tags", "links", "pins"});
  auto opened = index::open(path);
  ASSERT_TRUE(opened.has_value()) << opened.error().message();
  EXPECT_FALSE((*opened)->get_tag_list("docker.io", "r")->has_value());
  ASSERT_FALSE((*opened)->put_tag_list("docker.io", "r", list(1)));
  ASSERT_FALSE((*opened)->put_referrers("docker.io", "r", a_, "", index_body(3, 1)));
  opened->reset();
  auto again = index::open(path);
  ASSERT_TRUE(again.has_value()) << again.error().message();
  EXPECT_EQ(**(*again)->get_tag_list("docker.io", "r"), list(1));
  EXPECT_EQ(**(*again)->get_referrers("docker.io", "r", a_, ""), index_body(3, 1));
}

}  // namespace
}  // namespace regcache::store

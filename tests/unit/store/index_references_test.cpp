#include "regcache/store/errc.hpp"
#include "unit/store/index_fixture.hpp"

#include <gtest/gtest.h>
#include <limits>
#include <map>

namespace regcache::store {
namespace {

using testing::index_test;

TEST_F(index_test, pin_rows_round_trip_overwrite_and_remove) {
  EXPECT_FALSE(idx_->get_pin("docker.io", "library/alpine", "3.19")->has_value());
  const pin_record record{.digest = a_, .platforms = {"linux/amd64", "linux/arm64/v8"}, .pinned_at_ms = -5, .expires_at_ms = 0, .label = ""};
  ASSERT_FALSE(idx_->put_pin("docker.io", "library/alpine", "3.19", record));
  EXPECT_EQ(**idx_->get_pin("docker.io", "library/alpine", "3.19"), record);
  EXPECT_FALSE(idx_->get_pin("docker.io", "library/alpine", "3.20")->has_value());

  const pin_record all_platforms{.digest = b_, .platforms = {}, .pinned_at_ms = 7, .expires_at_ms = 0, .label = ""};
  ASSERT_FALSE(idx_->put_pin("docker.io", "library/alpine", "3.19", all_platforms));
  EXPECT_EQ(**idx_->get_pin("docker.io", "library/alpine", "3.19"), all_platforms);

  ASSERT_FALSE(idx_->remove_pin("docker.io", "library/alpine", "3.19"));
  EXPECT_FALSE(idx_->get_pin("docker.io", "library/alpine", "3.19")->has_value());
  EXPECT_EQ(idx_->remove_pin("docker.io", "library/alpine", "3.19"), errc::not_found);
}

TEST_F(index_test, for_each_pin_decodes_every_row_and_pins_persist) {
  ASSERT_FALSE(idx_->put_pin("docker.io", "library/alpine", "3.19", {a_, {"linux/amd64"}, 1, 0, ""}));
  ASSERT_FALSE(idx_->put_pin("ghcr.io", "org/app", b_.str(), {b_, {}, 2, 0, ""}));
  reopen();
  std::map<std::string, pin_record> seen;
  ASSERT_FALSE(idx_->for_each_pin(
      [&](std::string_view upstream, std::string_view repository, std::string_view reference, const pin_record& r) {
        seen.insert_or_assign(std::string(upstream) + "|" + std::string(repository) + "|" + std::string(reference), r);
        return true;
      }));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen.at("docker.io|library/alpine|3.19"), (pin_record{a_, {"linux/amd64"}, 1, 0, ""}));
  EXPECT_EQ(seen.at("ghcr.io|org/app|" + b_.str()), (pin_record{b_, {}, 2, 0, ""}));
}

TEST_F(index_test, pin_expiry_and_label_round_trip) {
  const pin_record record{.digest = a_,
                          .platforms = {"linux/amd64"},
                          .pinned_at_ms = 1000,
                          .expires_at_ms = 605'001'000,
                          .label = "app=shop"};
  ASSERT_FALSE(idx_->put_pin("docker.io", "library/alpine", "3.19", record));
  reopen();
  const auto read = **idx_->get_pin("docker.io", "library/alpine", "3.19");
  EXPECT_EQ(read, record);
  EXPECT_FALSE(read.expired(605'000'999));
  EXPECT_TRUE(read.expired(605'001'000));
  EXPECT_FALSE((pin_record{a_, {}, 1, 0, ""}).expired(std::numeric_limits<std::int64_t>::max()));
}

// The key of a pins row: str(upstream) │ str(repository) │ reference.
std::string pin_key(std::string_view upstream, std::string_view repository, std::string_view reference) {
  std::string key;
  for (const std::string_view part : {upstream, repository}) {
    key += std::string{'\0', '\0', '\0', static_cast<char>(part.size())};
    key += part;
  }
  key += reference;
  return key;
}

TEST_F(index_test, pin_rows_written_before_expiry_read_as_permanent_and_unlabelled) {
  // version │ str(digest) │ pinned_at_ms │ u32 count │ str(platform): the format before expiry and label.
  const auto digest = a_.str();
  std::string old_value("\x01", 1);
  old_value += std::string{'\0', '\0', '\0', static_cast<char>(digest.size())} + digest;
  old_value += std::string(7, '\0') + "\x2a";
  old_value += std::string("\0\0\0\x01", 4) + std::string("\0\0\0\x0b", 4) + "linux/amd64";
  put_raw("pins", pin_key("docker.io", "r", "old"), old_value);
  reopen();
  EXPECT_EQ(**idx_->get_pin("docker.io", "r", "old"), (pin_record{a_, {"linux/amd64"}, 42, 0, ""}));
  // Half of the new fields is a corrupt row, not an old one.
  put_raw("pins", pin_key("docker.io", "r", "cut"), old_value + std::string(8, '\0') + std::string("\0\0", 2));
  reopen();
  EXPECT_EQ(idx_->get_pin("docker.io", "r", "cut").error(), errc::corrupt_record);
}

TEST_F(index_test, undecodable_pin_rows_are_reported) {
  ASSERT_FALSE(idx_->put_pin("docker.io", "r", "t", {a_, {"linux/amd64"}, 1, 0, ""}));
  // A platform count far beyond the bytes that follow.
  put_raw("pins", pin_key("docker.io", "r", "bad"), std::string("\x01\0\0\0\x01x", 6) + std::string(8, '\0') + "\xff\xff\xff\xff");
  reopen();
  EXPECT_EQ(idx_->get_pin("docker.io", "r", "bad").error(), errc::corrupt_record);
  EXPECT_EQ(idx_->for_each_pin([](auto, auto, auto, const auto&) { return true; }), errc::corrupt_record);
  EXPECT_EQ(**idx_->get_pin("docker.io", "r", "t"), (pin_record{a_, {"linux/amd64"}, 1, 0, ""}));
}

TEST_F(index_test, tag_rows_round_trip_and_overwrite) {
  EXPECT_FALSE(idx_->get_tag("docker.io", "library/alpine", "3.19")->has_value());
  const tag_record first{a_, "application/vnd.oci.image.index.v1+json", 10, "\"etag-1\""};
  ASSERT_FALSE(idx_->put_tag("docker.io", "library/alpine", "3.19", first));
  EXPECT_EQ(**idx_->get_tag("docker.io", "library/alpine", "3.19"), first);

  const tag_record second{b_, "application/vnd.oci.image.manifest.v1+json", 20, ""};
  ASSERT_FALSE(idx_->put_tag("docker.io", "library/alpine", "3.19", second));
  EXPECT_EQ(**idx_->get_tag("docker.io", "library/alpine", "3.19"), second);

  ASSERT_FALSE(idx_->remove_tag("docker.io", "library/alpine", "3.19"));
  EXPECT_FALSE(idx_->get_tag("docker.io", "library/alpine", "3.19")->has_value());
  EXPECT_EQ(idx_->remove_tag("docker.io", "library/alpine", "3.19"), errc::not_found);
}

TEST_F(index_test, list_tags_is_isolated_by_repository_and_upstream) {
  const tag_record t{a_, "m", 1, ""};
  for (const auto* tag : {"v2", "latest", "v1"}) ASSERT_FALSE(idx_->put_tag("docker.io", "repo", tag, t));
  ASSERT_FALSE(idx_->put_tag("docker.io", "repo2", "other", t));
  ASSERT_FALSE(idx_->put_tag("docker.io", "repo/sub", "nested", t));
  ASSERT_FALSE(idx_->put_tag("docker.io", "rep", "o:short", t));
  ASSERT_FALSE(idx_->put_tag("ghcr.io", "repo", "foreign", t));

  auto tags = idx_->list_tags("docker.io", "repo");
  ASSERT_TRUE(tags.has_value());
  EXPECT_EQ(*tags, (std::vector<std::string>{"latest", "v1", "v2"}));
  EXPECT_EQ(*idx_->list_tags("docker.io", "repo2"), std::vector<std::string>{"other"});
  EXPECT_EQ(*idx_->list_tags("docker.io", "repo/sub"), std::vector<std::string>{"nested"});
  EXPECT_EQ(*idx_->list_tags("docker.io", "rep"), std::vector<std::string>{"o:short"});
  EXPECT_EQ(*idx_->list_tags("ghcr.io", "repo"), std::vector<std::string>{"foreign"});
  EXPECT_TRUE(idx_->list_tags("quay.io", "repo")->empty());
  EXPECT_TRUE(idx_->list_tags("docker.io", "re")->empty());
}

TEST_F(index_test, names_with_separator_bytes_stay_unambiguous) {
  const tag_record t{a_, "m", 1, ""};
  const std::string nul_repo("a\0b", 3);
  ASSERT_FALSE(idx_->put_tag("h", nul_repo, "t", t));
  ASSERT_FALSE(idx_->put_tag("h", "a", std::string("\0b\0t", 4), t));
  EXPECT_EQ(*idx_->list_tags("h", nul_repo), std::vector<std::string>{"t"});
  EXPECT_EQ(*idx_->list_tags("h", "a"), std::vector<std::string>{std::string("\0b\0t", 4)});
}

TEST_F(index_test, for_each_tag_decodes_every_row) {
  ASSERT_FALSE(idx_->put_tag("docker.io", "library/alpine", "3.19", {a_, "m1", 1, "e1"}));
  ASSERT_FALSE(idx_->put_tag("ghcr.io", "org/app", "main", {b_, "m2", 2, "e2"}));
  std::map<std::string, std::string> seen;
  ASSERT_FALSE(idx_->for_each_tag([&](std::string_view up, std::string_view repo, std::string_view tag,
                                      const tag_record& r) {
    seen[std::string(up) + "/" + std::string(repo) + ":" + std::string(tag)] = r.digest.str() + " " + r.etag;
    return true;
  }));
  EXPECT_EQ(seen, (std::map<std::string, std::string>{{"docker.io/library/alpine:3.19", a_.str() + " e1"},
                                                      {"ghcr.io/org/app:main", b_.str() + " e2"}}));
}

TEST_F(index_test, links_are_per_upstream_repository_and_digest) {
  EXPECT_FALSE(*idx_->has_link("docker.io", "library/alpine", a_));
  ASSERT_FALSE(idx_->put_link("docker.io", "library/alpine", a_, 42));
  EXPECT_TRUE(*idx_->has_link("docker.io", "library/alpine", a_));
  EXPECT_FALSE(*idx_->has_link("docker.io", "library/alpine", b_));
  EXPECT_FALSE(*idx_->has_link("docker.io", "library/alpine2", a_));
  EXPECT_FALSE(*idx_->has_link("docker.io", "library", a_));
  EXPECT_FALSE(*idx_->has_link("ghcr.io", "library/alpine", a_));
}

}  // namespace
}  // namespace regcache::store

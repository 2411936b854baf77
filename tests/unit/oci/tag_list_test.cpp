#include "regcache/oci/tag_list.hpp"

#include "regcache/oci/errc.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace regcache::oci {
namespace {

using tags = std::vector<std::string>;

TEST(parse_tag_list, upstream_answers) {
  auto r = parse_tag_list(R"({"name":"library/alpine","tags":["3.18","3.19","latest"]})");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (tags{"3.18", "3.19", "latest"}));
  auto order_kept = parse_tag_list(R"({"tags":["b","a"]})");
  ASSERT_TRUE(order_kept);
  EXPECT_EQ(*order_kept, (tags{"b", "a"}));
}

TEST(parse_tag_list, null_or_absent_tags_are_empty) {
  for (const char* json : {R"({"name":"x","tags":null})", R"({"name":"x"})", R"({"name":"x","tags":[]})"}) {
    auto r = parse_tag_list(json);
    ASSERT_TRUE(r) << json;
    EXPECT_TRUE(r->empty());
  }
}

TEST(parse_tag_list, invalid_tags_are_skipped) {
  const std::string long_tag(129, 'a');
  auto r = parse_tag_list(R"({"tags":["ok",".bad","a/b","","x:y",")" + long_tag + R"(","also-ok"]})");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (tags{"ok", "also-ok"}));
}

TEST(parse_tag_list, invalid_documents) {
  for (const char* json : {"", "[]", "null", "{", R"({"tags":"latest"})", R"({"tags":{}})", R"({"tags":[1]})",
                           R"({"tags":[null]})", R"({"tags":[["a"]]})", "{\"tags\":[\"\xff\"]}"}) {
    auto r = parse_tag_list(json);
    ASSERT_FALSE(r) << json;
    EXPECT_EQ(r.error(), errc::tag_list_invalid);
  }
}

TEST(parse_tag_list, bounded) {
  const auto list_of = [](std::size_t n) {
    std::string s = "{\"tags\":[";
    for (std::size_t i = 0; i < n; ++i) s += i ? ",\"t\"" : "\"t\"";
    return s + "]}";
  };
  auto ok = parse_tag_list(list_of(max_tag_list_tags));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->size(), max_tag_list_tags);
  EXPECT_FALSE(parse_tag_list(list_of(max_tag_list_tags + 1)));
  EXPECT_FALSE(parse_tag_list(std::string(max_tag_list_bytes + 1, ' ')));
}

const tags sorted{"a", "b", "c", "d", "e"};

TEST(paginate, all_without_parameters) {
  const auto page = paginate(sorted, std::nullopt, std::nullopt);
  EXPECT_EQ(page.tags, sorted);
  EXPECT_FALSE(page.more);
}

TEST(paginate, first_n) {
  auto page = paginate(sorted, 2, std::nullopt);
  EXPECT_EQ(page.tags, (tags{"a", "b"}));
  EXPECT_TRUE(page.more);
  page = paginate(sorted, 5, std::nullopt);
  EXPECT_EQ(page.tags, sorted);
  EXPECT_FALSE(page.more);
  page = paginate(sorted, 100, std::nullopt);
  EXPECT_EQ(page.tags, sorted);
  EXPECT_FALSE(page.more);
}

TEST(paginate, n_zero_is_empty_without_more) {
  const auto page = paginate(sorted, 0, "a");
  EXPECT_TRUE(page.tags.empty());
  EXPECT_FALSE(page.more);
}

TEST(paginate, strictly_after_last) {
  auto page = paginate(sorted, 2, "b");
  EXPECT_EQ(page.tags, (tags{"c", "d"}));
  EXPECT_TRUE(page.more);
  page = paginate(sorted, std::nullopt, "bb");  // need not be a present tag
  EXPECT_EQ(page.tags, (tags{"c", "d", "e"}));
  EXPECT_FALSE(page.more);
  page = paginate(sorted, 2, "e");
  EXPECT_TRUE(page.tags.empty());
  EXPECT_FALSE(page.more);
  page = paginate(sorted, 2, "");
  EXPECT_EQ(page.tags, (tags{"a", "b"}));
  page = paginate({}, 2, "a");
  EXPECT_TRUE(page.tags.empty());
  EXPECT_FALSE(page.more);
}

TEST(paginate, uses_ascii_order) {
  const tags t{"A", "B", "a", "b"};
  const auto page = paginate(t, 10, "Z");
  EXPECT_EQ(page.tags, (tags{"a", "b"}));
}

TEST(tag_list_body, shape) {
  EXPECT_EQ(tag_list_body("library/alpine", {"3.19", "latest"}),
            R"({"name":"library/alpine","tags":["3.19","latest"]})");
  EXPECT_EQ(tag_list_body("x", {}), R"({"name":"x","tags":[]})");
  const auto doc = boost::json::parse(tag_list_body("we\"ird", {"a\\b"}));
  EXPECT_EQ(doc.at("name"), "we\"ird");
  EXPECT_EQ(doc.at("tags").at(0), "a\\b");
}

TEST(parse_page_size, accepts_decimal_up_to_the_bound) {
  EXPECT_EQ(*parse_page_size("0"), 0u);
  EXPECT_EQ(*parse_page_size("1"), 1u);
  EXPECT_EQ(*parse_page_size("100"), 100u);
  EXPECT_EQ(*parse_page_size("10000"), 10000u);
  EXPECT_EQ(*parse_page_size("0000000000000000000050"), 50u);
}

TEST(parse_page_size, rejects_the_rest) {
  for (const char* text : {"", "10001", "99999", "100000", "-1", "+1", " 1", "1 ", "1e3", "0x10", "abc", "1.0",
                           "18446744073709551617", "99999999999999999999999999"}) {
    auto r = parse_page_size(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error(), errc::tag_list_invalid);
  }
}

}  // namespace
}  // namespace regcache::oci

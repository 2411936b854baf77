#include "regcache/oci/tag_list.hpp"

#include "regcache/oci/errc.hpp"
#include "regcache/oci/reference.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace regcache::oci {
namespace {

namespace json = boost::json;

constexpr std::size_t max_json_depth = 8;

}  // namespace

result<std::vector<std::string>> parse_tag_list(std::string_view text) {
  if (text.size() > max_tag_list_bytes) return errc::tag_list_invalid;
  json::parse_options options;
  options.max_depth = max_json_depth;
  boost::system::error_code ec;
  const json::value doc = json::parse(text, ec, {}, options);
  if (ec) return errc::tag_list_invalid;
  const auto* obj = doc.if_object();
  if (obj == nullptr) return errc::tag_list_invalid;
  const auto* tags = obj->if_contains("tags");
  if (tags == nullptr || tags->is_null()) return std::vector<std::string>{};
  const auto* array = tags->if_array();
  if (array == nullptr || array->size() > max_tag_list_tags) return errc::tag_list_invalid;

  std::vector<std::string> out;
  out.reserve(array->size());
  for (const auto& v : *array) {
    const auto* s = v.if_string();
    if (s == nullptr) return errc::tag_list_invalid;
    const std::string_view tag(s->data(), s->size());
    // One bad tag upstream should not hide all the good ones.
    if (is_valid_tag(tag)) out.emplace_back(tag);
  }
  return out;
}

tag_page paginate(std::vector<std::string> sorted_tags, std::optional<std::size_t> n,
                  std::optional<std::string_view> last) {
  if (n && *n == 0) return {};
  auto first = sorted_tags.begin();
  if (last) first = std::upper_bound(sorted_tags.begin(), sorted_tags.end(), *last);
  const auto available = static_cast<std::size_t>(sorted_tags.end() - first);
  const std::size_t take = n ? std::min(*n, available) : available;
  sorted_tags.erase(first + static_cast<std::ptrdiff_t>(take), sorted_tags.end());
  sorted_tags.erase(sorted_tags.begin(), first);
  return {std::move(sorted_tags), take < available};
}

std::string tag_list_body(std::string_view name, const std::vector<std::string>& tags) {
  json::array array;
  array.reserve(tags.size());
  for (const auto& t : tags) array.emplace_back(t);
  json::object body;
  body["name"] = name;
  body["tags"] = std::move(array);
  return json::serialize(body);
}

result<std::size_t> parse_page_size(std::string_view text) {
  if (text.empty()) return errc::tag_list_invalid;
  while (text.size() > 1 && text.front() == '0') text.remove_prefix(1);
  // More digits than "10000" cannot be in range; this also keeps the sum
  // below from overflowing.
  if (text.size() > 5) return errc::tag_list_invalid;
  std::size_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return errc::tag_list_invalid;
    value = value * 10 + static_cast<std::size_t>(c - '0');
  }
  if (value > max_page_size) return errc::tag_list_invalid;
  return value;
}

}  // namespace regcache::oci

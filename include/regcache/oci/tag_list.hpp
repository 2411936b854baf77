#pragma once
// GET /v2/<name>/tags/list: reading upstream answers, paginating and writing
// our own. Pure functions, thread-safe.
#include "regcache/core/result.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace regcache::oci {

inline constexpr std::size_t max_tag_list_bytes = 16 * 1024 * 1024;
inline constexpr std::size_t max_tag_list_tags = 100'000;
inline constexpr std::size_t max_page_size = 10'000;

// Reads {"name": "...", "tags": [...]}. "tags" absent or null is an empty
// list; tags that fail is_valid_tag() are skipped. Order is kept as sent.
// Errors: errc::tag_list_invalid (more than max_tag_list_bytes, not JSON,
// not an object, "tags" not an array of strings, more than max_tag_list_tags).
[[nodiscard]] result<std::vector<std::string>> parse_tag_list(std::string_view json);

struct tag_page {
  std::vector<std::string> tags;
  bool more = false;  // tags remain after this page: send a Link header
};

// The page of `sorted_tags` (ascending, as std::sort orders them) that starts
// strictly after `last` and holds at most `n` tags. No `n` means all;
// n == 0 is an empty page with more == false, as the spec requires.
[[nodiscard]] tag_page paginate(std::vector<std::string> sorted_tags, std::optional<std::size_t> n,
                                std::optional<std::string_view> last);

// {"name":"<name>","tags":[...]}, JSON-escaped.
[[nodiscard]] std::string tag_list_body(std::string_view name, const std::vector<std::string>& tags);

// The `n` query parameter: decimal digits only, at most max_page_size.
// Errors: errc::tag_list_invalid (answer with PAGINATION_NUMBER_INVALID).
[[nodiscard]] result<std::size_t> parse_page_size(std::string_view text);

}  // namespace regcache::oci

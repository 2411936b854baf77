// parse_tag_list on arbitrary bodies; whatever parses must paginate and
// survive a round trip through tag_list_body. Also parse_page_size.
#include "regcache/oci/tag_list.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace regcache::oci;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (const auto n = parse_page_size(text.substr(0, 32)); n && *n > max_page_size) std::abort();

  const auto tags = parse_tag_list(text);
  if (!tags) return 0;
  if (tags->size() > max_tag_list_tags) std::abort();

  const auto again = parse_tag_list(tag_list_body("fuzz/repo", *tags));
  if (!again || *again != *tags) std::abort();

  auto sorted = *tags;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t n = size % 7;
  const std::optional<std::string_view> last =
      sorted.empty() ? std::nullopt : std::optional<std::string_view>(sorted[size % sorted.size()]);
  const auto page = paginate(sorted, n, last);
  if (page.tags.size() > n || (n == 0 && page.more)) std::abort();
  for (const auto& t : page.tags)
    if (!(std::string_view(t) > *last)) std::abort();
  return 0;
}

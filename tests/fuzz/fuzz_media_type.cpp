// Accept negotiation on arbitrary headers: the input's lines are header
// values, the last line the media type asked about.
#include "regcache/oci/media_type.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

using namespace regcache::oci;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> values;
  while (true) {
    const auto newline = text.find('\n');
    if (newline == std::string_view::npos) break;
    values.push_back(text.substr(0, newline));
    text.remove_prefix(newline + 1);
  }
  const std::string_view type = text;

  const auto stripped = strip_parameters(type);
  if (stripped.find(';') != std::string_view::npos ||
      (!stripped.empty() && (stripped.front() == ' ' || stripped.back() == ' ' || stripped.front() == '\t' ||
                             stripped.back() == '\t')))
    std::abort();
  if (is_index_media_type(type) != is_index_media_type(stripped)) std::abort();

  const bool accepted = accepts(values, type);
  // Adding "*/*" can only widen what is accepted unless a specific q=0 range
  // already decided; an added exact match always accepts when nothing else
  // at that specificity came first.
  if (values.empty() && !accepted) std::abort();
  std::vector<std::string_view> with_exact{stripped};
  with_exact.insert(with_exact.end(), values.begin(), values.end());
  if (!stripped.empty() && stripped.find(',') == std::string_view::npos &&
      stripped.find('"') == std::string_view::npos && !accepts(with_exact, type))
    std::abort();
  (void)is_schema1_media_type(type);
  return 0;
}

// Names, tags and references; the hand-written grammar checks are compared
// against std::regex on short inputs (where its recursion is harmless).
#include "regcache/oci/reference.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <regex>
#include <string>
#include <string_view>

using namespace regcache::oci;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const auto r = parse_reference(text);
  if (r) {
    if (r->text != text) std::abort();
    if (r->is_digest() ? r->digest->str() != text : !is_valid_tag(text)) std::abort();
  }

  if (size <= 300) {
    static const std::regex name_regex(
        R"([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*)");
    static const std::regex tag_regex(R"([a-zA-Z0-9_][a-zA-Z0-9._-]{0,127})");
    const std::string s(text);
    const bool name_expected = s.size() <= max_repository_name_length && std::regex_match(s, name_regex);
    if (is_valid_repository_name(text) != name_expected) std::abort();
    if (is_valid_tag(text) != std::regex_match(s, tag_regex)) std::abort();
  }
  return 0;
}

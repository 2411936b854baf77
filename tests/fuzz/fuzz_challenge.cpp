// parse_challenges on arbitrary WWW-Authenticate values: the input's lines are
// the header values. Checks the bounds and that names come back lowercased.
#include "regcache/upstream/challenge.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

using namespace regcache::upstream;

namespace {
bool has_upper(std::string_view s) {
  for (const char c : s)
    if (c >= 'A' && c <= 'Z') return true;
  return false;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> values;
  for (;;) {
    const auto newline = text.find('\n');
    values.push_back(text.substr(0, newline));
    if (newline == std::string_view::npos) break;
    text.remove_prefix(newline + 1);
  }

  const auto challenges = parse_challenges(values);
  if (challenges.size() > max_challenges) std::abort();
  for (const auto& c : challenges) {
    if (c.scheme.empty() || has_upper(c.scheme)) std::abort();
    if (c.params.size() > max_params) std::abort();
    if (!c.token68.empty() && !c.params.empty()) std::abort();
    for (const auto& [name, value] : c.params) {
      if (name.empty() || has_upper(name)) std::abort();
      if (value.size() > max_header_bytes) std::abort();
      const auto found = c.param(name);
      if (!found) std::abort();
    }
  }
  return 0;
}

// parse_target on arbitrary request-targets.
#include "regcache/http/target.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace regcache::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto t = parse_target(text);
  if (!t) return 0;
  if (t->path.empty() || t->path.front() != '/' || !text.starts_with(t->path) ||
      t->path.find('?') != std::string::npos || t->query.size() > text.size())
    std::abort();
  for (const auto& [key, value] : t->query) {
    const auto first = t->query_value(key);
    if (!first || t->query_values(key).empty() || t->query_values(key).front() != *first) std::abort();
    if (key.size() + value.size() > text.size()) std::abort();
  }
  return 0;
}

// parse_route on arbitrary request paths; checks the contract's invariants.
#include "regcache/oci/route.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace regcache::oci;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view path(reinterpret_cast<const char*>(data), size);
  const auto r = parse_route(path);
  if (!r) return 0;
  switch (r->kind) {
    case route_kind::base:
    case route_kind::catalog:
      if (!r->name.empty()) std::abort();
      return 0;
    case route_kind::blob:
    case route_kind::referrers:
      if (!r->reference.is_digest()) std::abort();
      break;
    case route_kind::manifest:
      if (!r->reference.is_digest() && !is_valid_tag(r->reference.text)) std::abort();
      break;
    case route_kind::tags_list:
    case route_kind::blob_upload:
      if (!r->reference.text.empty()) std::abort();
      break;
  }
  const std::string_view name = r->name;
  if (name.empty() || name.size() > max_route_name_length || name.find('%') != std::string_view::npos ||
      name.front() == '/' || name.back() == '/' || name.find("//") != std::string_view::npos ||
      name == "." || name == ".." || name.starts_with("../") || name.starts_with("./") ||
      name.ends_with("/..") || name.ends_with("/.") || name.find("/../") != std::string_view::npos ||
      name.find("/./") != std::string_view::npos || path.substr(4, name.size()) != name)
    std::abort();
  return 0;
}

// Kubernetes manifests as operators feed them to `regcache prefetch -f` and
// `pin -f`: any input either fails with a message or yields distinct,
// non-empty images, each with the place it was found.
#include "regcache/kube/workload_images.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string_view>

using namespace regcache;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto r = kube::workload_images(text);
  if (!r) {
    if (r.error().message.empty()) std::abort();
    return 0;
  }
  std::set<std::string_view> seen;
  for (const auto& use : *r) {
    if (use.image.empty() || use.where.empty() || !seen.insert(use.image).second) std::abort();
    if (use.image.front() == ' ' || use.image.back() == ' ') std::abort();
  }
  return 0;
}

// Image references as operators type them (admin API, CLI): whatever parses
// must print back (str()) to text that parses to the same image.
#include "regcache/admin/image_ref.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace regcache;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto r = admin::parse_image_ref(text);
  if (!r) {
    if (r.error().message.empty()) std::abort();
    return 0;
  }
  if (r->name.empty() || r->reference.text.empty()) std::abort();
  const auto again = admin::parse_image_ref(r->str());
  if (!again || again->name != r->name || again->reference.text != r->reference.text ||
      again->reference.is_digest() != r->reference.is_digest())
    std::abort();
  return 0;
}

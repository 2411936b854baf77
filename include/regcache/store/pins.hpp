#pragma once
// Removing a set of pins at once: the expired ones (the evictor) or those of
// one label (regcache unpin --label). The rows are chosen first and removed
// one by one after, as remove_pin does; a row removed meanwhile (another
// unpin, an expiry) counts as done, not as an error.
#include "regcache/store/index.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace regcache::store {

struct removed_pin {
  std::string upstream;
  std::string repository;
  std::string reference;
  pin_record record;
};

// The pins `chosen` picked, now removed (those removed meanwhile left out).
[[nodiscard]] result<std::vector<removed_pin>> remove_pins_where(index& index,
                                                                 const std::function<bool(const pin_record&)>& chosen);

}  // namespace regcache::store

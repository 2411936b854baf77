#include "regcache/store/pins.hpp"

#include "regcache/store/errc.hpp"

namespace regcache::store {

result<std::vector<removed_pin>> remove_pins_where(index& index,
                                                   const std::function<bool(const pin_record&)>& chosen) {
  std::vector<removed_pin> picked;
  auto ec = index.for_each_pin(
      [&](std::string_view upstream, std::string_view repository, std::string_view reference, const pin_record& pin) {
        if (chosen(pin)) picked.push_back({std::string(upstream), std::string(repository), std::string(reference), pin});
        return true;
      });
  if (ec) return ec;
  std::vector<removed_pin> removed;
  for (auto& pin : picked) {
    ec = index.remove_pin(pin.upstream, pin.repository, pin.reference);
    if (ec == errc::not_found) continue;
    if (ec) return ec;
    removed.push_back(std::move(pin));
  }
  return removed;
}

}  // namespace regcache::store

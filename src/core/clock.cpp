#include "regcache/core/clock.hpp"

namespace regcache::core {
namespace {

class system_clock final : public clock {
 public:
  time_point now() const noexcept override { return std::chrono::system_clock::now(); }
};

}  // namespace

const clock& clock::system() {
  static const system_clock instance;
  return instance;
}

}  // namespace regcache::core

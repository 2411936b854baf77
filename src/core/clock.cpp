#include "regcache/core/clock.hpp"

#ifdef REGCACHE_FAULT_INJECTION
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#endif

namespace regcache::core {
namespace {

#ifdef REGCACHE_FAULT_INJECTION
// Test builds only: REGCACHE_FAULT_CLOCK_FILE=<path> names a file holding a
// number of milliseconds added to the wall clock (missing or unreadable: 0).
// Integration tests move the whole process past a tag TTL or an LRU step by
// rewriting it instead of sleeping. The file is read on every call: test
// builds trade that for no state shared between threads.
std::chrono::milliseconds injected_clock_offset() {
  static const char* const path = std::getenv("REGCACHE_FAULT_CLOCK_FILE");
  if (!path) return {};
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  char text[32] = {};
  const ssize_t n = ::read(fd, text, sizeof text - 1);
  ::close(fd);
  if (n <= 0) return {};
  return std::chrono::milliseconds{std::strtoll(text, nullptr, 10)};
}
#endif

class system_clock final : public clock {
 public:
  time_point now() const noexcept override {
#ifdef REGCACHE_FAULT_INJECTION
    return std::chrono::system_clock::now() + injected_clock_offset();
#else
    return std::chrono::system_clock::now();
#endif
  }
};

}  // namespace

const clock& clock::system() {
  static const system_clock instance;
  return instance;
}

}  // namespace regcache::core

#include "regcache/http/token_bucket.hpp"

#include <algorithm>

namespace regcache::http {

token_bucket::token_bucket(std::uint32_t burst, std::uint32_t rate, clock::time_point now) noexcept
    : tokens_(burst), burst_(burst), rate_(rate), refilled_(now) {}

bool token_bucket::take(clock::time_point now) noexcept {
  if (now > refilled_) {
    const double elapsed = std::chrono::duration<double>(now - refilled_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
    refilled_ = now;
  }
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

}  // namespace regcache::http

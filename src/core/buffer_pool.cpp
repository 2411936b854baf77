#include "regcache/core/buffer_pool.hpp"

#include <algorithm>
#include <cstring>

namespace regcache::core {

buffer_pool::buffer_pool(std::size_t buffer_bytes, std::size_t max_kept, std::size_t prepared)
    : buffer_bytes_(buffer_bytes), max_kept_(max_kept) {
  for (std::size_t i = 0; i < std::min(prepared, max_kept); ++i) {
    auto buffer = std::unique_ptr<std::byte[]>(new std::byte[buffer_bytes_]);
    std::memset(buffer.get(), 0, buffer_bytes_);
    kept_.push_back(std::move(buffer));
  }
}

buffer_pool::lease& buffer_pool::lease::operator=(lease&& other) noexcept {
  if (this != &other) {
    give_back();
    pool_ = other.pool_;
    buffer_ = std::move(other.buffer_);
    size_ = other.size_;
  }
  return *this;
}

buffer_pool::lease::~lease() { give_back(); }

void buffer_pool::lease::give_back() {
  if (buffer_) pool_->put_back(std::move(buffer_));
}

buffer_pool::lease buffer_pool::take() {
  {
    std::lock_guard lock(mutex_);
    if (!kept_.empty()) {
      auto buffer = std::move(kept_.back());
      kept_.pop_back();
      return lease(this, std::move(buffer), buffer_bytes_);
    }
  }
  // Default-initialised: no zero-fill, the reader overwrites what it uses.
  return lease(this, std::unique_ptr<std::byte[]>(new std::byte[buffer_bytes_]), buffer_bytes_);
}

std::size_t buffer_pool::kept() const {
  std::lock_guard lock(mutex_);
  return kept_.size();
}

void buffer_pool::put_back(std::unique_ptr<std::byte[]> buffer) {
  std::lock_guard lock(mutex_);
  if (kept_.size() < max_kept_) kept_.push_back(std::move(buffer));
}

}  // namespace regcache::core

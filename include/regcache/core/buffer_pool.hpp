#pragma once
// Byte buffers of one size, kept for reuse. A download reads every piece into
// one of these; a fresh buffer would be zero-filled and page-faulted in for
// every fill (measured: a fifth of a cold pull's CPU), a kept one has its
// pages mapped already and its old contents are simply overwritten.
//
// Thread-safe: downloads on any thread take and return buffers.
#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

namespace regcache::core {

class buffer_pool {
 public:
  // A buffer on loan; it goes back to the pool (or is freed, when the pool
  // keeps `max_kept` already) when the lease ends. The pool must outlive it.
  class lease {
   public:
    lease(lease&& other) noexcept = default;
    lease& operator=(lease&& other) noexcept;
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;
    ~lease();

    std::span<std::byte> bytes() const { return {buffer_.get(), size_}; }

   private:
    friend class buffer_pool;
    lease(buffer_pool* pool, std::unique_ptr<std::byte[]> buffer, std::size_t size)
        : pool_(pool), buffer_(std::move(buffer)), size_(size) {}
    void give_back();

    buffer_pool* pool_;
    std::unique_ptr<std::byte[]> buffer_;
    std::size_t size_;
  };

  // Starts with `prepared` buffers (at most max_kept) whose pages are mapped
  // already, so the first downloads after a start do not fault them in.
  buffer_pool(std::size_t buffer_bytes, std::size_t max_kept, std::size_t prepared = 0);

  // A kept buffer if there is one, else a new one (contents unspecified).
  lease take();
  std::size_t kept() const;

 private:
  void put_back(std::unique_ptr<std::byte[]> buffer);

  const std::size_t buffer_bytes_;
  const std::size_t max_kept_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<std::byte[]>> kept_;
};

}  // namespace regcache::core

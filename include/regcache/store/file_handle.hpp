#pragma once
// An owned, open file descriptor for reading a blob or a blob being written.
//
// Readers share one handle through std::shared_ptr<file_handle>: pread(2) has
// no file offset, so any number of threads may read through the same handle at
// once. The descriptor keeps the file alive after a rename (commit) or an unlink
// (abort, eviction), which is what lets a client finish reading a blob that was
// moved or evicted under it.
//
// Move-only; closing happens in the destructor. A moved-from handle holds -1.
#include "regcache/core/result.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>

namespace regcache::store {

class file_handle {
 public:
  // Takes ownership of `fd` (which may be -1 for an empty handle).
  explicit file_handle(int fd) noexcept : fd_(fd) {}
  ~file_handle();
  file_handle(file_handle&& other) noexcept;
  file_handle& operator=(file_handle&& other) noexcept;
  file_handle(const file_handle&) = delete;
  file_handle& operator=(const file_handle&) = delete;

  // Opens `path` read-only. errc::not_found if it does not exist, otherwise
  // errc::io_error.
  [[nodiscard]] static result<file_handle> open_read_only(const std::filesystem::path& path);

  int fd() const noexcept { return fd_; }

  // Current size of the file (fstat). For a file still being written this grows;
  // 0 for an empty handle or if fstat fails, which it only does on an I/O fault.
  std::uint64_t size() const noexcept;

  // Reads up to buffer.size() bytes at `offset`, retrying short reads and EINTR.
  // Returns fewer bytes only when the end of the file was reached (0 at or past
  // it). errc::io_error on failure.
  [[nodiscard]] result<std::size_t> pread(std::span<std::byte> buffer, std::uint64_t offset) const;

 private:
  int fd_ = -1;
};

}  // namespace regcache::store

#include "regcache/store/blob_store.hpp"

#include "regcache/store/errc.hpp"

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <limits>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

namespace regcache::store {
namespace {

constexpr std::string_view temp_suffix = ".part";

error_code create_directory_tree(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  return ec ? error_from_errno(ec.value()) : error_code{};
}

// A rename or a new entry is durable only once its directory is fsync'ed.
error_code sync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return error_from_errno(errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  return rc == 0 ? error_code{} : error_from_errno(err);
}

// Makes the missing `00`..`ff` subdirectories of `dir`; `dir` is synced once
// when any was made.
error_code create_shards(const std::filesystem::path& dir) {
  static constexpr std::string_view hex = "0123456789abcdef";
  bool made = false;
  for (const char high : hex)
    for (const char low : hex) {
      const auto shard = dir / std::string{high, low};
      if (::mkdir(shard.c_str(), 0755) == 0) made = true;
      else if (errno != EEXIST) return error_from_errno(errno);
    }
  return made ? sync_directory(dir) : error_code{};
}

}  // namespace

result<std::shared_ptr<blob_store>> blob_store::open(std::filesystem::path root) {
  std::shared_ptr<blob_store> store(new blob_store(std::move(root)));
  for (const auto alg : {core::digest::algorithm::sha256, core::digest::algorithm::sha512}) {
    const auto dir = store->blobs_dir() / (alg == core::digest::algorithm::sha256 ? "sha256" : "sha512");
    if (auto ec = create_directory_tree(dir)) return ec;
  }
  // The 256 sha256 shards exist from the start: otherwise the first blob of
  // each shard pays a mkdir and an fsync of blobs/sha256 on its way into the
  // cache, which is most of a new node's first pulls. (sha512 is rare: its
  // shards are made on first use.)
  if (auto ec = create_shards(store->blobs_dir() / "sha256")) return ec;
  if (auto ec = create_directory_tree(store->tmp_dir())) return ec;
  return store;
}

std::filesystem::path blob_store::blobs_dir() const { return root_ / "blobs"; }

std::filesystem::path blob_store::blob_path(const core::digest& d) const {
  return blobs_dir() / std::string(d.algorithm_name()) / d.hex().substr(0, 2) / d.hex();
}

std::filesystem::path blob_store::tmp_dir() const { return root_ / "tmp"; }

void blob_store::keep_free(std::uint64_t min_free_bytes, disk_space_reader space) {
  min_free_bytes_ = min_free_bytes;
  space_ = std::move(space);
}

bool blob_store::leaves_min_free(std::uint64_t bytes) const {
  if (min_free_bytes_ == 0 || !space_) return true;
  auto space = space_();
  if (!space) return true;
  return space->available >= min_free_bytes_ && space->available - min_free_bytes_ >= bytes;
}

result<blob_writer> blob_store::create_writer(core::digest expected,
                                              std::optional<std::uint64_t> expected_size) {
  if (!leaves_min_free(expected_size.value_or(0))) return errc::no_space;
  // The digest prefix in the name tells an operator what a leftover was;
  // mkostemps picks the random part and creates it O_EXCL.
  std::string name = (tmp_dir() / (expected.hex().substr(0, 12) + "-XXXXXX")).string();
  name += temp_suffix;
  const int fd = ::mkostemps(name.data(), static_cast<int>(temp_suffix.size()), O_CLOEXEC);
  if (fd < 0) return error_from_errno(errno);
  std::filesystem::path temp_path(name);

  auto fail = [&](error_code ec) -> result<blob_writer> {
    ::close(fd);
    if (::unlink(temp_path.c_str()) != 0)
      ignore_error(error_from_errno(errno), "reconcile empties tmp/ at the next start");
    return ec;
  };

  auto reader = file_handle::open_read_only(temp_path);
  if (!reader) return fail(reader.error() == errc::not_found ? error_code(errc::io_error) : reader.error());

  if (expected_size && *expected_size > 0 &&
      *expected_size <= static_cast<std::uint64_t>(std::numeric_limits<off_t>::max())) {
    // KEEP_SIZE: the file length still tells readers how much was written.
    // Only a lack of space matters here; file systems without fallocate
    // simply allocate as the bytes arrive.
    if (::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(*expected_size)) != 0 &&
        (errno == ENOSPC || errno == EDQUOT))
      return fail(errc::no_space);
  }

  auto final_path = blob_path(expected);
  return blob_writer(fd, std::make_shared<file_handle>(std::move(*reader)), std::move(temp_path),
                     std::move(final_path), std::move(expected), expected_size);
}

result<std::shared_ptr<file_handle>> blob_store::open_blob(const core::digest& d) const {
  auto handle = file_handle::open_read_only(blob_path(d));
  if (!handle) return handle.error();
  return std::make_shared<file_handle>(std::move(*handle));
}

error_code blob_store::remove_blob(const core::digest& d) {
  if (::unlink(blob_path(d).c_str()) == 0) return {};
  return errno == ENOENT ? error_code(errc::not_found) : error_from_errno(errno);
}

error_code blob_store::check_writable() const {
  std::string name = (tmp_dir() / "readiness-probe-XXXXXX").string();
  name += temp_suffix;
  const int fd = ::mkostemps(name.data(), static_cast<int>(temp_suffix.size()), O_CLOEXEC);
  if (fd < 0) return error_from_errno(errno);
  const char byte = 0;
  error_code ec;
  if (::write(fd, &byte, 1) != 1) ec = error_from_errno(errno);
  ::close(fd);
  if (::unlink(name.c_str()) != 0 && !ec) ec = error_from_errno(errno);
  return ec;
}

bool blob_store::exists(const core::digest& d) const {
  struct stat st {};
  return ::stat(blob_path(d).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

blob_writer::blob_writer(int fd, std::shared_ptr<file_handle> reader, std::filesystem::path temp_path,
                         std::filesystem::path final_path, core::digest expected,
                         std::optional<std::uint64_t> expected_size)
    : fd_(fd),
      reader_(std::move(reader)),
      temp_path_(std::move(temp_path)),
      final_path_(std::move(final_path)),
      expected_(std::move(expected)),
      expected_size_(expected_size),
      hasher_(expected_.alg()) {}

blob_writer::~blob_writer() { abort(); }

blob_writer::blob_writer(blob_writer&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      reader_(std::move(other.reader_)),
      temp_path_(std::move(other.temp_path_)),
      final_path_(std::move(other.final_path_)),
      expected_(other.expected_),
      expected_size_(other.expected_size_),
      hasher_(std::move(other.hasher_)),
      size_(other.size_),
      failed_(other.failed_),
      state_(std::exchange(other.state_, state::aborted)) {}

blob_writer& blob_writer::operator=(blob_writer&& other) noexcept {
  if (this != &other) {
    abort();
    fd_ = std::exchange(other.fd_, -1);
    reader_ = std::move(other.reader_);
    temp_path_ = std::move(other.temp_path_);
    final_path_ = std::move(other.final_path_);
    expected_ = other.expected_;
    expected_size_ = other.expected_size_;
    hasher_ = std::move(other.hasher_);
    size_ = other.size_;
    failed_ = other.failed_;
    state_ = std::exchange(other.state_, state::aborted);
  }
  return *this;
}

#ifdef REGCACHE_FAULT_INJECTION
namespace {
// Test builds only: REGCACHE_FAULT_NO_SPACE_PAST=<bytes> fails a temp file's
// write with no_space once the file would grow past that size, as a disk
// filling up in the middle of a download (which fallocate otherwise
// prevents on a real one).
std::optional<std::uint64_t> injected_no_space_past() {
  static const std::optional<std::uint64_t> limit = []() -> std::optional<std::uint64_t> {
    const char* value = std::getenv("REGCACHE_FAULT_NO_SPACE_PAST");
    if (!value) return std::nullopt;
    return std::strtoull(value, nullptr, 10);
  }();
  return limit;
}
}  // namespace
#endif

error_code blob_writer::append(std::span<const std::byte> bytes) {
  if (auto ec = write(bytes)) return ec;
  hash(bytes);
  return {};
}

void blob_writer::hash(std::span<const std::byte> bytes) { hasher_.update(bytes); }

error_code blob_writer::write(std::span<const std::byte> bytes) {
  if (state_ != state::open || verified_) return errc::writer_closed;
  if (failed_) return failed_;
#ifdef REGCACHE_FAULT_INJECTION
  if (const auto limit = injected_no_space_past(); limit && size_ + bytes.size() > *limit) {
    failed_ = errc::no_space;
    return failed_;
  }
#endif
  // An upstream sending more than it announced must not fill the disk.
  if (expected_size_ && bytes.size() > *expected_size_ - size_) {
    failed_ = errc::size_mismatch;
    return failed_;
  }
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      failed_ = error_from_errno(errno);
      return failed_;
    }
    size_ += static_cast<std::size_t>(n);
    bytes = bytes.subspan(static_cast<std::size_t>(n));
  }
  return {};
}

result<std::filesystem::path> blob_writer::commit() {
  if (state_ != state::open) return errc::writer_closed;
  auto published = publish();
  if (!published) abort();
  return published;
}

error_code blob_writer::verify() {
  if (state_ != state::open) return errc::writer_closed;
  if (failed_ || verified_) return failed_;
  if (expected_size_ && size_ != *expected_size_) failed_ = errc::size_mismatch;
  else if (hasher_.finish() != expected_) failed_ = errc::digest_mismatch;
  verified_ = !failed_;
  return failed_;
}

result<std::filesystem::path> blob_writer::publish() {
  if (auto ec = verify()) return ec;

  // Committed blobs are immutable (the name is the digest); the mode says so to anyone
  // poking at the directory.
  if (::fchmod(fd_, 0444) != 0)
    ignore_error(error_from_errno(errno), "the mode is advisory; the content is already verified");
  if (::fdatasync(fd_) != 0) return error_from_errno(errno);

  const auto dir = final_path_.parent_path();
  if (::mkdir(dir.c_str(), 0755) == 0) {
    if (auto ec = sync_directory(dir.parent_path())) return ec;
  } else if (errno != EEXIST) {
    return error_from_errno(errno);
  }
  // Replacing an existing file is fine: same digest, same bytes, and readers
  // of the old inode keep it through their descriptors.
  if (::rename(temp_path_.c_str(), final_path_.c_str()) != 0) return error_from_errno(errno);
  close_fd();
  state_ = state::committed;
  if (auto ec = sync_directory(dir)) return ec;
  return final_path_;
}

void blob_writer::abort() noexcept {
  if (state_ != state::open) return;
  close_fd();
  if (::unlink(temp_path_.c_str()) != 0)
    ignore_error(error_from_errno(errno), "abort cannot fail; reconcile empties tmp/ at the next start");
  state_ = state::aborted;
}

void blob_writer::close_fd() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace regcache::store

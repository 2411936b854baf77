#pragma once
// Content-addressed blob files on local disk, and the writers that create them.
//
//   <root>/
//     blobs/
//       sha256/
//         ab/
//           ab12…(64 hex)        committed blob, mode 0444, never modified
//       sha512/
//         cd/cd34…(128 hex)
//     tmp/
//       ab12…(12 hex)-Xy3Zq9.part   in-progress download (one blob_writer each)
//
// A blob appears under blobs/ only through blob_writer::commit: its bytes
// hashed to the expected digest, the file was fdatasync'ed, renamed into place
// and the directory fsync'ed. tmp/ is emptied by reconcile() at
// startup. The index (index.hpp) is written by the caller after commit; this
// class knows nothing of it.
//
// Writer lifecycle:
//
//   create_writer ──▶ open ──append*──▶ open ──commit ok──▶ committed (file at blob_path)
//                       │                 │
//                       │                 └──commit fails──▶ aborted (temp unlinked)
//                       └──abort / destructor / failed append + commit──▶ aborted
//
// Thread-safety: blob_store is safe to use from any number of threads (every
// call is a few system calls; keep_free is set once, before it is shared). A blob_writer belongs to
// one coroutine at a time; its reader() handle may be shared with any thread.
#include "regcache/core/digest.hpp"
#include "regcache/core/hasher.hpp"
#include "regcache/core/result.hpp"
#include "regcache/store/disk_space.hpp"
#include "regcache/store/file_handle.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>

namespace regcache::store {

class blob_writer;

class blob_store {
 public:
  // Opens (creating if needed) the directory tree under `root`.
  // errc::no_space or errc::io_error if a directory cannot be created.
  [[nodiscard]] static result<std::shared_ptr<blob_store>> open(std::filesystem::path root);

  const std::filesystem::path& root() const noexcept { return root_; }
  // <root>/blobs: one folder per digest algorithm below it.
  std::filesystem::path blobs_dir() const;
  // <root>/blobs/<algorithm>/<2 hex>/<hex>, whether or not it exists.
  std::filesystem::path blob_path(const core::digest& d) const;
  std::filesystem::path tmp_dir() const;

  // From now on create_writer refuses (errc::no_space) a download that would
  // leave less than `min_free_bytes` available on the filesystem, as `space`
  // reads it: storage.min_free, so the cache never takes the disk's last
  // room. Call once at startup, before the store is shared; 0 turns it off.
  void keep_free(std::uint64_t min_free_bytes, disk_space_reader space);

  // Starts a download of `expected` into a new temp file. When expected_size is
  // given, space for it is reserved up front (fallocate), so a full disk shows
  // as errc::no_space here rather than halfway through the transfer, and the
  // writer refuses bytes beyond it. errc::no_space also when the download
  // would take the filesystem below keep_free's minimum (a size not known
  // yet counts as 0); errc::io_error.
  [[nodiscard]] result<blob_writer> create_writer(core::digest expected,
                                                  std::optional<std::uint64_t> expected_size);

  // Opens a committed blob for reading. errc::not_found if absent.
  [[nodiscard]] result<std::shared_ptr<file_handle>> open_blob(const core::digest& d) const;

  // Unlinks a committed blob; open handles keep reading it. errc::not_found if
  // absent, errc::io_error otherwise.
  [[nodiscard]] error_code remove_blob(const core::digest& d);
  // Creates, writes one byte to and removes a file in tmp/: fails when the
  // cache directory went read-only, lost its permissions or its inodes.
  [[nodiscard]] error_code check_writable() const;

  // True if a committed blob file exists (one stat, no verification).
  [[nodiscard]] bool exists(const core::digest& d) const;

 private:
  explicit blob_store(std::filesystem::path root) : root_(std::move(root)) {}
  // Whether `bytes` more would leave at least min_free_bytes_ available. A
  // filesystem that cannot be measured does not block downloads: writing
  // then tells.
  bool leaves_min_free(std::uint64_t bytes) const;

  std::filesystem::path root_;
  std::uint64_t min_free_bytes_ = 0;
  disk_space_reader space_;
};

// Writes one blob: bytes go to a temp file and through a streaming hasher.
// Move-only; the destructor aborts a writer that was neither committed nor
// aborted, so an abandoned download never leaves a file behind.
class blob_writer {
 public:
  ~blob_writer();
  blob_writer(blob_writer&& other) noexcept;
  blob_writer& operator=(blob_writer&& other) noexcept;
  blob_writer(const blob_writer&) = delete;
  blob_writer& operator=(const blob_writer&) = delete;

  // Appends at the end of the temp file (write(2) until all is written) and
  // hashes the bytes. errc::no_space on ENOSPC/EDQUOT, errc::io_error on other
  // failures, errc::size_mismatch if the bytes would exceed expected_size,
  // errc::writer_closed after commit or abort. After a failure the writer is
  // spent: later appends and commit return the same error; abort() it.
  [[nodiscard]] error_code append(std::span<const std::byte> bytes);

  // append() in two steps, so hashing can run on another thread while the
  // next bytes arrive: write() puts bytes in the file (errors as append),
  // hash() feeds the same bytes, in the same order, to the hasher. The two
  // may run on different threads as long as calls to the writer never
  // overlap. verify() judges exactly what hash() saw: written bytes that
  // were not hashed make it fail, never pass.
  [[nodiscard]] error_code write(std::span<const std::byte> bytes);
  void hash(std::span<const std::byte> bytes);

  // Bytes appended so far. Readers on other threads must not call this; they
  // learn the readable length from whoever drives the writer.
  std::uint64_t size() const noexcept { return size_; }
  const std::filesystem::path& temp_path() const noexcept { return temp_path_; }
  const core::digest& expected() const noexcept { return expected_; }

  // A read-only descriptor of the temp file, opened at creation. It stays valid
  // after commit (rename) and after abort (unlink): clients tailing the
  // download pread through it and finish even if the writer is gone.
  std::shared_ptr<file_handle> reader() const noexcept { return reader_; }

  // Checks the size (errc::size_mismatch) and the digest (errc::digest_mismatch)
  // of everything appended, without touching the disk: cheap, since hashing
  // ran along with append. Once it succeeded no more bytes may be appended, and
  // the content may be handed out before commit() makes it durable. A failure
  // spends the writer like a failed append.
  [[nodiscard]] error_code verify();

  // Publishes the blob: checks the size (errc::size_mismatch) and the digest
  // (errc::digest_mismatch), fdatasyncs the file, renames it to blob_path
  // (creating the 2-hex directory) and fsyncs the directory. Returns the final
  // path. On any failure the temp file is removed and the writer is aborted;
  // only if the final directory fsync fails does a verified file stay in place
  // (without an index row: reconcile() indexes it at the next start).
  // errc::writer_closed if already committed or aborted.
  [[nodiscard]] result<std::filesystem::path> commit();

  // Closes and unlinks the temp file. Idempotent; does nothing after commit.
  void abort() noexcept;

 private:
  friend class blob_store;
  enum class state { open, committed, aborted };

  blob_writer(int fd, std::shared_ptr<file_handle> reader, std::filesystem::path temp_path,
              std::filesystem::path final_path, core::digest expected,
              std::optional<std::uint64_t> expected_size);
  [[nodiscard]] result<std::filesystem::path> publish();
  void close_fd() noexcept;

  int fd_ = -1;
  std::shared_ptr<file_handle> reader_;
  std::filesystem::path temp_path_;
  std::filesystem::path final_path_;
  core::digest expected_;
  std::optional<std::uint64_t> expected_size_;
  core::hasher hasher_;
  bool verified_ = false;
  std::uint64_t size_ = 0;
  error_code failed_;
  state state_ = state::open;
};

}  // namespace regcache::store

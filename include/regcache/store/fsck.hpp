#pragma once
// Full verification of the cache against its index (`regcache fsck`, POST
// /api/v1/verify): every file under blobs/ and every blobs row is checked,
// every file re-hashed.
//
//   blobs row, no file                    missing_file   row removed
//   file and row of different sizes       size_mismatch  file and row removed
//   file whose content hashes otherwise   hash_mismatch  file and row (if any) removed
//   file that cannot be opened or read    unreadable     file and row (if any) removed
//   file without a row, or whose name     no_row         file removed
//   is not a digest, or not a regular file
//
// With dry_run nothing is removed. Unlike reconcile() (startup), fsck may run
// while the server serves: a file committed by a download has its row written
// just after the rename, and eviction removes rows and files at any time. So
// every finding is re-checked against the index right before it is reported,
// and a file without a row younger than `unindexed_grace` is left alone (its
// row is probably being written).
//
// Blocking (reads the whole cache): run it on a thread of its own or the
// blocking executor. Errors: a directory that cannot be listed or an index
// that cannot be scanned (store errc); problems with single files are
// findings, not errors.
#include "regcache/core/digest.hpp"
#include "regcache/core/result.hpp"
#include "regcache/store/blob_store.hpp"
#include "regcache/store/index.hpp"
#include "regcache/store/remover.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace regcache::store {

enum class fsck_problem { hash_mismatch, size_mismatch, unreadable, missing_file, no_row };

// "hash_mismatch", … : the names used in reports.
[[nodiscard]] std::string_view to_string(fsck_problem p) noexcept;

struct fsck_finding {
  fsck_problem problem;
  std::filesystem::path path;
  std::optional<core::digest> digest;  // none for a file whose name is not a digest
  std::string detail;                  // e.g. "index says 10 bytes, file has 12"
  // Its file and row were removed; false on a dry run or when removing failed
  // (the reason is appended to detail).
  bool removed = false;
};

struct fsck_progress {
  std::uint64_t bytes_done = 0;
  std::uint64_t bytes_total = 0;
  std::uint64_t files_done = 0;
  std::uint64_t files_total = 0;
};

struct fsck_options {
  bool dry_run = false;
  std::chrono::seconds unindexed_grace{60};
  // Called after each file and at least every progress_interval_bytes hashed,
  // on the calling thread.
  std::function<void(const fsck_progress&)> on_progress;
  std::uint64_t progress_interval_bytes = 64ull << 20;
};

struct fsck_report {
  bool dry_run = false;
  std::uint64_t rows_checked = 0;
  std::uint64_t files_checked = 0;
  std::uint64_t bytes_checked = 0;  // bytes hashed
  std::uint64_t files_removed = 0;
  std::uint64_t rows_removed = 0;
  std::uint64_t bytes_removed = 0;
  std::vector<fsck_finding> findings;
  std::chrono::milliseconds took{0};

  bool clean() const noexcept { return findings.empty(); }
};

// Findings are removed through `store` (remover.hpp), so its listeners hear of them.
[[nodiscard]] result<fsck_report> fsck(remover& store, const fsck_options& options = {});

}  // namespace regcache::store

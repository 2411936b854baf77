#pragma once
// The one way cached content leaves the store: eviction, purge, fsck,
// startup reconcile and a lookup that finds a row without its file all remove
// through a remover, so whatever keeps copies or counts of the content above
// the store (the cache's hot manifests and tags, the cached_bytes gauge)
// hears of every removal from one place.
//
//   remove_blob      blobs row (+ its lru row) ──▶ file ──▶ listeners
//   remove_blob_row  blobs row (+ its lru row)            ──▶ listeners
//   remove_manifest  manifests row                        ──▶ listeners
//   remove_tag       tags row                             ──▶ listeners
//
// The row goes before the file: a crash in between leaves a file without a
// row, which reconcile verifies and re-indexes; the other order would leave a
// row promising a file that is gone, served as a hit. Listeners are told once
// the row is gone, and only when there was a row (a file without a row was
// never counted, so there is nothing to forget). A blob being read keeps its
// open descriptor: the unlink only drops the name.
//
// Thread-safety: add_listener during startup, before the remover is shared;
// every other member from any thread. Listeners run on the removing thread,
// after the index write; they must be quick and must not remove in turn.
// Blocking (RocksDB writes, unlink): call it from the blocking executor.
#include "regcache/core/digest.hpp"
#include "regcache/core/result.hpp"
#include "regcache/store/blob_store.hpp"
#include "regcache/store/index.hpp"

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace regcache::store {

// Told about each removal; implemented by the layers above the store.
class removal_listener {
 public:
  virtual ~removal_listener() = default;
  // A blob row of `size` bytes went (its file too, unless remove_blob_row).
  virtual void blob_removed(const core::digest& d, std::uint64_t size) = 0;
  virtual void manifest_removed(const core::digest& d) = 0;
  virtual void tag_removed(std::string_view upstream, std::string_view repository, std::string_view tag) = 0;
};

struct blob_removal {
  // The size its row recorded; nullopt when there was no row.
  std::optional<std::uint64_t> row_size;
  bool file_removed = false;
  // Set when the row went but unlinking the file failed (other than it being
  // absent): the file stays without a row until reconcile or fsck judges it.
  error_code file_error;
};

class remover {
 public:
  // Both must outlive the remover.
  remover(blob_store& blobs, index& idx) : blobs_(blobs), index_(idx) {}
  remover(const remover&) = delete;
  remover& operator=(const remover&) = delete;

  blob_store& blobs() const noexcept { return blobs_; }
  store::index& idx() const noexcept { return index_; }

  // Not owned: `listener` must outlive every removal made through this remover.
  void add_listener(removal_listener& listener) { listeners_.push_back(&listener); }

  // Removes the blob's row, then its file, whichever exist. Fails (removing
  // nothing) when the row cannot be read or removed: errc::index_error,
  // errc::no_space.
  [[nodiscard]] result<blob_removal> remove_blob(const core::digest& d);
  // Removes only the row and leaves the file for the caller to judge
  // (reconcile re-verifies a file its row disagrees with). The row's size, or
  // nullopt when there was none.
  [[nodiscard]] result<std::optional<std::uint64_t>> remove_blob_row(const core::digest& d);
  // Whether there was a row to remove.
  [[nodiscard]] result<bool> remove_manifest(const core::digest& d);
  [[nodiscard]] result<bool> remove_tag(std::string_view upstream, std::string_view repository,
                                        std::string_view tag);

 private:
  blob_store& blobs_;
  store::index& index_;
  std::vector<removal_listener*> listeners_;
};

}  // namespace regcache::store

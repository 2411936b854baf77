#pragma once
// Startup reconciliation of the blob files with the index.
//
//   tmp/*                              every entry removed (downloads never resume)
//   index row, undecodable             dropped                         (index::repair)
//   index row, file missing            row dropped
//   index row, file of another size    row dropped; the file is then verified as below
//   file, no row, sha256 matches name  indexed: size from the file, media type empty,
//                                      created = last access = now_ms, not pinned
//   file, no row, content differs      removed
//   file whose name is not a digest,   removed (also a file in the wrong 2-hex
//   or not a regular file              directory, or directly in blobs/<alg>/)
//
// Directories regcache did not create are left alone outside tmp/; so are
// empty 2-hex directories. Verifying a file reads it whole, so a start after
// the index was lost costs one pass over the cache.
//
// Must run before anything else uses the store or the index (no writer may be
// open: tmp/ is emptied). Errors: errc::io_error / errc::no_space when the disk
// fails (reading a file to verify it included: a disk that cannot be read
// should stop the start, not silently shrink the cache), errc::index_error.
#include "regcache/core/result.hpp"
#include "regcache/store/blob_store.hpp"
#include "regcache/store/index.hpp"
#include "regcache/store/remover.hpp"

#include <cstddef>
#include <cstdint>

namespace regcache::store {

struct reconcile_report {
  std::size_t temp_files_removed = 0;
  std::size_t rows_dropped = 0;   // undecodable rows, rows without their file, rows of the wrong size
  std::size_t files_indexed = 0;  // files without a row whose content matched their name
  std::size_t files_removed = 0;  // junk names and files whose content did not match
  std::uint64_t bytes_indexed = 0;
};

// Rows are dropped through `store` (remover.hpp), so its listeners hear of them.
[[nodiscard]] result<reconcile_report> reconcile(remover& store, std::int64_t now_ms);

}  // namespace regcache::store

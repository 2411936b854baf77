#include "regcache/store/errc.hpp"

#include "regcache/core/error_category.hpp"

#include <cerrno>
#include <string_view>

namespace regcache::store {
namespace {

std::string_view describe(errc e) noexcept {
  switch (e) {
    case errc::not_found: return "not found in the local store";
    case errc::io_error: return "file system error in the cache directory: check the disk and its permissions";
    case errc::no_space: return "no space left in the cache directory: lower the quota or free disk space";
    case errc::digest_mismatch: return "downloaded content does not match its digest";
    case errc::size_mismatch: return "downloaded content does not have the expected size";
    case errc::index_error: return "the RocksDB index failed: check the disk, or that no other regcache uses this directory";
    case errc::corrupt_record: return "index record is malformed or from an unsupported format version";
    case errc::writer_closed: return "blob writer was already committed or aborted";
  }
  return "unknown store error";
}

}  // namespace

const boost::system::error_category& store_category() noexcept {
  static const core::enum_category<errc> instance("regcache.store", describe);
  return instance;
}

error_code error_from_errno(int err) noexcept {
  return (err == ENOSPC || err == EDQUOT) ? errc::no_space : errc::io_error;
}

}  // namespace regcache::store

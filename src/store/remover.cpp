#include "regcache/store/remover.hpp"

#include "regcache/store/errc.hpp"

namespace regcache::store {
namespace {

// Absent already counts as removed: another remover (a purge racing an
// eviction pass) got there first.
bool absent(const error_code& ec) { return ec == errc::not_found; }

}  // namespace

result<std::optional<std::uint64_t>> remover::remove_blob_row(const core::digest& d) {
  auto row = index_.get_blob(d);
  if (!row && row.error() != errc::corrupt_record) return row.error();
  auto ec = index_.remove_blob(d);
  if (absent(ec)) return std::optional<std::uint64_t>();
  if (ec) return ec;
  // An undecodable row counted nothing anyone could have added up.
  const std::uint64_t size = row && *row ? (*row)->size : 0;
  for (auto* listener : listeners_) listener->blob_removed(d, size);
  return std::optional<std::uint64_t>(size);
}

result<blob_removal> remover::remove_blob(const core::digest& d) {
  auto row = remove_blob_row(d);
  if (!row) return row.error();
  blob_removal out{*row, false, {}};
  auto ec = blobs_.remove_blob(d);
  if (!ec)
    out.file_removed = true;
  else if (!absent(ec))
    out.file_error = ec;
  return out;
}

result<bool> remover::remove_manifest(const core::digest& d) {
  auto ec = index_.remove_manifest(d);
  if (absent(ec)) return false;
  if (ec) return result<bool>(boost::system::in_place_error, ec);
  for (auto* listener : listeners_) listener->manifest_removed(d);
  return true;
}

result<bool> remover::remove_tag(std::string_view upstream, std::string_view repository, std::string_view tag) {
  auto ec = index_.remove_tag(upstream, repository, tag);
  if (absent(ec)) return false;
  if (ec) return result<bool>(boost::system::in_place_error, ec);
  for (auto* listener : listeners_) listener->tag_removed(upstream, repository, tag);
  return true;
}

}  // namespace regcache::store

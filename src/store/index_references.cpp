// The families keyed by upstream and repository: tags, links and pins.
#include "index_codec.hpp"
#include "index_impl.hpp"

namespace regcache::store {
namespace {

// Visits every row of a repository-keyed family, decoding its key and value.
// `state` is the index's impl.
template <class State, class Decode, class Visit>
error_code for_each_keyed(const State& state, family f, bool fill_cache, Decode decode, const Visit& visit) {
  return state.scan(f, {}, fill_cache, [&](std::string_view key, std::string_view value, error_code& ec) {
    auto parts = codec::decode_repository_key(key);
    auto record = decode(value);
    if (!parts || !record) {
      ec = errc::corrupt_record;
      return false;
    }
    return visit(parts->upstream, parts->repository, parts->name, *record);
  });
}

}  // namespace

// ── pins ────────────────────────────────────────────────────────────────────

error_code index::put_pin(std::string_view upstream, std::string_view repository, std::string_view reference,
                          const pin_record& record) {
  return impl_->put(pins, codec::repository_key(upstream, repository, reference), codec::encode(record),
                    impl_->synced);
}

error_code index::remove_pin(std::string_view upstream, std::string_view repository, std::string_view reference) {
  // Synced like put_pin: an unpin the operator saw succeed must not come back.
  return impl_->remove(pins, codec::repository_key(upstream, repository, reference), impl_->synced);
}

result<std::optional<pin_record>> index::get_pin(std::string_view upstream, std::string_view repository,
                                                 std::string_view reference) const {
  return impl_->get_record<pin_record>(pins, codec::repository_key(upstream, repository, reference),
                                       codec::decode_pin);
}

error_code index::for_each_pin(
    const std::function<bool(std::string_view upstream, std::string_view repository, std::string_view reference,
                             const pin_record&)>& visit) const {
  return for_each_keyed(*impl_, pins, true, codec::decode_pin, visit);
}

// ── tags ────────────────────────────────────────────────────────────────────

result<std::optional<tag_record>> index::get_tag(std::string_view upstream, std::string_view repository,
                                                 std::string_view tag) const {
  return impl_->get_record<tag_record>(tags, codec::repository_key(upstream, repository, tag), codec::decode_tag);
}

error_code index::put_tag(std::string_view upstream, std::string_view repository, std::string_view tag,
                          const tag_record& record) {
  return impl_->put(tags, codec::repository_key(upstream, repository, tag), codec::encode(record),
                    impl_->unsynced);
}

error_code index::remove_tag(std::string_view upstream, std::string_view repository, std::string_view tag) {
  return impl_->remove(tags, codec::repository_key(upstream, repository, tag), impl_->unsynced);
}

result<std::vector<std::string>> index::list_tags(std::string_view upstream,
                                                  std::string_view repository) const {
  const auto prefix = codec::repository_prefix(upstream, repository);
  std::vector<std::string> names;
  // The length-prefixed repository ends the prefix exactly: "repo" cannot
  // match "repo2" or "repo/sub", whose lengths differ.
  auto ec = impl_->scan(tags, prefix, true, [&](std::string_view key, std::string_view, error_code&) {
    names.emplace_back(key.substr(prefix.size()));
    return true;
  });
  if (ec) return ec;
  return names;
}

error_code index::for_each_tag(
    const std::function<bool(std::string_view upstream, std::string_view repository, std::string_view tag,
                             const tag_record&)>& visit) const {
  return for_each_keyed(*impl_, tags, false, codec::decode_tag, visit);
}

// ── links ───────────────────────────────────────────────────────────────────

result<bool> index::has_link(std::string_view upstream, std::string_view repository,
                             const core::digest& d) const {
  rocksdb::PinnableSlice value;
  const auto s = impl_->get(links, codec::repository_key(upstream, repository, d.str()), value);
  if (s.IsNotFound()) return false;
  // result<bool> cannot tell an error_code from a bool by conversion alone.
  if (!s.ok()) return result<bool>(boost::system::in_place_error, from_status(s));
  return true;
}

error_code index::put_link(std::string_view upstream, std::string_view repository, const core::digest& d,
                           std::int64_t seen_ms) {
  return impl_->put(links, codec::repository_key(upstream, repository, d.str()), codec::encode_link(seen_ms),
                    impl_->unsynced);
}

}  // namespace regcache::store

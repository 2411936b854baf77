// The bounded families of the upstream's last answers: tag_lists and
// referrers. cache::discovery writes them on every answer and reads them when
// the upstream cannot be reached; how their rows leave: index.hpp.
#include "index_codec.hpp"
#include "index_impl.hpp"

#include <limits>

namespace regcache::store {
namespace {

// A row whose value does not decode counts as the oldest: it leaves first.
constexpr std::int64_t undecodable_ms = std::numeric_limits<std::int64_t>::min();

void add_row(bounded_rows& rows, std::string key, std::int64_t fetched_ms, std::uint64_t bytes) {
  const auto [it, inserted] = rows.fetched.emplace(std::move(key), fetched_ms);
  rows.by_age.emplace(std::pair{fetched_ms, std::string_view(it->first)}, bytes);
  rows.bytes += bytes;
}

void erase_row(bounded_rows& rows, const std::string& key) {
  const auto it = rows.fetched.find(key);
  if (it == rows.fetched.end()) return;
  const auto aged = rows.by_age.find(std::pair{it->second, std::string_view(it->first)});
  rows.bytes -= aged->second;
  rows.by_age.erase(aged);
  rows.fetched.erase(it);
}

}  // namespace

error_code index::impl::load_bounded_rows(const list_limits& limits) {
  tag_list_rows.max_rows = limits.tag_list_rows;
  tag_list_rows.max_bytes = limits.tag_list_bytes;
  referrers_rows.max_rows = limits.referrers_rows;
  referrers_rows.max_bytes = limits.referrers_bytes;
  for (const auto f : {tag_lists, referrers}) {
    auto& rows = f == tag_lists ? tag_list_rows : referrers_rows;
    auto ec = scan(f, {}, false, [&](std::string_view key, std::string_view value, error_code&) {
      add_row(rows, std::string(key), codec::decode_fetched_ms(value).value_or(undecodable_ms),
              key.size() + value.size());
      return true;
    });
    if (ec) return ec;
  }
  return {};
}

error_code index::impl::put_bounded(family f, std::string key, std::string value, std::int64_t fetched_ms) {
  auto& rows = f == tag_lists ? tag_list_rows : referrers_rows;
  const std::uint64_t bytes = key.size() + value.size();
  if (bytes > rows.max_bytes) return errc::no_space;

  std::lock_guard lock(lists_mutex);
  std::size_t row_count = rows.fetched.size() + 1;
  std::uint64_t total = rows.bytes + bytes;
  if (const auto old = rows.fetched.find(key); old != rows.fetched.end()) {
    --row_count;
    total -= rows.by_age.at(std::pair{old->second, std::string_view(old->first)});
  }
  rocksdb::WriteBatch batch;
  batch.Put(cf(f), slice(key), slice(value));
  std::vector<std::string> leaving;
  for (auto it = rows.by_age.begin(); it != rows.by_age.end() && (row_count > rows.max_rows || total > rows.max_bytes);
       ++it) {
    if (it->first.second == key) continue;
    batch.Delete(cf(f), slice(it->first.second));
    leaving.emplace_back(it->first.second);
    --row_count;
    total -= it->second;
  }
  if (auto ec = write(batch, unsynced)) return ec;
  for (const auto& gone : leaving) erase_row(rows, gone);
  erase_row(rows, key);
  add_row(rows, std::move(key), fetched_ms, bytes);
  return {};
}

// ── tag_lists ───────────────────────────────────────────────────────────────

result<std::optional<tag_list_record>> index::get_tag_list(std::string_view upstream,
                                                           std::string_view repository) const {
  return impl_->get_record<tag_list_record>(tag_lists, codec::repository_prefix(upstream, repository),
                                            codec::decode_tag_list);
}

error_code index::put_tag_list(std::string_view upstream, std::string_view repository,
                               const tag_list_record& record) {
  return impl_->put_bounded(tag_lists, codec::repository_prefix(upstream, repository), codec::encode(record),
                            record.fetched_ms);
}

// ── referrers ───────────────────────────────────────────────────────────────

result<std::optional<referrers_record>> index::get_referrers(std::string_view upstream, std::string_view repository,
                                                             const core::digest& subject,
                                                             std::string_view artifact_type) const {
  return impl_->get_record<referrers_record>(
      referrers, codec::referrers_key(upstream, repository, subject, artifact_type), codec::decode_referrers);
}

error_code index::put_referrers(std::string_view upstream, std::string_view repository, const core::digest& subject,
                                std::string_view artifact_type, const referrers_record& record) {
  return impl_->put_bounded(referrers, codec::referrers_key(upstream, repository, subject, artifact_type),
                            codec::encode(record), record.fetched_ms);
}

}  // namespace regcache::store

#include "regcache/cache/manifest_cache.hpp"

#include "regcache/cache/upstream_source.hpp"
#include "regcache/cache/errc.hpp"
#include "regcache/core/hasher.hpp"
#include "regcache/oci/manifest.hpp"
#include "regcache/oci/media_type.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <functional>

namespace regcache::cache {
namespace asio = boost::asio;

namespace {

constexpr std::size_t max_hot_tags = 100'000;

void build_tag_key(std::string& key, std::string_view upstream, std::string_view repository, std::string_view tag) {
  key.clear();
  key.append(upstream).append(1, '\0').append(repository).append(1, '\0').append(tag);
}

std::string tag_key(std::string_view upstream, std::string_view repository, std::string_view tag) {
  std::string key;
  key.reserve(upstream.size() + repository.size() + tag.size() + 2);
  build_tag_key(key, upstream, repository, tag);
  return key;
}

std::string tag_key(const upstream_source& source, const std::string& repository, const std::string& tag) {
  return tag_key(source.name, repository, tag);
}

void persist_manifest(store::index* index, const core::digest& digest, const store::manifest_record& record) {
  if (auto ec = index->put_manifest(digest, record))
    spdlog::error("storing manifest {} failed (served, but not cached on disk): {}", digest.str(), ec.message());
}

}  // namespace

std::optional<manifest_result> manifest_cache::hot_lookup(const core::digest& digest) {
  std::lock_guard lock(hot_mutex_);
  auto it = hot_.find(digest);
  if (it == hot_.end()) return std::nullopt;
  hot_lru_.splice(hot_lru_.begin(), hot_lru_, it->second.lru);
  const auto& m = *it->second.manifest;
  return manifest_result{digest, m.media_type, m.bytes->size(), m.bytes, "hit"};
}

std::shared_ptr<const cached_manifest> manifest_cache::fresh_by_tag(const upstream_source& source,
                                                                    std::string_view repository,
                                                                    std::string_view tag) {
  if (egress_refusal(source, repository)) return nullptr;
  // One key buffer per thread: no allocation per request once it has grown.
  thread_local std::string key;
  build_tag_key(key, source.name, repository, tag);
  const auto now = ctx_.clock->now();
  const auto now_ms = core::to_unix_ms(now);
  std::shared_ptr<const cached_manifest> found;
  bool note_access = false;
  {
    std::lock_guard lock(hot_mutex_);
    const auto tag_it = hot_tags_.find(std::string_view(key));
    if (tag_it == hot_tags_.end()) return nullptr;
    if (now - core::from_unix_ms(tag_it->second.fetched_at_ms) >= source.tag_ttl) return nullptr;
    const auto it = hot_.find(tag_it->second.digest);
    if (it == hot_.end()) return nullptr;
    hot_lru_.splice(hot_lru_.begin(), hot_lru_, it->second.lru);
    if (now_ms - it->second.access_noted_ms >= 1000) {
      it->second.access_noted_ms = now_ms;
      note_access = true;
    }
    found = it->second.manifest;
  }
  if (note_access) ctx_.index->record_access(found->digest, now_ms);
  ctx_.metrics->hits.inc();
  return found;
}

void manifest_cache::hot_insert(const core::digest& digest, const std::string& media_type,
                                std::shared_ptr<const std::string> bytes) {
  std::lock_guard lock(hot_mutex_);
  if (hot_.contains(digest) || bytes->size() > hot_limit_bytes_) return;
  hot_bytes_ += bytes->size();
  hot_lru_.push_front(digest);
  auto manifest = std::make_shared<const cached_manifest>(cached_manifest{digest, media_type, std::move(bytes)});
  hot_.emplace(digest, hot_manifest{std::move(manifest), hot_lru_.begin()});
  while (hot_bytes_ > hot_limit_bytes_) {
    auto victim = hot_.find(hot_lru_.back());
    hot_bytes_ -= victim->second.manifest->bytes->size();
    hot_.erase(victim);
    hot_lru_.pop_back();
  }
}

void manifest_cache::forget_manifest(const core::digest& digest) {
  std::lock_guard lock(hot_mutex_);
  if (auto it = hot_.find(digest); it != hot_.end()) {
    hot_bytes_ -= it->second.manifest->bytes->size();
    hot_lru_.erase(it->second.lru);
    hot_.erase(it);
  }
}

void manifest_cache::forget_tag(std::string_view upstream, std::string_view repository, std::string_view tag) {
  std::lock_guard lock(hot_mutex_);
  hot_tags_.erase(tag_key(upstream, repository, tag));
}

std::optional<manifest_cache::hot_tag> manifest_cache::tag_lookup(const upstream_source& source,
                                                                  const std::string& repository,
                                                                  const std::string& tag) {
  const auto key = tag_key(source, repository, tag);
  {
    std::lock_guard lock(hot_mutex_);
    if (auto it = hot_tags_.find(key); it != hot_tags_.end()) return it->second;
  }
  auto cached = ctx_.index->get_tag(source.name, repository, tag);
  if (!cached || !*cached) return std::nullopt;
  hot_tag found{(*cached)->digest, (*cached)->fetched_at_ms};
  std::lock_guard lock(hot_mutex_);
  if (hot_tags_.size() < max_hot_tags) hot_tags_.insert_or_assign(key, found);
  return found;
}

void manifest_cache::tag_store(const upstream_source& source, const std::string& repository, const std::string& tag,
                               const store::tag_record& record) {
  ignore_error(ctx_.index->put_tag(source.name, repository, tag, record), "the tag is revalidated again later");
  std::lock_guard lock(hot_mutex_);
  // Past the bound, start over: the index still has every tag.
  if (hot_tags_.size() >= max_hot_tags) hot_tags_.clear();
  hot_tags_.insert_or_assign(tag_key(source, repository, tag), hot_tag{record.digest, record.fetched_at_ms});
}

std::optional<manifest_result> manifest_cache::lookup(const core::digest& digest) {
  ctx_.index->record_access(digest, core::to_unix_ms(ctx_.clock->now()));
  if (auto hot = hot_lookup(digest)) return hot;
  auto record = ctx_.index->get_manifest(digest);
  if (!record || !*record) return std::nullopt;
  auto& r = **record;
  manifest_result m{digest, std::move(r.media_type), r.bytes.size(), nullptr, "hit"};
  m.bytes = std::make_shared<const std::string>(std::move(r.bytes));
  hot_insert(digest, m.media_type, m.bytes);
  return m;
}

void manifest_cache::remember_links(const upstream_source& source, const std::string& repository,
                                    const core::digest& digest, const std::string& media_type,
                                    const std::string& bytes) {
  const auto now = core::to_unix_ms(ctx_.clock->now());
  ignore_error(ctx_.index->put_link(source.name, repository, digest, now), "a missing link costs one HEAD later");
  auto info = oci::parse_manifest(bytes, media_type);
  if (!info) return;
  for (const auto& referenced : info->referenced())
    ignore_error(ctx_.index->put_link(source.name, repository, referenced, now),
                 "a missing link costs one HEAD later");
}

asio::awaitable<result<manifest_result>> manifest_cache::fetch(std::shared_ptr<const upstream_source> source,
                                                               std::string repository, std::string reference,
                                                               std::optional<core::digest> expected) {
  auto fetched = co_await source->registry->get_manifest(repository, reference,
                                                         std::string(oci::manifest_accept_header()));
  if (!fetched) co_return from_upstream(fetched.error(), errc::manifest_unknown);
  auto body = std::move(fetched->bytes);
  const auto content_type = std::move(fetched->media_type);

  const auto actual = core::hasher::of(body, expected ? expected->alg() : core::digest::algorithm::sha256);
  if (expected && actual != *expected) {
    ctx_.metrics->digest_mismatches.inc();
    spdlog::error("upstream={} repository={} sent a manifest that does not match digest={}: nothing cached",
                  source->name, repository, expected->str());
    co_return errc::digest_mismatch;
  }
  if (const auto& claimed = fetched->digest; claimed && !expected) {
    if (claimed->alg() == actual.alg() && *claimed != actual) {
      ctx_.metrics->digest_mismatches.inc();
      spdlog::error("upstream={} repository={} reference={} sent a manifest hashing to {} but claimed {}",
                    source->name, repository, reference, actual.str(), claimed->str());
      co_return errc::digest_mismatch;
    }
  }
  auto info = oci::parse_manifest(body, content_type);
  if (!info) co_return errc::upstream_invalid;
  const auto media_type = content_type.empty() ? info->media_type : content_type;

  const auto now = core::to_unix_ms(ctx_.clock->now());
  remember_links(*source, repository, actual, media_type, body);
  manifest_result m{actual, media_type, body.size(), nullptr, "miss"};
  m.bytes = std::make_shared<const std::string>(std::move(body));
  hot_insert(actual, media_type, m.bytes);
  // The synced index write waits for the disk: the client does not. Until it
  // lands, the in-memory copy answers.
  asio::post(ctx_.blocking, std::bind(persist_manifest, ctx_.index, actual,
                                      store::manifest_record{media_type, *m.bytes, now, now}));
  if (on_stored_) on_stored_(*source, repository, actual, media_type);
  co_return m;
}

asio::awaitable<result<manifest_result>> manifest_cache::by_digest(std::shared_ptr<const upstream_source> source,
                                                                   std::string repository, core::digest digest,
                                                                   bool need_body) {
  if (auto refused = egress_refusal(*source, repository)) co_return refused;
  if (auto hit = lookup(digest)) {
    auto linked = ctx_.index->has_link(source->name, repository, digest);
    if (!(linked && *linked)) {
      auto head = co_await source->registry->head_manifest(repository, digest.str(),
                                                           std::string(oci::manifest_accept_header()));
      if (!head) co_return from_upstream(head.error(), errc::manifest_unknown);
      remember_links(*source, repository, digest, hit->media_type, *hit->bytes);
    }
    ctx_.metrics->hits.inc();
    co_return std::move(*hit);
  }
  ctx_.metrics->misses.inc();
  if (!need_body) {
    auto head = co_await source->registry->head_manifest(repository, digest.str(),
                                                         std::string(oci::manifest_accept_header()));
    if (!head) co_return from_upstream(head.error(), errc::manifest_unknown);
    if (head->size && !head->media_type.empty())
      co_return manifest_result{digest, head->media_type, *head->size, nullptr, "miss"};
  }
  auto ticket = digest_flights_.join(source->name + '\0' + repository + '@' + digest.str());
  if (!ticket.leader()) co_return co_await ticket.wait();
  auto fetched = co_await fetch(source, repository, digest.str(), digest);
  ticket.finish(fetched);
  co_return fetched;
}

asio::awaitable<result<manifest_result>> manifest_cache::by_tag(std::shared_ptr<const upstream_source> source,
                                                                std::string repository, std::string tag,
                                                                bool need_body) {
  if (auto refused = egress_refusal(*source, repository)) co_return refused;
  if (auto cached = tag_lookup(*source, repository, tag)) {
    const auto age = ctx_.clock->now() - core::from_unix_ms(cached->fetched_at_ms);
    if (age < source->tag_ttl) {
      if (auto hit = lookup(cached->digest)) {
        ctx_.metrics->hits.inc();
        co_return std::move(*hit);
      }
    }
  }
  auto ticket = tag_flights_.join(tag_key(*source, repository, tag));
  if (!ticket.leader()) {
    auto shared = co_await ticket.wait();
    // The leader may have answered a HEAD without fetching the body.
    if (shared && need_body && !shared->bytes)
      co_return co_await by_digest(source, repository, shared->digest, true);
    co_return shared;
  }
  auto revalidated = co_await revalidate(source, repository, tag, need_body);
  ticket.finish(revalidated);
  co_return revalidated;
}

// A tag never seen before is fetched with one GET (a HEAD first would only
// add a round trip), and the body's hash tells the digest.
asio::awaitable<result<manifest_result>> manifest_cache::fetch_tag(std::shared_ptr<const upstream_source> source,
                                                                   std::string repository, std::string tag,
                                                                   std::int64_t now_ms) {
  auto fetched = co_await fetch(source, repository, tag, std::nullopt);
  if (!fetched) co_return fetched.error();
  tag_store(*source, repository, tag, store::tag_record{fetched->digest, fetched->media_type, now_ms, {}});
  ctx_.metrics->misses.inc();
  co_return fetched;
}

asio::awaitable<result<manifest_result>> manifest_cache::revalidate(std::shared_ptr<const upstream_source> source,
                                                                    std::string repository, std::string tag,
                                                                    bool need_body) {
  const auto cached = tag_lookup(*source, repository, tag);
  const auto now = core::to_unix_ms(ctx_.clock->now());
  if (!cached && need_body) co_return co_await fetch_tag(source, repository, tag, now);

  auto head = co_await source->registry->head_manifest(repository, tag, std::string(oci::manifest_accept_header()));
  error_code failure;
  if (!head) failure = from_upstream(head.error(), errc::manifest_unknown);

  if (failure) {
    // The upstream says the tag is gone: follow it unless told to keep serving
    // it. Any other failure: serve what we have, within max_stale.
    const bool gone = failure == errc::manifest_unknown;
    const auto stale_for = ctx_.clock->now() - core::from_unix_ms(cached ? cached->fetched_at_ms : 0) - source->tag_ttl;
    const bool too_stale = source->max_stale.count() > 0 && stale_for > source->max_stale;
    if (cached && (gone ? source->serve_cached_when_tag_not_found : !too_stale)) {
      if (auto stale = lookup(cached->digest)) {
        spdlog::warn("serving stale tag upstream={} repository={} tag={} digest={}: {}", source->name, repository,
                     tag, stale->digest.str(), failure.message());
        ctx_.metrics->stale.inc();
        stale->outcome = "stale";
        co_return std::move(*stale);
      }
    }
    if (cached && too_stale && !gone)
      spdlog::warn("not serving tag upstream={} repository={} tag={}: stale beyond max_stale", source->name,
                   repository, tag);
    co_return failure;
  }

  const auto digest = head->digest;
  // No usable digest in the answer: only a GET can tell which manifest the tag names.
  if (!digest) co_return co_await fetch_tag(source, repository, tag, now);

  tag_store(*source, repository, tag, store::tag_record{*digest, head->media_type, now, {}});
  if (auto hit = lookup(*digest)) {
    // A tag still naming the same digest was linked when it was first stored.
    if (!cached || cached->digest != *digest)
      remember_links(*source, repository, *digest, hit->media_type, *hit->bytes);
    ctx_.metrics->hits.inc();
    co_return std::move(*hit);
  }
  ctx_.metrics->misses.inc();
  if (!need_body && head->size && !head->media_type.empty())
    co_return manifest_result{*digest, head->media_type, *head->size, nullptr, "miss"};
  co_return co_await fetch(source, repository, digest->str(), *digest);
}

}  // namespace regcache::cache

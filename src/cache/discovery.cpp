#include "regcache/cache/discovery.hpp"

#include "regcache/cache/errc.hpp"
#include "regcache/cache/upstream_source.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace regcache::cache {
namespace asio = boost::asio;

namespace {

constexpr std::size_t max_tag_pages = 100;
constexpr std::size_t max_remembered = 4096;

}  // namespace

asio::awaitable<result<std::vector<std::string>>> discovery::fetch_tags(
    std::shared_ptr<const upstream_source> source, std::string repository) {
  std::vector<std::string> all;
  std::optional<std::string> page;
  for (std::size_t pages = 0; pages < max_tag_pages; ++pages) {
    auto fetched = co_await source->registry->tags(repository, std::move(page));
    if (!fetched) co_return from_upstream(fetched.error(), errc::manifest_unknown);
    all.insert(all.end(), fetched->tags.begin(), fetched->tags.end());
    page = std::move(fetched->next);
    if (!page) break;
  }
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  co_return all;
}

asio::awaitable<result<tag_listing>> discovery::tags(std::shared_ptr<const upstream_source> source,
                                                     std::string repository) {
  if (auto refused = egress_refusal(*source, repository)) co_return refused;
  const key k{source->name, repository, {}};
  auto fetched = co_await fetch_tags(source, repository);
  if (fetched) {
    std::lock_guard lock(mutex_);
    if (last_tags_.size() >= max_remembered) last_tags_.erase(last_tags_.begin());
    last_tags_[k] = *fetched;
    co_return tag_listing{std::move(*fetched), "pass"};
  }
  if (fetched.error() == errc::manifest_unknown) co_return errc::manifest_unknown;
  {
    std::lock_guard lock(mutex_);
    if (auto it = last_tags_.find(k); it != last_tags_.end()) {
      ctx_.metrics->stale.inc();
      co_return tag_listing{it->second, "stale"};
    }
  }
  auto known = ctx_.index->list_tags(source->name, repository);
  if (known && !known->empty()) {
    spdlog::warn("upstream={} unavailable for tags of {}: listing the {} cached tags ({})", source->name,
                 repository, known->size(), fetched.error().message());
    ctx_.metrics->stale.inc();
    co_return tag_listing{std::move(*known), "stale"};
  }
  co_return fetched.error();
}

asio::awaitable<result<referrers_listing>> discovery::referrers(std::shared_ptr<const upstream_source> source,
                                                                std::string repository, core::digest subject,
                                                                std::string artifact_type) {
  if (auto refused = egress_refusal(*source, repository)) co_return refused;
  const key k{source->name, repository + "@" + subject.str(), artifact_type};
  auto fetched = co_await source->registry->referrers(repository, subject, artifact_type);
  if (fetched) {
    referrers_listing listing{std::move(fetched->bytes), std::move(fetched->filters_applied), "pass"};
    std::lock_guard lock(mutex_);
    if (last_referrers_.size() >= max_remembered) last_referrers_.erase(last_referrers_.begin());
    last_referrers_[k] = listing;
    co_return listing;
  }
  const auto failure = from_upstream(fetched.error(), errc::manifest_unknown);
  // A registry without the referrers API answers 404: pass that on so
  // clients fall back to the referrers tag schema.
  if (failure == errc::manifest_unknown) co_return failure;
  std::lock_guard lock(mutex_);
  if (auto it = last_referrers_.find(k); it != last_referrers_.end()) {
    ctx_.metrics->stale.inc();
    auto listing = it->second;
    listing.outcome = "stale";
    co_return listing;
  }
  co_return failure;
}

}  // namespace regcache::cache

#include "regcache/cache/discovery.hpp"

#include "regcache/cache/errc.hpp"
#include "regcache/cache/upstream_source.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace regcache::cache {
namespace asio = boost::asio;

namespace {

constexpr std::size_t max_tag_pages = 100;

std::int64_t seconds_since(const core::clock& clock, std::int64_t then_ms) {
  return (core::to_unix_ms(clock.now()) - then_ms) / 1000;
}

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
  auto fetched = co_await fetch_tags(source, repository);
  if (fetched) {
    store::tag_list_record record{std::move(*fetched), core::to_unix_ms(ctx_.clock->now())};
    ignore_error(ctx_.index->put_tag_list(source->name, repository, record),
                 "only an offline listing needs it, and the next answer is written again");
    co_return tag_listing{std::move(record.tags), "pass"};
  }
  if (fetched.error() == errc::manifest_unknown) co_return errc::manifest_unknown;
  auto stored = ctx_.index->get_tag_list(source->name, repository);
  if (stored && *stored) {
    spdlog::warn("upstream={} unavailable for tags of {}: serving its list of {}s ago ({})", source->name, repository,
                 seconds_since(*ctx_.clock, (*stored)->fetched_ms), fetched.error().message());
    ctx_.metrics->stale.inc();
    co_return tag_listing{std::move((*stored)->tags), "stale"};
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
  auto fetched = co_await source->registry->referrers(repository, subject, artifact_type);
  if (fetched) {
    store::referrers_record record{std::move(fetched->bytes), std::move(fetched->filters_applied),
                                   core::to_unix_ms(ctx_.clock->now())};
    ignore_error(ctx_.index->put_referrers(source->name, repository, subject, artifact_type, record),
                 "only an offline listing needs it, and the next answer is written again");
    co_return referrers_listing{std::move(record.body), std::move(record.filters_applied), "pass"};
  }
  const auto failure = from_upstream(fetched.error(), errc::manifest_unknown);
  // A registry without the referrers API answers 404: pass that on so
  // clients fall back to the referrers tag schema.
  if (failure == errc::manifest_unknown) co_return failure;
  auto stored = ctx_.index->get_referrers(source->name, repository, subject, artifact_type);
  if (!stored || !*stored) co_return failure;
  spdlog::warn("upstream={} unavailable for referrers of {}@{}: serving its answer of {}s ago ({})", source->name,
               repository, subject.str(), seconds_since(*ctx_.clock, (*stored)->fetched_ms), failure.message());
  ctx_.metrics->stale.inc();
  co_return referrers_listing{std::move((*stored)->body), std::move((*stored)->filters_applied), "stale"};
}

}  // namespace regcache::cache

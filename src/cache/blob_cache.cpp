#include "regcache/cache/blob_cache.hpp"

#include "regcache/cache/errc.hpp"
#include "regcache/store/errc.hpp"

#include <boost/asio/this_coro.hpp>
#include <spdlog/spdlog.h>

namespace regcache::cache {
namespace asio = boost::asio;

std::optional<blob_cache::committed_blob> blob_cache::lookup(const core::digest& digest) {
  auto record = ctx_.index->get_blob(digest);
  if (!record || !*record) return std::nullopt;
  auto file = ctx_.blobs->open_blob(digest);
  if (!file) {
    // The index said yes but the file is gone (removed behind our back):
    // drop the row so the next request refetches.
    spdlog::warn("index row without file digest={}: dropping it", digest.str());
    if (auto removed = ctx_.remover->remove_blob_row(digest); !removed)
      ignore_error(removed.error(), "the blob is refetched either way");
    return std::nullopt;
  }
  return committed_blob{std::move(*file), (*record)->size};
}

asio::awaitable<result<std::optional<std::uint64_t>>> blob_cache::check_link(
    std::shared_ptr<const upstream_source> source, std::string repository, core::digest digest) {
  auto linked = ctx_.index->has_link(source->name, repository, digest);
  if (linked && *linked) co_return std::optional<std::uint64_t>{};
  auto head = co_await source->registry->head_blob(repository, digest);
  if (!head) co_return from_upstream(head.error(), errc::blob_unknown);
  ignore_error(ctx_.index->put_link(source->name, repository, digest, core::to_unix_ms(ctx_.clock->now())),
               "without the row the next request asks the upstream again");
  co_return head->size;
}

asio::awaitable<result<blob_body>> blob_cache::open(std::shared_ptr<const upstream_source> source,
                                                    std::string repository, core::digest digest) {
  if (auto refused = egress_refusal(*source, repository)) co_return refused;
  body_origin origin{source, repository, digest, ctx_.metrics, ctx_.clock, stall_limit_};
  if (auto hit = lookup(digest)) {
    auto linked = co_await check_link(source, repository, digest);
    if (!linked) co_return linked.error();
    ctx_.index->record_access(digest, core::to_unix_ms(ctx_.clock->now()));
    ctx_.metrics->hits.inc();
    co_return blob_body::committed(std::move(origin), std::move(hit->file), hit->size);
  }
  ctx_.metrics->misses.inc();
  const auto here = co_await asio::this_coro::executor;
  auto f = fills_.join(digest, source, repository, here);
  // Answer as soon as the upstream's headers arrived, not when the download ends.
  const auto started = co_await f->wait_started();
  if (started.state != fill::phase::failed) co_return blob_body::filling(std::move(origin), std::move(f), started);
  if (started.error != store::errc::no_space) co_return started.error;
  co_return co_await blob_body::relayed(std::move(origin), started.size);
}

asio::awaitable<result<blob_stat>> blob_cache::stat(std::shared_ptr<const upstream_source> source,
                                                    std::string repository, core::digest digest) {
  if (auto refused = egress_refusal(*source, repository)) co_return refused;
  if (auto hit = lookup(digest)) {
    auto linked = co_await check_link(source, repository, digest);
    if (!linked) co_return linked.error();
    ctx_.metrics->hits.inc();
    co_return blob_stat{hit->size, true};
  }
  ctx_.metrics->misses.inc();
  auto linked = co_await check_link(source, repository, digest);
  if (!linked) co_return linked.error();
  if (!*linked) {
    // Linked earlier but not cached (evicted or still filling): ask upstream for the size.
    auto head = co_await source->registry->head_blob(repository, digest);
    if (!head) co_return from_upstream(head.error(), errc::blob_unknown);
    linked = head->size;
  }
  if (!*linked) co_return errc::upstream_invalid;
  co_return blob_stat{**linked, false};
}

}  // namespace regcache::cache

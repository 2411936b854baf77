#include "regcache/cache/prefetcher.hpp"

#include "regcache/cache/errc.hpp"
#include "regcache/oci/manifest.hpp"
#include "regcache/oci/reference.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>


namespace regcache::cache {
namespace asio = boost::asio;

namespace {

// Shared by the workers of one prefetch; they all run on the caller's
// (single-threaded) executor, so plain members are enough.
struct blob_queue {
  std::vector<oci::descriptor> blobs;
  std::size_t next = 0;
  prefetch_result* result = nullptr;
  std::function<void(const prefetch_progress&)> on_progress;
  const context* ctx = nullptr;
  fill_coordinator* fills = nullptr;
  std::shared_ptr<const upstream_source> source;
  std::string repository;

  void done(const oci::descriptor& blob, bool fetched, error_code ec) {
    auto& p = result->progress;
    ++p.blobs_done;
    p.bytes_done += blob.size;
    if (fetched) p.bytes_fetched += blob.size;
    if (ec && !result->error) {
      result->error = ec;
      result->failed_digest = blob.digest.str();
    }
    if (on_progress) on_progress(p);
  }
};

// One of the prefetch's workers: takes the next blob until none is left.
// A cached blob only gets its access time touched (it is about to be
// needed); a missing one joins (or starts) its fill and waits for its end.
asio::awaitable<void> fetch_blobs(blob_queue* queue) {
  const auto executor = co_await asio::this_coro::executor;
  while (queue && queue->next < queue->blobs.size()) {
    const auto blob = queue->blobs[queue->next++];
    auto cached = queue->ctx->index->get_blob(blob.digest);
    if (cached && *cached) {
      queue->ctx->index->record_access(blob.digest, core::to_unix_ms(queue->ctx->clock->now()));
      queue->done(blob, false, {});
      continue;
    }
    auto f = queue->fills->join(blob.digest, queue->source, queue->repository, executor);
    const auto ended = co_await f->wait_ended();
    queue->done(blob, ended.state != fill::phase::failed, ended.error);
  }
}

}  // namespace

asio::awaitable<prefetch_result> prefetcher::prefetch(std::shared_ptr<const upstream_source> source,
                                                      std::string repository, std::string reference,
                                                      platform_filter platforms,
                                                      std::function<void(const prefetch_progress&)> on_progress) {
  auto out = co_await fetch_image(source, repository, reference, std::move(platforms), std::move(on_progress));
  auto& registry = ctx_.metrics->registry;
  registry
      .get_counter("regcache_prefetches_total", "Images prefetched (regcache prefetch, pins), by outcome",
                   {{"outcome", out.error ? "failed" : "ok"}})
      .inc();
  registry.get_counter("regcache_prefetched_bytes_total", "Blob bytes downloaded by prefetches")
      .inc(out.progress.bytes_fetched);
  spdlog::info("prefetch upstream={} repository={} reference={} digest={}: {} manifests, {}/{} blobs, {} bytes "
               "fetched{}",
               source->name, repository, reference, out.digest ? out.digest->str() : std::string("-"), out.manifests,
               out.progress.blobs_done, out.progress.blobs_total, out.progress.bytes_fetched,
               out.error ? ", first failure: " + out.error.message() : std::string());
  co_return out;
}

asio::awaitable<prefetch_result> prefetcher::fetch_image(std::shared_ptr<const upstream_source> source,
                                                         std::string repository, std::string reference,
                                                         platform_filter platforms,
                                                         std::function<void(const prefetch_progress&)> on_progress) {
  prefetch_result out;
  auto ref = oci::parse_reference(reference);
  if (!ref) {
    out.error = ref.error();
    co_return out;
  }
  // Two statements, not a conditional expression: g++ 12 mishandles
  // temporaries of co_await inside ?:.
  result<manifest_result> top = errc::manifest_unknown;
  if (ref->is_digest()) top = co_await manifests_.by_digest(source, repository, *ref->digest, true);
  else top = co_await manifests_.by_tag(source, repository, ref->text, true);
  if (!top) {
    out.error = top.error();
    co_return out;
  }
  out.digest = top->digest;
  ++out.manifests;

  // The blobs come from the manifests just resolved, not from the index:
  // manifests are persisted asynchronously and may not be there yet.
  image_closure wanted;
  auto info = oci::parse_manifest(*top->bytes, top->media_type);
  if (!info) {
    out.error = info.error();
    co_return out;
  }
  if (!info->is_index) wanted.add_image_blobs(*info);
  for (const auto& child : info->manifests) {
    if (!platforms.matches(child.platform)) continue;
    auto fetched = co_await manifests_.by_digest(source, repository, child.digest, true);
    if (!fetched) {
      if (!out.error) {
        out.error = fetched.error();
        out.failed_digest = child.digest.str();
      }
      continue;
    }
    ++out.manifests;
    auto child_info = oci::parse_manifest(*fetched->bytes, fetched->media_type);
    if (child_info && !child_info->is_index) wanted.add_image_blobs(*child_info);
  }

  blob_queue queue{std::move(wanted.blobs), 0, &out, std::move(on_progress), &ctx_, &fills_, source, repository};
  for (const auto& b : queue.blobs) out.progress.bytes_total += b.size;
  out.progress.blobs_total = queue.blobs.size();
  if (queue.on_progress) queue.on_progress(out.progress);

  const auto executor = co_await asio::this_coro::executor;
  using task = decltype(asio::co_spawn(executor, fetch_blobs(nullptr), asio::deferred));
  std::vector<task> workers;
  for (std::size_t i = 0; i < std::min(parallelism_, queue.blobs.size()); ++i)
    workers.push_back(asio::co_spawn(executor, fetch_blobs(&queue), asio::deferred));
  if (!workers.empty()) {
    auto [order, exceptions] = co_await asio::experimental::make_parallel_group(std::move(workers))
                                   .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    for (const auto& e : exceptions)
      if (e) std::rethrow_exception(e);
  }
  co_return out;
}

}  // namespace regcache::cache

#include "regcache/cache/fill_coordinator.hpp"

#include "regcache/cache/errc.hpp"
#include "regcache/cache/transfer_floor.hpp"
#include "regcache/cache/upstream_source.hpp"
#include "regcache/store/errc.hpp"
#include "regcache/upstream/errc.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <array>

namespace regcache::cache {
namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

// ---- fill ------------------------------------------------------------------

fill::snapshot fill::snapshot_locked() const {
  snapshot s;
  s.state = state_;
  s.size = size_;
  s.written = written_;
  s.error = error_;
  s.ended = ended_;
  if (s.whole()) s.servable = written_;
  else if (state_ == phase::streaming && written_ > 0) s.servable = written_ - 1;  // last byte held back
  return s;
}

fill::snapshot fill::observe() const {
  std::lock_guard lock(mutex_);
  return snapshot_locked();
}

std::shared_ptr<store::file_handle> fill::file() const {
  std::lock_guard lock(mutex_);
  return file_;
}

void fill::notify_locked() {
  ++version_;
  waiters_.wake_all();
}

void fill::announce_size(std::optional<std::uint64_t> size) {
  std::lock_guard lock(mutex_);
  size_ = size;
}

void fill::start_streaming(std::optional<std::uint64_t> size, std::shared_ptr<store::file_handle> file) {
  std::lock_guard lock(mutex_);
  size_ = size;
  file_ = std::move(file);
  state_ = phase::streaming;
  notify_locked();
}

void fill::advance(std::uint64_t bytes) {
  std::lock_guard lock(mutex_);
  written_ += bytes;
  notify_locked();
}

void fill::verified() {
  std::lock_guard lock(mutex_);
  state_ = phase::verified;
  size_ = written_;
  notify_locked();
}

void fill::complete() {
  std::lock_guard lock(mutex_);
  state_ = phase::committed;
  size_ = written_;
  ended_ = true;
  notify_locked();
}

void fill::end_uncached() {
  std::lock_guard lock(mutex_);
  ended_ = true;
  notify_locked();
}

void fill::fail(error_code ec) {
  std::lock_guard lock(mutex_);
  state_ = phase::failed;
  error_ = ec;
  ended_ = true;
  notify_locked();
}

asio::awaitable<fill::snapshot> fill::wait_change(std::uint64_t seen_version) {
  const auto executor = co_await asio::this_coro::executor;
  core::wake_list::ticket parked;
  {
    std::lock_guard lock(mutex_);
    if (version_ != seen_version) co_return snapshot_locked();
    parked = waiters_.park(executor);
  }
  co_await core::wake_list::wait(std::move(parked));
  co_return observe();
}

bool fill::reached(const snapshot& s, until what, std::uint64_t offset) {
  switch (what) {
    case until::started: return s.state != phase::starting;
    case until::servable_beyond: return s.servable > offset || s.whole() || s.state == phase::failed;
    case until::ended: return s.ended;
  }
  return true;
}

asio::awaitable<std::optional<fill::snapshot>> fill::wait(until what, std::uint64_t offset,
                                                          core::clock::time_point deadline, const core::clock* clock) {
  for (;;) {
    std::uint64_t version = 0;
    {
      std::lock_guard lock(mutex_);
      auto s = snapshot_locked();
      if (reached(s, what, offset)) co_return s;
      version = version_;
    }
    if (clock && clock->now() >= deadline) co_return std::nullopt;
    co_await wait_change(version);
  }
}

asio::awaitable<fill::snapshot> fill::wait_started() {
  const auto s = co_await wait(until::started, 0, {}, nullptr);
  co_return *s;
}

asio::awaitable<std::optional<fill::snapshot>> fill::wait_servable_beyond(std::uint64_t offset,
                                                                         core::clock::time_point deadline,
                                                                         const core::clock& clock) {
  co_return co_await wait(until::servable_beyond, offset, deadline, &clock);
}

asio::awaitable<fill::snapshot> fill::wait_ended() {
  const auto s = co_await wait(until::ended, 0, {}, nullptr);
  co_return *s;
}

// ---- coordinator -----------------------------------------------------------

namespace {

constexpr std::string_view fill_failure_reasons[] = {"upstream_unreachable", "upstream_error", "not_found",
                                                     "digest_mismatch",      "too_slow",       "disk_full",
                                                     "storage"};

// The reason label of regcache_fill_failures_total for how a fill ended.
std::string_view fill_failure_reason(const error_code& ec) {
  if (ec == store::errc::no_space) return "disk_full";
  if (ec.category() == upstream::upstream_category()) return "upstream_error";
  if (ec.category() != cache_category()) return "storage";
  switch (static_cast<errc>(ec.value())) {
    case errc::upstream_unreachable: return "upstream_unreachable";
    case errc::blob_unknown: return "not_found";
    case errc::digest_mismatch: return "digest_mismatch";
    case errc::upstream_too_slow: return "too_slow";
    case errc::storage_failed: return "storage";
    default: return "upstream_error";
  }
}

}  // namespace

fill_coordinator::fill_coordinator(context ctx)
    : ctx_(std::move(ctx)),
      disk_full_events_(ctx_.metrics->registry.get_counter(
          "regcache_disk_full_total", "Downloads that found the cache's disk full (served uncached)")),
      fills_started_(ctx_.metrics->registry.get_counter("regcache_fills_total",
                                                        "Blob downloads from upstreams started (one per digest at "
                                                        "a time, however many clients wait)")) {
  for (const auto reason : fill_failure_reasons)
    failures_[reason] = &ctx_.metrics->registry.get_counter(
        "regcache_fill_failures_total", "Blob downloads that ended without a cached copy, by reason",
        {{"reason", std::string(reason)}});
}

std::shared_ptr<fill> fill_coordinator::join(const core::digest& digest,
                                             std::shared_ptr<const upstream_source> source, std::string repository,
                                             asio::any_io_executor executor) {
  std::shared_ptr<fill> f;
  {
    std::lock_guard lock(mutex_);
    auto& slot = fills_[digest];
    if (slot) return slot;
    slot = f = std::make_shared<fill>(digest);
  }
  ctx_.metrics->fills_in_flight.add(1);
  fills_started_.inc();
  asio::co_spawn(executor, run(f, std::move(source), std::move(repository)), asio::detached);
  return f;
}

error_code fill_coordinator::disk_full(const core::digest& digest) {
  disk_full_events_.inc();
  spdlog::error("disk full while caching digest={}: its clients get the rest straight from the upstream, "
                "uncached; eviction requested",
                digest.str());
  if (on_disk_full_) on_disk_full_();
  return store::errc::no_space;
}

std::size_t fill_coordinator::in_flight() const {
  std::lock_guard lock(mutex_);
  return fills_.size();
}

void fill_coordinator::finish(const std::shared_ptr<fill>& f) {
  std::lock_guard lock(mutex_);
  fills_.erase(f->digest());
  ctx_.metrics->fills_in_flight.add(-1);
}

asio::awaitable<void> fill_coordinator::run(std::shared_ptr<fill> f, std::shared_ptr<const upstream_source> source,
                                            std::string repository) {
  error_code ec;
  try {
    ec = co_await download(f, source, repository);
  } catch (const std::exception& e) {
    spdlog::error("fill digest={} ended by exception: {}", f->digest().str(), e.what());
    ec = errc::storage_failed;
  }
  if (ec && f->observe().state == fill::phase::verified) {
    // Clients got (or are getting) the verified bytes from the temp file's
    // descriptor; only the cache copy is lost.
    spdlog::warn("fill digest={} verified but not cached: {}", f->digest().str(), ec.message());
    failures_.at(fill_failure_reason(ec))->inc();
    f->end_uncached();
  } else if (ec) {
    failures_.at(fill_failure_reason(ec))->inc();
    if (ec == errc::digest_mismatch) ctx_.metrics->digest_mismatches.inc();
    spdlog::warn("fill failed upstream={} repository={} digest={}: {}", source->name, repository,
                 f->digest().str(), ec.message());
    f->fail(ec);
  } else {
    f->complete();
  }
  finish(f);
}

namespace {

// How often one fill may resume a broken upstream transfer in all, and the
// pause before the first resume (doubling after each).
constexpr int max_resumes = 3;
constexpr std::chrono::milliseconds first_resume_pause{100};

}  // namespace

asio::awaitable<error_code> fill_coordinator::download(std::shared_ptr<fill> f,
                                                       std::shared_ptr<const upstream_source> source,
                                                       std::string repository) {
  const auto& digest = f->digest();
  const auto started = ctx_.clock->now();
  auto sent = co_await source->registry->get_blob(repository, digest, 0);
  if (!sent) co_return from_upstream(sent.error(), errc::blob_unknown);
  auto body = std::move(*sent);

  const auto size = body.size();
  f->announce_size(size);
  transfer_floor floor(source->min_transfer, size, started);
  auto writer = ctx_.blobs->create_writer(digest, size);
  if (!writer) {
    spdlog::error("cannot create temp file for digest={}: {}", digest.str(), writer.error().message());
    if (writer.error() == store::errc::no_space) co_return disk_full(digest);
    co_return errc::storage_failed;
  }
  f->start_streaming(size, writer->reader());

  // A piece is written, offered to readers and hashed on the hashing pool
  // while the next one arrives: receiving and hashing overlap, on two cores.
  const auto here = co_await asio::this_coro::executor;
  const auto hashing = ctx_.hashing ? ctx_.hashing : here;
  const std::array<core::buffer_pool::lease, 2> leases{pieces_.take(), pieces_.take()};
  const std::array<std::span<std::byte>, 2> buffers{leases[0].bytes(), leases[1].bytes()};
  std::size_t current = 0;
  auto n = co_await body.read_some(buffers[current]);
  int resumes = 0;  // per fill, not per break: a link that keeps breaking gives up
  for (;;) {
    if (!n) {
      spdlog::warn("upstream transfer broke digest={} after {} bytes: {}", digest.str(), writer->size(),
                   n.error().message());
      // Without a known size a resumed range could not be checked to end the blob.
      if (!size) co_return errc::upstream_unreachable;
      error_code failure = errc::upstream_unreachable;
      std::optional<upstream::blob_stream> resumed;
      while (!resumed && resumes < max_resumes) {
        co_await upstream::back_off(first_resume_pause * (1 << resumes));
        ++resumes;
        auto again = co_await source->registry->get_blob(repository, digest, writer->size());
        if (!again) {
          failure = from_upstream(again.error(), errc::blob_unknown);
          if (failure != errc::upstream_unreachable) co_return failure;
          continue;
        }
        if (again->size() != size) {
          spdlog::warn("upstream={} now gives digest={} another size: not resuming", source->name, digest.str());
          co_return errc::upstream_invalid;
        }
        spdlog::info("resumed upstream transfer digest={} at byte {}", digest.str(), writer->size());
        resumed = std::move(*again);
      }
      if (!resumed) co_return failure;
      body = std::move(*resumed);
      n = co_await body.read_some(buffers[current]);
      continue;
    }
    if (*n == 0) break;
    const auto piece = buffers[current].first(*n);
    current ^= 1;
    error_code stored;
    if (size && writer->size() + piece.size() >= *size) {
      // The last piece: nothing arrives meanwhile, so it is stored right
      // here; the two thread hops saved are most of a small blob's fill.
      stored = co_await store_piece(f, &*writer, piece);
      if (!stored) n = co_await body.read_some(buffers[current]);
    } else {
      auto storing = asio::co_spawn(hashing, store_piece(f, &*writer, piece), asio::use_awaitable);
      auto receiving = body.read_some(buffers[current]);
      auto both = co_await (std::move(storing) && std::move(receiving));
      stored = std::get<0>(both);
      n = std::move(std::get<1>(both));
    }
    if (stored) {
      spdlog::error("writing digest={} failed: {}", digest.str(), stored.message());
      if (stored == store::errc::no_space) co_return disk_full(digest);
      co_return errc::storage_failed;
    }
    ctx_.metrics->upstream_bytes.inc(piece.size());
    if (floor.behind(writer->size(), ctx_.clock->now())) {
      spdlog::error("upstream={} repository={} sends digest={} slower than its min_transfer_rate ({} bytes in {} s): "
                    "download aborted, nothing cached",
                    source->name, repository, digest.str(), writer->size(),
                    std::chrono::duration_cast<std::chrono::seconds>(ctx_.clock->now() - started).count());
      co_return errc::upstream_too_slow;
    }
  }

  if (auto ec = writer->verify()) {
    spdlog::error("upstream={} repository={} sent bytes that do not match digest={}: nothing cached",
                  source->name, repository, digest.str());
    co_return errc::digest_mismatch;
  }
  f->verified();

  // Making it durable (fsync, rename, a synced index write) may stall a thread
  // on a busy disk: not an I/O thread, where readers are still sending the
  // last bytes.
  co_return co_await asio::co_spawn(ctx_.blocking, persist_on_pool(digest, &*writer, source, repository),
                                    asio::use_awaitable);
}

asio::awaitable<error_code> fill_coordinator::store_piece(std::shared_ptr<fill> f, store::blob_writer* writer,
                                                          std::span<const std::byte> piece) {
  if (auto ec = writer->write(piece)) co_return ec;
  f->advance(piece.size());
  writer->hash(piece);
  co_return error_code{};
}

asio::awaitable<error_code> fill_coordinator::persist_on_pool(core::digest digest, store::blob_writer* writer,
                                                              std::shared_ptr<const upstream_source> source,
                                                              std::string repository) {
  co_return persist(digest, *writer, *source, repository);
}

error_code fill_coordinator::persist(const core::digest& digest, store::blob_writer& writer,
                                     const upstream_source& source, const std::string& repository) {
  const auto committed = writer.commit();
  if (!committed) {
    spdlog::error("committing digest={} failed: {}", digest.str(), committed.error().message());
    return errc::storage_failed;
  }
  const auto now = core::to_unix_ms(ctx_.clock->now());
  store::blob_record record;
  record.size = writer.size();
  record.created_ms = now;
  record.last_access_ms = now;
  if (auto ec = ctx_.index->put_blob(digest, record)) {
    spdlog::error("indexing digest={} failed: {}", digest.str(), ec.message());
    return errc::storage_failed;
  }
  if (auto ec = ctx_.index->put_link(source.name, repository, digest, now))
    spdlog::warn("recording link {}/{}@{} failed: {}", source.name, repository, digest.str(), ec.message());
  ctx_.metrics->cached_bytes.add(static_cast<std::int64_t>(record.size));
  return error_code{};
}

}  // namespace regcache::cache

#include "regcache/cache/errc.hpp"
#include "regcache/cache/fill_coordinator.hpp"
#include "test_support.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>

namespace regcache::cache {
namespace {
namespace asio = boost::asio;

core::digest some_digest() {
  return core::digest::parse("sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824").value();
}

// The reasons of regcache_fill_failures_total (fill_coordinator.hpp).
const std::vector<std::string> fill_failure_reasons{"upstream_unreachable", "upstream_error", "not_found",
                                                    "digest_mismatch",      "too_slow",       "disk_full",
                                                    "storage"};

// regcache_fill_failures_total of `registry`, by reason.
std::map<std::string, std::uint64_t> fill_failures(metrics::registry& registry) {
  std::map<std::string, std::uint64_t> out;
  for (const auto& reason : fill_failure_reasons)
    out[reason] = registry
                      .get_counter("regcache_fill_failures_total",
                                   "Blob downloads that ended without a cached copy, by reason", {{"reason", reason}})
                      .value();
  return out;
}

// Every reason at 0 but `reason` at 1.
std::map<std::string, std::uint64_t> one_failure(const std::string& reason) {
  std::map<std::string, std::uint64_t> out;
  for (const auto& r : fill_failure_reasons) out[r] = r == reason ? 1 : 0;
  return out;
}

TEST(fill, starts_in_starting_with_nothing_servable) {
  fill f(some_digest());
  const auto s = f.observe();
  EXPECT_EQ(s.state, fill::phase::starting);
  EXPECT_EQ(s.servable, 0u);
  EXPECT_FALSE(s.size);
}

TEST(fill, holds_back_the_last_byte_until_committed) {
  fill f(some_digest());
  f.start_streaming(10, nullptr);
  f.advance(4);
  EXPECT_EQ(f.observe().servable, 3u);
  f.advance(6);
  EXPECT_EQ(f.observe().written, 10u);
  EXPECT_EQ(f.observe().servable, 9u) << "all bytes written, but the digest is not verified yet";
  f.complete();
  EXPECT_EQ(f.observe().state, fill::phase::committed);
  EXPECT_EQ(f.observe().servable, 10u);
  EXPECT_EQ(*f.observe().size, 10u);
}

TEST(fill, verified_content_is_whole_before_it_is_durable) {
  fill f(some_digest());
  f.start_streaming(std::nullopt, nullptr);
  f.advance(7);
  EXPECT_EQ(f.observe().servable, 6u);
  EXPECT_FALSE(f.observe().whole());
  f.verified();
  EXPECT_TRUE(f.observe().whole());
  EXPECT_EQ(f.observe().servable, 7u);
  EXPECT_EQ(*f.observe().size, 7u) << "a chunked upstream's size is known once verified";
}

TEST(fill, failure_serves_nothing_more_and_keeps_the_error) {
  fill f(some_digest());
  f.start_streaming(10, nullptr);
  f.advance(5);
  f.fail(errc::digest_mismatch);
  const auto s = f.observe();
  EXPECT_EQ(s.state, fill::phase::failed);
  EXPECT_EQ(s.servable, 0u);
  EXPECT_EQ(s.error, errc::digest_mismatch);
}

asio::awaitable<void> wait_started_into(fill* f, std::optional<fill::snapshot>* out) {
  *out = co_await f->wait_started();
}

asio::awaitable<void> wait_beyond_into(fill* f, std::uint64_t offset, std::optional<fill::snapshot>* out) {
  const auto& clock = core::clock::system();
  *out = co_await f->wait_servable_beyond(offset, clock.now() + std::chrono::hours(1), clock);
}

// poll() runs what is ready and never waits, so a waiter woken within it was
// woken by the notification: its periodic re-check is a timer still pending.
// No sleeps and no wall-time bound.
TEST(fill, waiters_on_several_strands_are_woken_by_the_start_and_the_commit) {
  asio::io_context ioc;
  auto f = std::make_shared<fill>(some_digest());
  std::vector<std::optional<fill::snapshot>> started(4), beyond(4);
  for (int i = 0; i < 4; ++i) {
    asio::co_spawn(asio::make_strand(ioc), wait_started_into(f.get(), &started[i]), asio::detached);
    asio::co_spawn(asio::make_strand(ioc), wait_beyond_into(f.get(), 99, &beyond[i]), asio::detached);
  }
  ioc.poll();
  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(started[i]) << "nothing started yet";
    EXPECT_FALSE(beyond[i]);
  }

  f->start_streaming(100, nullptr);
  f->advance(100);
  ioc.poll();
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(started[i]) << "woken by the start";
    EXPECT_EQ(started[i]->state, fill::phase::streaming);
    EXPECT_FALSE(beyond[i]) << "byte 99 is servable only after the commit";
  }

  f->complete();
  ioc.poll();
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(beyond[i]) << "woken by the commit";
    EXPECT_EQ(beyond[i]->state, fill::phase::committed);
    EXPECT_EQ(beyond[i]->servable, 100u);
  }
}

TEST(fill, a_failure_wakes_waiters_with_the_error) {
  asio::io_context ioc;
  auto f = std::make_shared<fill>(some_digest());
  std::optional<fill::snapshot> seen;
  asio::co_spawn(ioc, wait_beyond_into(f.get(), 0, &seen), asio::detached);
  ioc.poll();
  EXPECT_FALSE(seen);
  f->fail(errc::upstream_unreachable);
  ioc.poll();
  ASSERT_TRUE(seen) << "woken by the failure";
  EXPECT_EQ(seen->state, fill::phase::failed);
  EXPECT_EQ(seen->error, errc::upstream_unreachable);
}

}  // namespace
}  // namespace regcache::cache

namespace regcache::cache {
namespace {

// The coordinator against an upstream that refuses connections: single
// flight while the fill runs, the failure reaches every waiter, and the
// table forgets the failed fill so the next request starts afresh.
class coordinator_test : public testing::cache_fixture {
 protected:
  void SetUp() override {
    cache_fixture::SetUp();
    source_ = testing::test_upstream::source_at(1, ioc_.get_executor(), registry_);
  }
};

TEST_F(coordinator_test, joins_share_one_fill_and_a_failure_clears_the_entry) {
  fill_coordinator fills(make_context());
  auto first = fills.join(some_digest(), source_, "team/app", ioc_.get_executor());
  auto second = fills.join(some_digest(), source_, "team/app", ioc_.get_executor());
  EXPECT_EQ(first, second) << "one download per digest";
  EXPECT_EQ(fills.in_flight(), 1u);
  EXPECT_EQ(metrics_->fills_in_flight.value(), 1);

  std::optional<fill::snapshot> seen;
  boost::asio::co_spawn(ioc_, wait_beyond_into(second.get(), 0, &seen), boost::asio::detached);
  ioc_.run_for(std::chrono::seconds(10));
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->state, fill::phase::failed);
  EXPECT_EQ(seen->error, errc::upstream_unreachable);
  EXPECT_EQ(fill_failures(registry_), one_failure("upstream_unreachable")) << "one fill, however many waited";
  EXPECT_EQ(registry_.get_counter("regcache_fills_total", "").value(), 1u);
  EXPECT_EQ(fills.in_flight(), 0u);
  EXPECT_EQ(metrics_->fills_in_flight.value(), 0);
  EXPECT_FALSE(blobs_->exists(some_digest()));

  auto third = fills.join(some_digest(), source_, "team/app", ioc_.get_executor());
  EXPECT_NE(third, first) << "a failed fill is not reused";
}

}  // namespace
}  // namespace regcache::cache

namespace regcache::cache {
namespace {
using namespace std::chrono_literals;

// A fill from an upstream that trickles: it passes every read timeout, but
// falls below the transfer floor on the injected clock and is aborted.
class trickling_upstream_test : public testing::cache_fixture {};

TEST_F(trickling_upstream_test, a_fill_below_the_transfer_floor_is_aborted_and_caches_nothing) {
  const std::string content(100'000, 'z');
  const auto digest = upstream_.add_blob("team/app", content);
  upstream_.hold_from(10);
  source_->min_transfer = {64 * 1024, 30s};
  fill_coordinator fills(make_context());
  auto f = fills.join(digest, source_, "team/app", ioc_.get_executor());
  ASSERT_TRUE(run_until([&] { return f->observe().written == 10; }));
  clock_.advance(29s);
  upstream_.release(1);
  ASSERT_TRUE(run_until([&] { return f->observe().written == 11; }));
  EXPECT_EQ(f->observe().state, fill::phase::streaming) << "the first window has not passed";
  clock_.advance(2s);
  upstream_.release(1);
  ASSERT_TRUE(run_until([&] { return f->observe().ended; }));
  EXPECT_EQ(f->observe().state, fill::phase::failed);
  EXPECT_EQ(f->observe().error, errc::upstream_too_slow);
  EXPECT_EQ(fill_failures(registry_), one_failure("too_slow"));
  EXPECT_EQ(fills.in_flight(), 0u);
  EXPECT_FALSE(blobs_->exists(digest));
  EXPECT_FALSE(index_->get_blob(digest).value());
}

}  // namespace
}  // namespace regcache::cache

namespace regcache::cache {
namespace {

// Fills whose pieces are written and hashed on a pool of their own while the
// next piece arrives (the app's setup): several pieces, so the pipeline
// runs, and the digest still decides before the last byte is released.
class pipelined_fill_test : public testing::cache_fixture {
 protected:
  context pipelined_context() {
    auto ctx = make_context();
    ctx.hashing = hashing_.get_executor();
    return ctx;
  }
  // Content of several fill pieces, not a multiple of any buffer size.
  static std::string several_pieces() {
    std::string content(3 * 1024 * 1024 + 17, '\0');
    for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>((i * 7919) >> 3);
    return content;
  }
  // Runs until `f` ended; the most bytes it ever offered readers meanwhile.
  std::uint64_t most_servable_until_ended(const fill& f) {
    std::uint64_t most = 0;
    EXPECT_TRUE(run_until([&] {
      const auto s = f.observe();
      most = std::max(most, s.servable);
      return s.ended;
    }));
    return most;
  }

  boost::asio::thread_pool hashing_{2};
};

TEST_F(pipelined_fill_test, a_blob_of_several_pieces_is_verified_and_cached_byte_for_byte) {
  const auto content = several_pieces();
  const auto digest = upstream_.add_blob("team/app", content);
  fill_coordinator fills(pipelined_context());
  auto f = fills.join(digest, source_, "team/app", ioc_.get_executor());
  most_servable_until_ended(*f);
  EXPECT_EQ(f->observe().state, fill::phase::committed) << f->observe().error.message();
  ASSERT_TRUE(blobs_->exists(digest));
  auto file = blobs_->open_blob(digest).value();
  std::string cached(content.size(), '\0');
  ASSERT_EQ(::pread(file->fd(), cached.data(), cached.size(), 0), static_cast<ssize_t>(content.size()));
  EXPECT_EQ(cached, content);
  for (const auto& [reason, count] : fill_failures(registry_)) EXPECT_EQ(count, 0u) << reason;
}

TEST_F(pipelined_fill_test, a_blob_the_upstream_does_not_have_fails_as_not_found) {
  fill_coordinator fills(pipelined_context());
  auto f = fills.join(some_digest(), source_, "team/app", ioc_.get_executor());
  ASSERT_TRUE(run_until([&] { return f->observe().ended; }));
  EXPECT_EQ(f->observe().error, errc::blob_unknown);
  EXPECT_EQ(fill_failures(registry_), one_failure("not_found"));
}

TEST_F(pipelined_fill_test, a_corrupt_last_byte_fails_the_fill_and_is_never_servable) {
  const auto content = several_pieces();
  auto wrong = content;
  wrong.back() = static_cast<char>(wrong.back() ^ 0x01);
  const auto digest = core::hasher::of(content);
  upstream_.add_wrong_blob("team/app", digest, wrong);
  fill_coordinator fills(pipelined_context());
  auto f = fills.join(digest, source_, "team/app", ioc_.get_executor());
  const auto most = most_servable_until_ended(*f);
  EXPECT_LT(most, content.size()) << "the last byte stays held back";
  EXPECT_EQ(f->observe().state, fill::phase::failed);
  EXPECT_EQ(f->observe().error, errc::digest_mismatch);
  EXPECT_EQ(metrics_->digest_mismatches.value(), 1u);
  EXPECT_EQ(fill_failures(registry_), one_failure("digest_mismatch"));
  EXPECT_FALSE(blobs_->exists(digest));
  EXPECT_FALSE(index_->get_blob(digest).value());
}

}  // namespace
}  // namespace regcache::cache

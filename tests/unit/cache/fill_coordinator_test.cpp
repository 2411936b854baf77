#include "regcache/cache/errc.hpp"
#include "regcache/cache/fill_coordinator.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <thread>

namespace regcache::cache {
namespace {
namespace asio = boost::asio;

core::digest some_digest() {
  return core::digest::parse("sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824").value();
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

asio::awaitable<void> wait_started_into(fill* f, fill::snapshot* out) { *out = co_await f->wait_started(); }

asio::awaitable<void> wait_beyond_into(fill* f, std::uint64_t offset, fill::snapshot* out) {
  *out = co_await f->wait_servable_beyond(offset);
}

TEST(fill, waiters_on_several_strands_wake_on_progress_commit_and_failure) {
  asio::io_context ioc(2);
  auto f = std::make_shared<fill>(some_digest());
  std::vector<fill::snapshot> started(4), beyond(4);
  for (int i = 0; i < 4; ++i) {
    asio::co_spawn(asio::make_strand(ioc), wait_started_into(f.get(), &started[i]), asio::detached);
    asio::co_spawn(asio::make_strand(ioc), wait_beyond_into(f.get(), 99, &beyond[i]), asio::detached);
  }
  std::thread second([&ioc] { ioc.run(); });
  // Let the waiters park before the fill moves.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto t0 = std::chrono::steady_clock::now();
  f->start_streaming(100, nullptr);
  f->advance(100);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  f->complete();
  ioc.run();
  second.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(400))
      << "waiters must be woken by notification, not by their periodic re-check";
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(started[i].state, fill::phase::streaming);
    EXPECT_EQ(beyond[i].state, fill::phase::committed) << "byte 99 is servable only after the commit";
    EXPECT_EQ(beyond[i].servable, 100u);
  }
}

TEST(fill, a_failure_wakes_waiters_with_the_error) {
  asio::io_context ioc;
  auto f = std::make_shared<fill>(some_digest());
  fill::snapshot seen;
  asio::co_spawn(ioc, wait_beyond_into(f.get(), 0, &seen), asio::detached);
  ioc.run_for(std::chrono::milliseconds(10));
  f->fail(errc::upstream_unreachable);
  ioc.restart();
  ioc.run();
  EXPECT_EQ(seen.state, fill::phase::failed);
  EXPECT_EQ(seen.error, errc::upstream_unreachable);
}

}  // namespace
}  // namespace regcache::cache

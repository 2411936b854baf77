#include "regcache/upstream/connection_limit.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

namespace {
namespace asio = boost::asio;
using regcache::upstream::connection_limit;
using namespace std::chrono_literals;

struct concurrency {
  std::atomic<int> now{0};
  std::atomic<int> peak{0};
  std::atomic<int> done{0};
};

asio::awaitable<void> hold_a_permit(connection_limit* limit, concurrency* seen) {
  auto permit = co_await limit->acquire();
  const int inside = ++seen->now;
  for (int peak = seen->peak.load(); inside > peak && !seen->peak.compare_exchange_weak(peak, inside);) {
  }
  asio::steady_timer pause(co_await asio::this_coro::executor, 2ms);
  co_await pause.async_wait(asio::use_awaitable);
  --seen->now;
  ++seen->done;
}

TEST(connection_limit, bounds_holders_across_threads_and_serves_every_waiter) {
  auto limit = connection_limit::make(3);
  concurrency seen;
  asio::io_context first(1);
  asio::io_context second(1);
  std::vector<std::future<void>> finished;
  for (int i = 0; i < 40; ++i)
    finished.push_back(asio::co_spawn(i % 2 ? first : second, hold_a_permit(limit.get(), &seen), asio::use_future));
  std::thread other([&] { second.run(); });
  first.run();
  other.join();
  for (auto& f : finished) f.get();
  EXPECT_EQ(seen.done.load(), 40);
  EXPECT_EQ(seen.peak.load(), 3);
  EXPECT_EQ(limit->in_use(), 0u);
  EXPECT_EQ(limit->waiting(), 0u);
}

TEST(connection_limit, moved_and_reset_permits_return_once) {
  auto limit = connection_limit::make(2);
  asio::io_context ioc;
  auto taken = asio::co_spawn(ioc, limit->acquire(), asio::use_future);
  ioc.run();
  auto permit = taken.get();
  EXPECT_EQ(limit->in_use(), 1u);
  connection_limit::permit moved = std::move(permit);
  EXPECT_FALSE(permit);
  EXPECT_EQ(limit->in_use(), 1u);
  moved.reset();
  moved.reset();
  EXPECT_EQ(limit->in_use(), 0u);
}

TEST(connection_limit, zero_is_raised_to_one) { EXPECT_EQ(connection_limit::make(0)->max(), 1u); }

}  // namespace

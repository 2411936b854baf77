#include "regcache/core/errc.hpp"
#include "regcache/core/single_flight.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <thread>

namespace regcache::core {
namespace {
namespace asio = boost::asio;

using flights = single_flight<result<int>>;

asio::awaitable<void> join_and_wait(flights* f, std::string key, result<int>* out, int* leaders) {
  auto ticket = f->join(key);
  if (ticket.leader()) {
    ++*leaders;
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(30));
    co_await t.async_wait(asio::use_awaitable);
    *out = 42;
    ticket.finish(*out);
    co_return;
  }
  *out = co_await ticket.wait();
}

TEST(single_flight, one_leader_and_every_waiter_gets_its_result) {
  asio::io_context ioc;
  flights f(errc::invalid_digest);
  std::vector<result<int>> results(8, result<int>(errc::invalid_duration));
  int leaders = 0;
  for (auto& r : results) asio::co_spawn(asio::make_strand(ioc), join_and_wait(&f, "k", &r, &leaders), asio::detached);
  const auto t0 = std::chrono::steady_clock::now();
  ioc.run();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(300)) << "woken by notification";
  EXPECT_EQ(leaders, 1);
  for (const auto& r : results) {
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, 42);
  }
  EXPECT_EQ(f.in_flight(), 0u);
}

TEST(single_flight, different_keys_fly_separately) {
  flights f(errc::invalid_digest);
  auto a = f.join("a");
  auto b = f.join("b");
  EXPECT_TRUE(a.leader());
  EXPECT_TRUE(b.leader());
  EXPECT_EQ(f.in_flight(), 2u);
}

TEST(single_flight, an_abandoned_flight_fails_its_waiters_and_is_forgotten) {
  asio::io_context ioc;
  flights f(errc::invalid_digest);
  std::optional<flights::ticket> leader(f.join("k"));
  ASSERT_TRUE(leader->leader());
  result<int> seen = 0;
  int leaders = 0;
  asio::co_spawn(ioc, join_and_wait(&f, "k", &seen, &leaders), asio::detached);
  ioc.run_for(std::chrono::milliseconds(20));
  leader.reset();  // the leader's coroutine died without finishing
  ioc.restart();
  ioc.run();
  ASSERT_FALSE(seen.has_value());
  EXPECT_EQ(seen.error(), errc::invalid_digest);
  EXPECT_EQ(leaders, 0);
  EXPECT_TRUE(f.join("k").leader()) << "the next request starts afresh";
}

}  // namespace
}  // namespace regcache::core

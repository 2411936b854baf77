#include "regcache/core/buffer_pool.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace regcache::core {
namespace {

TEST(buffer_pool_test, a_returned_buffer_is_lent_again_instead_of_a_new_one) {
  buffer_pool pool(4096, 2);
  std::byte* first = nullptr;
  {
    auto lease = pool.take();
    ASSERT_EQ(lease.bytes().size(), 4096u);
    first = lease.bytes().data();
    EXPECT_EQ(pool.kept(), 0u);
  }
  EXPECT_EQ(pool.kept(), 1u);
  auto again = pool.take();
  EXPECT_EQ(again.bytes().data(), first);
  EXPECT_EQ(pool.kept(), 0u);
}

TEST(buffer_pool_test, keeps_at_most_its_limit_and_frees_the_rest) {
  buffer_pool pool(64, 2);
  {
    std::vector<buffer_pool::lease> leases;
    for (int i = 0; i < 5; ++i) leases.push_back(pool.take());
  }
  EXPECT_EQ(pool.kept(), 2u);
}

TEST(buffer_pool_test, starts_with_the_prepared_buffers_up_to_its_limit) {
  EXPECT_EQ(buffer_pool(64, 4, 3).kept(), 3u);
  EXPECT_EQ(buffer_pool(64, 4, 9).kept(), 4u);
  buffer_pool pool(64, 4, 1);
  auto lease = pool.take();
  EXPECT_EQ(pool.kept(), 0u);
}

TEST(buffer_pool_test, a_lease_moved_away_returns_its_buffer_once) {
  buffer_pool pool(64, 4);
  auto a = pool.take();
  auto b = pool.take();
  b = std::move(a);  // b's own buffer goes back now, a's when b ends
  EXPECT_EQ(pool.kept(), 1u);
  {
    auto c = std::move(b);
  }
  EXPECT_EQ(pool.kept(), 2u);
}

TEST(buffer_pool_test, threads_take_and_return_concurrently) {
  buffer_pool pool(256, 8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&pool, t] {
      for (int i = 0; i < 1000; ++i) {
        auto lease = pool.take();
        lease.bytes()[0] = static_cast<std::byte>(t);
        lease.bytes()[255] = static_cast<std::byte>(i);
      }
    });
  for (auto& thread : threads) thread.join();
  EXPECT_LE(pool.kept(), 4u);
  EXPECT_GE(pool.kept(), 1u);
}

}  // namespace
}  // namespace regcache::core

#include "regcache/auth/expiring_lru.hpp"

#include <gtest/gtest.h>

namespace regcache::auth {
namespace {

using namespace std::chrono_literals;

TEST(expiring_lru, entries_expire_after_their_ttl) {
  core::manual_clock clock;
  expiring_lru<int> lru(10, 5s);
  lru.put("a", 1, clock.now());
  clock.advance(4s);
  EXPECT_EQ(lru.get("a", clock.now()), 1);
  clock.advance(1s);
  EXPECT_EQ(lru.get("a", clock.now()), std::nullopt);
  EXPECT_EQ(lru.size(), 0u);
}

TEST(expiring_lru, the_least_recently_used_entry_makes_room) {
  core::manual_clock clock;
  expiring_lru<int> lru(2, 1h);
  lru.put("a", 1, clock.now());
  lru.put("b", 2, clock.now());
  EXPECT_EQ(lru.get("a", clock.now()), 1);  // b is now the least recently used
  lru.put("c", 3, clock.now());
  EXPECT_EQ(lru.size(), 2u);
  EXPECT_EQ(lru.get("b", clock.now()), std::nullopt);
  EXPECT_EQ(lru.get("a", clock.now()), 1);
  EXPECT_EQ(lru.get("c", clock.now()), 3);
}

TEST(expiring_lru, put_again_replaces_and_renews) {
  core::manual_clock clock;
  expiring_lru<int> lru(2, 10s);
  lru.put("a", 1, clock.now());
  clock.advance(8s);
  lru.put("a", 2, clock.now());
  clock.advance(8s);
  EXPECT_EQ(lru.get("a", clock.now()), 2);
  EXPECT_EQ(lru.size(), 1u);
}

TEST(expiring_lru, zero_ttl_or_capacity_keeps_nothing_and_clear_empties) {
  core::manual_clock clock;
  expiring_lru<int> no_ttl(10, 0s);
  no_ttl.put("a", 1, clock.now());
  EXPECT_EQ(no_ttl.get("a", clock.now()), std::nullopt);
  expiring_lru<int> no_room(0, 1h);
  no_room.put("a", 1, clock.now());
  EXPECT_EQ(no_room.size(), 0u);
  expiring_lru<int> lru(10, 1h);
  lru.put("a", 1, clock.now());
  lru.clear();
  EXPECT_EQ(lru.get("a", clock.now()), std::nullopt);
}

}  // namespace
}  // namespace regcache::auth

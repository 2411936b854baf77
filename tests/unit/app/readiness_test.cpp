#include "regcache/app/readiness.hpp"

#include <gtest/gtest.h>

namespace regcache::app {
namespace {

class readiness_test : public ::testing::Test {
 protected:
  std::int64_t ready_gauge() {
    return metrics_.get_gauge("regcache_ready", "1 while /readyz answers 200 (not draining, storage usable)").value();
  }
  std::uint64_t changes() {
    return metrics_
        .get_counter("regcache_readiness_changes_total", "Times /readyz turned from 200 to 503 or back")
        .value();
  }

  metrics::registry metrics_;
  readiness readyz_{metrics_};
};

TEST_F(readiness_test, starts_ready_without_a_change) {
  EXPECT_TRUE(readyz_.ready());
  EXPECT_EQ(ready_gauge(), 1);
  EXPECT_EQ(changes(), 0u);
}

TEST_F(readiness_test, a_flapping_storage_counts_every_change) {
  EXPECT_TRUE(readyz_.set_storage_usable(false));
  EXPECT_FALSE(readyz_.ready());
  EXPECT_EQ(ready_gauge(), 0);
  EXPECT_FALSE(readyz_.set_storage_usable(false)) << "the same outcome again is no change";
  EXPECT_TRUE(readyz_.set_storage_usable(true));
  EXPECT_TRUE(readyz_.set_storage_usable(false));
  EXPECT_TRUE(readyz_.set_storage_usable(true));
  EXPECT_TRUE(readyz_.ready());
  EXPECT_EQ(ready_gauge(), 1);
  EXPECT_EQ(changes(), 4u);
}

TEST_F(readiness_test, draining_is_one_change_and_for_good) {
  EXPECT_TRUE(readyz_.start_draining());
  EXPECT_FALSE(readyz_.start_draining());
  EXPECT_FALSE(readyz_.ready());
  EXPECT_EQ(ready_gauge(), 0);
  EXPECT_EQ(changes(), 1u);
  // The storage check goes on while draining: it changes nothing visible.
  EXPECT_TRUE(readyz_.set_storage_usable(false));
  EXPECT_TRUE(readyz_.set_storage_usable(true));
  EXPECT_FALSE(readyz_.ready());
  EXPECT_EQ(ready_gauge(), 0);
  EXPECT_EQ(changes(), 1u);
}

TEST_F(readiness_test, draining_while_the_storage_is_unusable_is_no_change) {
  ASSERT_TRUE(readyz_.set_storage_usable(false));
  EXPECT_TRUE(readyz_.start_draining());
  EXPECT_EQ(changes(), 1u);
  EXPECT_EQ(ready_gauge(), 0);
}

}  // namespace
}  // namespace regcache::app

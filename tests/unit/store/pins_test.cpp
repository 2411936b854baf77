#include "regcache/store/pins.hpp"

#include "unit/store/index_fixture.hpp"

#include <gtest/gtest.h>

namespace regcache::store {
namespace {

using testing::index_test;

TEST_F(index_test, remove_pins_where_removes_the_chosen_pins_and_names_them) {
  ASSERT_FALSE(idx_->put_pin("docker.io", "shop/web", "1", {a_, {}, 1, 0, "app=shop"}));
  ASSERT_FALSE(idx_->put_pin("ghcr.io", "shop/api", b_.str(), {b_, {"linux/amd64"}, 2, 0, "app=shop"}));
  ASSERT_FALSE(idx_->put_pin("docker.io", "blog/web", "1", {a_, {}, 3, 0, "app=blog"}));

  auto removed = remove_pins_where(*idx_, [](const pin_record& pin) { return pin.label == "app=shop"; });
  ASSERT_TRUE(removed) << removed.error().message();
  ASSERT_EQ(removed->size(), 2u);
  EXPECT_EQ((*removed)[0].upstream, "docker.io");
  EXPECT_EQ((*removed)[0].repository, "shop/web");
  EXPECT_EQ((*removed)[0].reference, "1");
  EXPECT_EQ((*removed)[1].record, (pin_record{b_, {"linux/amd64"}, 2, 0, "app=shop"}));
  EXPECT_FALSE(idx_->get_pin("docker.io", "shop/web", "1").value());
  EXPECT_FALSE(idx_->get_pin("ghcr.io", "shop/api", b_.str()).value());
  EXPECT_TRUE(idx_->get_pin("docker.io", "blog/web", "1").value());

  // Nothing chosen: nothing removed, no error.
  removed = remove_pins_where(*idx_, [](const pin_record& pin) { return pin.label == "app=shop"; });
  ASSERT_TRUE(removed);
  EXPECT_TRUE(removed->empty());
}

}  // namespace
}  // namespace regcache::store

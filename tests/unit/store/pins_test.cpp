#include "regcache/store/pins.hpp"

#include "unit/store/index_fixture.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

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
  // In the index's key order, which is not the names' order.
  std::map<std::string, removed_pin> by_repository;
  for (const auto& pin : *removed) by_repository.emplace(pin.repository, pin);
  ASSERT_EQ(by_repository.size(), 2u);
  const auto& web = by_repository.at("shop/web");
  EXPECT_EQ(web.upstream, "docker.io");
  EXPECT_EQ(web.reference, "1");
  EXPECT_EQ(web.record, (pin_record{a_, {}, 1, 0, "app=shop"}));
  const auto& api = by_repository.at("shop/api");
  EXPECT_EQ(api.upstream, "ghcr.io");
  EXPECT_EQ(api.reference, b_.str());
  EXPECT_EQ(api.record, (pin_record{b_, {"linux/amd64"}, 2, 0, "app=shop"}));
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

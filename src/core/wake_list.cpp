#include "regcache/core/wake_list.hpp"

#include "regcache/core/result.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <functional>

namespace regcache::core {
namespace {

void wake(const wake_list::ticket& timer) { timer->cancel(); }

}  // namespace

wake_list::ticket wake_list::park(boost::asio::any_io_executor executor) {
  auto timer = std::make_shared<boost::asio::steady_timer>(std::move(executor), recheck);
  waiters_.push_back(timer);
  return timer;
}

void wake_list::wake_all() {
  for (auto& timer : waiters_) boost::asio::post(timer->get_executor(), std::bind(wake, timer));
  waiters_.clear();
}

boost::asio::awaitable<void> wake_list::wait(ticket t) {
  auto [ec] = co_await t->async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
  ignore_error(ec, "a cancelled wait is the wake-up signal");
}

}  // namespace regcache::core

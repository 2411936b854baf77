#pragma once
// Coroutines that wait for progress made on another thread (a download, a
// token fetch). A waiter parks a timer that lives on its own executor;
// wake_all() posts the timer's cancel to that executor, so the wake-up cannot
// race the waiter, and no thread ever blocks. A parked timer also expires
// after `recheck`: a safety net, the normal wake-up is the notification.
//
// Not thread-safe by itself: park() and wake_all() run under the owner's
// mutex, wait() without it.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <vector>

namespace regcache::core {

class wake_list {
 public:
  using ticket = std::shared_ptr<boost::asio::steady_timer>;
  static constexpr std::chrono::milliseconds recheck{500};

  // Parks a waiter running on `executor`; co_await wait() on the result.
  ticket park(boost::asio::any_io_executor executor);
  void wake_all();
  static boost::asio::awaitable<void> wait(ticket t);

 private:
  std::vector<ticket> waiters_;
};

}  // namespace regcache::core

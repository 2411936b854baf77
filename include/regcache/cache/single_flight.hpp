#pragma once
// Single flight for small results (manifests, tag resolutions): the first
// caller for a key does the work, callers that arrive while it runs wait for
// its result instead of asking the upstream again. Blobs have their own,
// streaming variant (fill_coordinator.hpp).
//
// Usage, from a coroutine:
//
//   auto ticket = flights.join(key);
//   if (!ticket.leader()) co_return co_await ticket.wait();
//   auto r = co_await do_the_work();
//   ticket.finish(r);            // every waiter gets a copy of r
//   co_return r;
//
// A leader that leaves without finish() (an exception) finishes with
// `abandoned`, so waiters never hang.
//
// Thread-safety: join/finish/wait may be called from any thread; waiters are
// woken on their own executors.
#include "regcache/core/result.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace regcache::cache {

template <class T>
class single_flight {
  struct flight {
    std::mutex mutex;
    std::optional<result<T>> outcome;
    std::vector<std::shared_ptr<boost::asio::steady_timer>> waiters;
  };

 public:
  explicit single_flight(error_code abandoned) : abandoned_(abandoned) {}

  class ticket {
   public:
    ticket(single_flight* owner, std::string key, std::shared_ptr<flight> f, bool leader)
        : owner_(owner), key_(std::move(key)), flight_(std::move(f)), leader_(leader) {}
    ticket(ticket&& other) noexcept
        : owner_(other.owner_), key_(std::move(other.key_)), flight_(std::move(other.flight_)),
          leader_(std::exchange(other.leader_, false)) {}
    ticket& operator=(ticket&&) = delete;
    ~ticket() {
      if (leader_) finish(result<T>(owner_->abandoned_));
    }

    bool leader() const noexcept { return leader_; }

    void finish(const result<T>& outcome) {
      leader_ = false;
      owner_->complete(key_, flight_, outcome);
    }

    boost::asio::awaitable<result<T>> wait() {
      // Re-check now and then: a safety net, the normal wake-up is the notification.
      constexpr std::chrono::milliseconds recheck{500};
      for (;;) {
        auto timer = std::make_shared<boost::asio::steady_timer>(co_await boost::asio::this_coro::executor);
        timer->expires_after(recheck);
        {
          std::lock_guard lock(flight_->mutex);
          if (flight_->outcome) co_return *flight_->outcome;
          flight_->waiters.push_back(timer);
        }
        auto [ec] = co_await timer->async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
        ignore_error(ec, "a cancelled wait is the wake-up signal");
      }
    }

   private:
    single_flight* owner_;
    std::string key_;
    std::shared_ptr<flight> flight_;
    bool leader_;
  };

  ticket join(std::string key) {
    std::lock_guard lock(mutex_);
    auto& slot = flights_[key];
    if (slot) return ticket(this, std::move(key), slot, false);
    slot = std::make_shared<flight>();
    return ticket(this, std::move(key), slot, true);
  }

  std::size_t in_flight() const {
    std::lock_guard lock(mutex_);
    return flights_.size();
  }

 private:
  static void wake(const std::shared_ptr<boost::asio::steady_timer>& timer) { timer->cancel(); }

  void complete(const std::string& key, const std::shared_ptr<flight>& f, const result<T>& outcome) {
    {
      std::lock_guard lock(mutex_);
      if (auto it = flights_.find(key); it != flights_.end() && it->second == f) flights_.erase(it);
    }
    std::lock_guard lock(f->mutex);
    f->outcome = outcome;
    for (auto& timer : f->waiters) boost::asio::post(timer->get_executor(), std::bind(wake, timer));
    f->waiters.clear();
  }

  const error_code abandoned_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<flight>> flights_;
};

}  // namespace regcache::cache

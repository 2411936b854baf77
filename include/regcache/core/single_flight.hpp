#pragma once
// Single flight for small results (manifests, tag resolutions, tokens): the
// first caller for a key does the work, callers that arrive while it runs
// wait for its result instead of doing it again. Blobs have their own,
// streaming variant (cache/fill_coordinator.hpp).
//
// Usage, from a coroutine:
//
//   auto ticket = flights.join(key);
//   if (!ticket.leader()) co_return co_await ticket.wait();
//   auto r = co_await do_the_work();
//   ticket.finish(r);            // every waiter gets a copy of r
//   co_return r;
//
// A leader that leaves without finish() (an exception) finishes with the
// `abandoned` value given at construction, so waiters never hang.
//
// Thread-safety: join/finish/wait may be called from any thread; waiters are
// woken on their own executors (wake_list.hpp).
#include "regcache/core/wake_list.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/this_coro.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace regcache::core {

template <class Value>
class single_flight {
  struct flight {
    std::mutex mutex;
    std::optional<Value> outcome;
    wake_list waiters;
  };

 public:
  explicit single_flight(Value abandoned) : abandoned_(std::move(abandoned)) {}

  class ticket {
   public:
    ticket(single_flight* owner, std::string key, std::shared_ptr<flight> f, bool leader)
        : owner_(owner), key_(std::move(key)), flight_(std::move(f)), leader_(leader) {}
    ticket(ticket&& other) noexcept
        : owner_(other.owner_), key_(std::move(other.key_)), flight_(std::move(other.flight_)),
          leader_(std::exchange(other.leader_, false)) {}
    ticket& operator=(ticket&&) = delete;
    ~ticket() {
      if (leader_) finish(owner_->abandoned_);
    }

    bool leader() const noexcept { return leader_; }

    void finish(const Value& outcome) {
      leader_ = false;
      owner_->complete(key_, flight_, outcome);
    }

    boost::asio::awaitable<Value> wait() {
      for (;;) {
        const auto executor = co_await boost::asio::this_coro::executor;
        wake_list::ticket parked;
        {
          std::lock_guard lock(flight_->mutex);
          if (flight_->outcome) co_return *flight_->outcome;
          parked = flight_->waiters.park(executor);
        }
        co_await wake_list::wait(std::move(parked));
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
  void complete(const std::string& key, const std::shared_ptr<flight>& f, const Value& outcome) {
    {
      std::lock_guard lock(mutex_);
      if (auto it = flights_.find(key); it != flights_.end() && it->second == f) flights_.erase(it);
    }
    std::lock_guard lock(f->mutex);
    f->outcome = outcome;
    f->waiters.wake_all();
  }

  const Value abandoned_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<flight>> flights_;
};

}  // namespace regcache::core

#include "regcache/upstream/connection_limit.hpp"

#include <boost/asio/this_coro.hpp>

namespace regcache::upstream {

connection_limit::permit& connection_limit::permit::operator=(permit&& other) noexcept {
  if (this != &other) {
    reset();
    owner_ = std::move(other.owner_);
  }
  return *this;
}

void connection_limit::permit::reset() noexcept {
  if (auto owner = std::move(owner_)) owner->give_back();
}

std::shared_ptr<connection_limit> connection_limit::make(std::size_t max) {
  return std::shared_ptr<connection_limit>(new connection_limit(max < 1 ? 1 : max));
}

boost::asio::awaitable<connection_limit::permit> connection_limit::acquire() {
  const auto executor = co_await boost::asio::this_coro::executor;
  for (;;) {
    core::wake_list::ticket ticket;
    {
      std::lock_guard lock(mutex_);
      if (in_use_ < max_) {
        ++in_use_;
        co_return permit(shared_from_this());
      }
      ticket = waiters_.park(executor);
      ++waiting_;
    }
    co_await core::wake_list::wait(std::move(ticket));
    std::lock_guard lock(mutex_);
    --waiting_;
  }
}

void connection_limit::give_back() noexcept {
  std::lock_guard lock(mutex_);
  --in_use_;
  waiters_.wake_all();
}

std::size_t connection_limit::in_use() const {
  std::lock_guard lock(mutex_);
  return in_use_;
}

std::size_t connection_limit::waiting() const {
  std::lock_guard lock(mutex_);
  return waiting_;
}

}  // namespace regcache::upstream

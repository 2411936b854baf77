#pragma once
// A bound on the exchanges in flight to one upstream, shared by the clients
// of all I/O threads (upstreams[].max_connections). An exchange holds a
// permit from the moment it needs a connection until its response body is
// read to the end or the response is dropped; idle pooled connections hold
// none. When every permit is out, acquire() parks the caller on its own
// executor until one comes back, so the registry never sees more connections
// at once than its operator allowed (registries rate-limit by connection too).
#include "regcache/core/wake_list.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <memory>
#include <mutex>

namespace regcache::upstream {

class connection_limit : public std::enable_shared_from_this<connection_limit> {
 public:
  // Returns its permit on destruction or reset(). Move-only; empty when default-constructed.
  class permit {
   public:
    permit() = default;
    permit(permit&& other) noexcept = default;
    permit& operator=(permit&& other) noexcept;
    permit(const permit&) = delete;
    permit& operator=(const permit&) = delete;
    ~permit() { reset(); }
    void reset() noexcept;
    explicit operator bool() const noexcept { return owner_ != nullptr; }

   private:
    friend class connection_limit;
    explicit permit(std::shared_ptr<connection_limit> owner) : owner_(std::move(owner)) {}
    std::shared_ptr<connection_limit> owner_;
  };

  // Must be owned by a shared_ptr (permits keep it alive). `max` >= 1.
  static std::shared_ptr<connection_limit> make(std::size_t max);

  // Waits until fewer than max permits are out. Waiters are not served in
  // arrival order: a woken waiter competes with newcomers.
  boost::asio::awaitable<permit> acquire();

  std::size_t max() const noexcept { return max_; }
  std::size_t in_use() const;
  std::size_t waiting() const;

 private:
  explicit connection_limit(std::size_t max) : max_(max) {}
  void give_back() noexcept;

  const std::size_t max_;
  mutable std::mutex mutex_;
  std::size_t in_use_ = 0;
  std::size_t waiting_ = 0;
  core::wake_list waiters_;
};

}  // namespace regcache::upstream

#pragma once
// Whether regcache takes traffic: what /readyz answers. Ready while it is not
// draining and the storage check last found the cache directory and the index
// writable.
//
//   ready ──storage check fails──▶ not ready ──storage check passes──▶ ready
//     │                                │
//     └──────── start_draining() ──────┴──▶ draining (not ready, for good)
//
// Every move between ready and not ready is published: regcache_ready (1/0)
// and regcache_readiness_changes_total, so an alert can tell a pod that keeps
// dropping out of its Service (a flapping disk) from one that drained once.
//
// Thread-safety: every member may be called from any thread.
#include "regcache/metrics/registry.hpp"

#include <mutex>

namespace regcache::app {

class readiness {
 public:
  // Ready, with usable storage, until told otherwise.
  explicit readiness(metrics::registry& metrics);

  [[nodiscard]] bool ready() const;
  // The storage check's outcome; true when it changed the storage's state
  // (the caller logs it).
  bool set_storage_usable(bool usable);
  // SIGTERM or stop(): not ready from now on. False when already draining.
  bool start_draining();

 private:
  bool ready_locked() const noexcept { return storage_usable_ && !draining_; }
  // Publishes the state after a change that found it `was_ready` before.
  void publish_locked(bool was_ready);

  mutable std::mutex mutex_;
  bool storage_usable_ = true;
  bool draining_ = false;
  metrics::gauge& ready_gauge_;
  metrics::counter& changes_;
};

}  // namespace regcache::app

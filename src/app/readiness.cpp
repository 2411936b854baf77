#include "regcache/app/readiness.hpp"

namespace regcache::app {

readiness::readiness(metrics::registry& metrics)
    : ready_gauge_(metrics.get_gauge("regcache_ready", "1 while /readyz answers 200 (not draining, storage usable)")),
      changes_(metrics.get_counter("regcache_readiness_changes_total",
                                   "Times /readyz turned from 200 to 503 or back")) {
  ready_gauge_.set(1);
}

bool readiness::ready() const {
  std::lock_guard lock(mutex_);
  return ready_locked();
}

bool readiness::set_storage_usable(bool usable) {
  std::lock_guard lock(mutex_);
  if (storage_usable_ == usable) return false;
  const bool was_ready = ready_locked();
  storage_usable_ = usable;
  publish_locked(was_ready);
  return true;
}

bool readiness::start_draining() {
  std::lock_guard lock(mutex_);
  if (draining_) return false;
  const bool was_ready = ready_locked();
  draining_ = true;
  publish_locked(was_ready);
  return true;
}

void readiness::publish_locked(bool was_ready) {
  const bool now_ready = ready_locked();
  ready_gauge_.set(now_ready ? 1 : 0);
  if (now_ready != was_ready) changes_.inc();
}

}  // namespace regcache::app

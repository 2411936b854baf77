#pragma once
// A map of at most `capacity` entries, each valid for `ttl` after it was
// put: the least recently used entry makes room for a new one, and an
// expired entry is never returned. Keys are opaque bytes (hashes of
// credentials, never the credentials themselves).
//
// Thread-safety: none; the owner serializes access.
#include "regcache/core/clock.hpp"

#include <chrono>
#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace regcache::auth {

template <class Value>
class expiring_lru {
 public:
  expiring_lru(std::size_t capacity, std::chrono::milliseconds ttl) : capacity_(capacity), ttl_(ttl) {}

  [[nodiscard]] std::optional<Value> get(const std::string& key, core::clock::time_point now) {
    const auto it = index_.find(key);
    if (it == index_.end()) return std::nullopt;
    if (now >= it->second->expires) {
      order_.erase(it->second);
      index_.erase(it);
      return std::nullopt;
    }
    order_.splice(order_.begin(), order_, it->second);
    return it->second->value;
  }

  void put(const std::string& key, Value value, core::clock::time_point now) {
    if (capacity_ == 0 || ttl_.count() <= 0) return;
    if (const auto it = index_.find(key); it != index_.end()) {
      order_.erase(it->second);
      index_.erase(it);
    }
    while (index_.size() >= capacity_) {
      index_.erase(order_.back().key);
      order_.pop_back();
    }
    order_.push_front(entry{key, std::move(value), now + ttl_});
    index_.emplace(key, order_.begin());
  }

  void clear() {
    index_.clear();
    order_.clear();
  }
  [[nodiscard]] std::size_t size() const noexcept { return index_.size(); }

 private:
  struct entry {
    std::string key;
    Value value;
    core::clock::time_point expires;
  };
  std::size_t capacity_;
  std::chrono::milliseconds ttl_;
  std::list<entry> order_;  // most recently used first
  std::unordered_map<std::string, typename std::list<entry>::iterator> index_;
};

}  // namespace regcache::auth

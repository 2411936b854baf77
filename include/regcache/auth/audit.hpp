#pragma once
// The audit trail of access control: one line for every denied request and
// for the first pull of a manifest digest by an identity, and the count of
// every decision (regcache_access_decisions_total{decision="allow"|"deny"|
// "unauthorized"}).
//
// A line, text:
//   audit time=2026-12-05T11:40:00.123Z decision=deny identity=bob client=10.0.0.7
//         upstream=docker.io repository=team-a/app reference=v1 digest=-
// or JSON (log.format: json):
//   {"time":"…","audit":"access","decision":"deny","identity":"bob",…}
// `identity` is "anonymous" for a requester without one; `digest` is "-"
// when it is not known (a denied request never reaches the cache). Values
// with spaces, quotes or control characters are JSON-quoted in text lines
// too, so a line always splits unambiguously. Secrets never reach it.
//
// "First pull" is remembered for `remembered_pulls` (identity, digest)
// pairs, each for a day: memory stays bounded, and a pull forgotten early is
// logged once more rather than never.
//
// Thread-safety: all members may be called from any thread.
#include "regcache/auth/expiring_lru.hpp"
#include "regcache/core/clock.hpp"
#include "regcache/metrics/registry.hpp"

#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

namespace regcache::auth {

struct audit_event {
  std::string_view decision;  // "allow" | "deny" | "unauthorized"
  std::string_view identity;  // empty: anonymous
  std::string_view client;
  std::string_view upstream;
  std::string_view repository;
  std::string_view reference;
  std::string_view digest;  // empty: unknown
};

class audit {
 public:
  using sink = std::function<void(const std::string& line)>;
  audit(sink write, bool json, metrics::registry& registry, const core::clock& clock,
        std::size_t remembered_pulls = 100'000);

  // Counts a decision of the access gate.
  void count(std::string_view decision);
  // Writes the line of `event`.
  void record(const audit_event& event);
  // Writes the line of a successful manifest pull when `identity` has not
  // pulled `digest` before (as far as the bounded memory knows).
  void record_pull(const audit_event& event);

 private:
  std::string format(const audit_event& event) const;

  sink write_;
  bool json_;
  const core::clock& clock_;
  metrics::counter& allowed_;
  metrics::counter& denied_;
  metrics::counter& unauthorized_;
  std::mutex mutex_;  // guards pulls_
  expiring_lru<bool> pulls_;
};

}  // namespace regcache::auth

#pragma once
// Counters, gauges and histograms, and their Prometheus text exposition
// (format 0.0.4).
//
// Ownership: a registry owns every metric it hands out; the references it
// returns stay valid, at the same address, for the registry's lifetime.
//
// Thread-safety: counter, gauge and histogram are lock-free (relaxed atomics)
// and may be updated from any thread. registry lookups take a mutex and a map
// keyed by name + labels: callers on hot paths look a metric up once and keep
// the reference. expose() may run concurrently with updates; each value is read
// atomically, so a scrape sees every series at some recent value (a histogram's
// _sum may lag its buckets by an in-flight observation).
//
// Misuse is a programming error and throws std::invalid_argument from the
// get_* calls: a name or label name outside the Prometheus grammar, a label
// name given twice or starting with "__", "le" as a histogram label, a name
// already registered as another type, a histogram family asked for with other
// buckets than it was created with, or a NaN bucket bound.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace regcache::metrics {

// Label name/value pairs of one series. Order does not matter: {a,b} and
// {b,a} name the same series, exposed sorted by label name.
using labels = std::vector<std::pair<std::string, std::string>>;

// A value that only goes up.
class counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// A value that goes up and down.
class gauge {
 public:
  void set(std::int64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(std::int64_t delta) noexcept { value_.fetch_add(delta, std::memory_order_relaxed); }
  [[nodiscard]] std::int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// Observations (seconds, bytes…) counted into fixed buckets. Bucket i counts
// values <= bounds()[i]; a final +Inf bucket catches the rest. NaN
// observations are dropped.
class histogram {
 public:
  // `bounds` are sorted and deduplicated here; +Inf is implicit and removed
  // if given. Throws std::invalid_argument on a NaN bound.
  explicit histogram(std::vector<double> bounds);

  void observe(double value) noexcept;

  // Finite upper bounds, ascending.
  [[nodiscard]] const std::vector<double>& bounds() const noexcept { return bounds_; }
  // Cumulative counts, one per bound plus the +Inf bucket last (== count()).
  [[nodiscard]] std::vector<std::uint64_t> cumulative_counts() const;
  [[nodiscard]] std::uint64_t count() const noexcept;
  [[nodiscard]] double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // per bucket, not cumulative
  std::atomic<double> sum_{0.0};
};

class registry {
 public:
  registry();
  ~registry();
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  // Returns the series `name`{l}, creating it (and its family, with `help`)
  // on first use. A family keeps the help text it was created with.
  [[nodiscard]] counter& get_counter(std::string_view name, std::string_view help, const labels& l = {});
  [[nodiscard]] gauge& get_gauge(std::string_view name, std::string_view help, const labels& l = {});
  // Every series of a histogram family has the same buckets; asking again
  // with buckets that normalize to the same bounds returns the existing one.
  [[nodiscard]] histogram& get_histogram(std::string_view name, std::string_view help,
                                         std::vector<double> buckets, const labels& l = {});

  // Registers a function run at the start of every expose(), to set gauges
  // that are computed at scrape time (e.g. cached bytes from the index).
  // Collectors run one scrape at a time, in registration order, and may call
  // the get_* functions; they must not call add_collector() or expose().
  void add_collector(std::function<void(registry&)> fn);

  // Prometheus text format 0.0.4: families sorted by name, one # HELP and
  // # TYPE line each, series sorted by labels; histograms as cumulative
  // name_bucket{...,le="<bound>"} lines ending in le="+Inf", then name_sum and
  // name_count. Help text escapes \ and newline; label values escape \, " and
  // newline.
  [[nodiscard]] std::string expose();

 private:
  enum class kind { counter, gauge, histogram };
  struct family;
  // The series `name`{l}, created on first use; the caller holds mutex_.
  // `bounds` is used by histograms only and is already normalized.
  template <class Metric>
  Metric& find_or_create(std::string_view name, std::string_view help, kind k, const labels& l,
                         const std::vector<double>& bounds);

  std::mutex mutex_;  // guards families_
  std::map<std::string, std::unique_ptr<family>, std::less<>> families_;
  std::mutex scrape_mutex_;  // guards collectors_; held for a whole expose()
  std::vector<std::function<void(registry&)>> collectors_;
};

}  // namespace regcache::metrics

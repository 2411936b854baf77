#include "regcache/metrics/registry.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

namespace regcache::metrics {
namespace {

TEST(registry, empty_registry_exposes_nothing) {
  registry r;
  EXPECT_EQ(r.expose(), "");
}

TEST(registry, counter_and_gauge_exposition) {
  registry r;
  r.get_counter("regcache_requests_total", "Requests served.").inc(3);
  auto& g = r.get_gauge("regcache_connections", "Open client connections.");
  g.set(10);
  g.add(-4);
  EXPECT_EQ(r.expose(),
            "# HELP regcache_connections Open client connections.\n"
            "# TYPE regcache_connections gauge\n"
            "regcache_connections 6\n"
            "# HELP regcache_requests_total Requests served.\n"
            "# TYPE regcache_requests_total counter\n"
            "regcache_requests_total 3\n");
}

TEST(registry, one_help_and_type_per_family_series_sorted_by_labels) {
  registry r;
  r.get_counter("hits_total", "Cache hits.", {{"upstream", "ghcr.io"}, {"kind", "blob"}}).inc(2);
  r.get_counter("hits_total", "ignored: a family keeps its first help", {{"kind", "blob"}, {"upstream", "docker.io"}})
      .inc();
  r.get_counter("hits_total", "Cache hits.", {{"kind", "manifest"}, {"upstream", "docker.io"}}).inc(5);
  EXPECT_EQ(r.expose(),
            "# HELP hits_total Cache hits.\n"
            "# TYPE hits_total counter\n"
            "hits_total{kind=\"blob\",upstream=\"docker.io\"} 1\n"
            "hits_total{kind=\"blob\",upstream=\"ghcr.io\"} 2\n"
            "hits_total{kind=\"manifest\",upstream=\"docker.io\"} 5\n");
}

TEST(registry, same_name_and_labels_return_the_same_metric_whatever_the_label_order) {
  registry r;
  auto& a = r.get_counter("c_total", "h", {{"a", "1"}, {"b", "2"}});
  auto& b = r.get_counter("c_total", "h", {{"b", "2"}, {"a", "1"}});
  auto& other = r.get_counter("c_total", "h", {{"a", "1"}, {"b", "3"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &other);
  EXPECT_EQ(&r.get_gauge("g", "h"), &r.get_gauge("g", "h"));
}

TEST(registry, references_stay_valid_as_the_registry_grows) {
  registry r;
  auto& first = r.get_counter("first_total", "h", {{"n", "0"}});
  for (int i = 1; i < 1000; ++i) r.get_counter("first_total", "h", {{"n", std::to_string(i)}}).inc();
  for (int i = 0; i < 100; ++i) r.get_gauge("g" + std::to_string(i), "h").set(i);
  first.inc(7);
  EXPECT_EQ(r.get_counter("first_total", "h", {{"n", "0"}}).value(), 7u);
}

TEST(registry, escapes_label_values_and_help) {
  registry r;
  r.get_gauge("g", "line one\nback\\slash \"quotes\" stay", {{"path", "a\\b\"c\nd"}}).set(-1);
  EXPECT_EQ(r.expose(),
            "# HELP g line one\\nback\\\\slash \"quotes\" stay\n"
            "# TYPE g gauge\n"
            "g{path=\"a\\\\b\\\"c\\nd\"} -1\n");
}

TEST(registry, histogram_buckets_are_cumulative) {
  registry r;
  auto& h = r.get_histogram("latency_seconds", "Request latency.", {0.1, 0.5, 1});
  for (const double v : {0.05, 0.1, 0.3, 0.7, 2.0, 3.0}) h.observe(v);
  EXPECT_EQ(r.expose(),
            "# HELP latency_seconds Request latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{le=\"0.1\"} 2\n"
            "latency_seconds_bucket{le=\"0.5\"} 3\n"
            "latency_seconds_bucket{le=\"1\"} 4\n"
            "latency_seconds_bucket{le=\"+Inf\"} 6\n"
            "latency_seconds_sum 6.15\n"
            "latency_seconds_count 6\n");
  EXPECT_EQ(h.count(), 6u);
  EXPECT_EQ(h.cumulative_counts(), (std::vector<std::uint64_t>{2, 3, 4, 6}));
}

TEST(registry, histogram_with_labels_puts_le_last) {
  registry r;
  r.get_histogram("fill_seconds", "Upstream fill time.", {1}, {{"upstream", "docker.io"}}).observe(0.5);
  EXPECT_EQ(r.expose(),
            "# HELP fill_seconds Upstream fill time.\n"
            "# TYPE fill_seconds histogram\n"
            "fill_seconds_bucket{upstream=\"docker.io\",le=\"1\"} 1\n"
            "fill_seconds_bucket{upstream=\"docker.io\",le=\"+Inf\"} 1\n"
            "fill_seconds_sum{upstream=\"docker.io\"} 0.5\n"
            "fill_seconds_count{upstream=\"docker.io\"} 1\n");
}

TEST(histogram, bounds_are_sorted_deduplicated_and_inf_is_implicit) {
  histogram h({5, 1, std::numeric_limits<double>::infinity(), 1, 0.25});
  EXPECT_EQ(h.bounds(), (std::vector<double>{0.25, 1, 5}));
  h.observe(std::nan(""));
  EXPECT_EQ(h.count(), 0u);
  h.observe(1e9);
  EXPECT_EQ(h.cumulative_counts(), (std::vector<std::uint64_t>{0, 0, 0, 1}));
  EXPECT_THROW(histogram({1, std::nan("")}), std::invalid_argument);
}

TEST(registry, histogram_family_keeps_its_buckets) {
  registry r;
  auto& a = r.get_histogram("h_seconds", "h", {1, 2});
  EXPECT_EQ(&a, &r.get_histogram("h_seconds", "h", {2, 1, 2}));
  EXPECT_THROW((void)r.get_histogram("h_seconds", "h", {1, 3}), std::invalid_argument);
}

TEST(registry, misuse_throws_invalid_argument) {
  registry r;
  (void)r.get_counter("taken", "h");
  EXPECT_THROW((void)r.get_gauge("taken", "h"), std::invalid_argument);
  EXPECT_THROW((void)r.get_counter("1bad", "h"), std::invalid_argument);
  EXPECT_THROW((void)r.get_counter("bad-name", "h"), std::invalid_argument);
  EXPECT_THROW((void)r.get_counter("ok", "h", {{"bad-label", "v"}}), std::invalid_argument);
  EXPECT_THROW((void)r.get_counter("ok", "h", {{"__reserved", "v"}}), std::invalid_argument);
  EXPECT_THROW((void)r.get_counter("ok", "h", {{"a", "1"}, {"a", "2"}}), std::invalid_argument);
  EXPECT_THROW((void)r.get_histogram("hist", "h", {1}, {{"le", "1"}}), std::invalid_argument);
  EXPECT_NO_THROW((void)r.get_counter("ns:sub_name_2", "h", {{"_x9", ""}}));
}

TEST(registry, collectors_run_at_scrape_time) {
  registry r;
  std::int64_t cached_bytes = 100;
  r.add_collector([&cached_bytes](registry& reg) {
    reg.get_gauge("regcache_cached_bytes", "Bytes of committed blobs.").set(cached_bytes);
  });
  EXPECT_EQ(r.expose(),
            "# HELP regcache_cached_bytes Bytes of committed blobs.\n"
            "# TYPE regcache_cached_bytes gauge\n"
            "regcache_cached_bytes 100\n");
  cached_bytes = 250;
  EXPECT_NE(r.expose().find("regcache_cached_bytes 250\n"), std::string::npos);
}

TEST(registry, concurrent_increments_and_lookups_are_not_lost) {
  registry r;
  constexpr int threads = 8;
  constexpr int per_thread = 20'000;
  auto& shared = r.get_counter("shared_total", "h");
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&r, &shared, t] {
      auto& mine = r.get_counter("per_thread_total", "h", {{"thread", std::to_string(t % 2)}});
      auto& g = r.get_gauge("balance", "h");
      auto& h = r.get_histogram("obs_seconds", "h", {0.5});
      for (int i = 0; i < per_thread; ++i) {
        shared.inc();
        mine.inc();
        g.add(1);
        g.add(-1);
        h.observe(i % 2 == 0 ? 0.25 : 0.75);
        if (i % 1000 == 0) (void)r.expose();
      }
    });
  }
  for (auto& w : workers) w.join();
  EXPECT_EQ(shared.value(), std::uint64_t{threads} * per_thread);
  EXPECT_EQ(r.get_counter("per_thread_total", "h", {{"thread", "0"}}).value(),
            std::uint64_t{threads / 2} * per_thread);
  EXPECT_EQ(r.get_gauge("balance", "h").value(), 0);
  auto& h = r.get_histogram("obs_seconds", "h", {0.5});
  EXPECT_EQ(h.cumulative_counts(),
            (std::vector<std::uint64_t>{std::uint64_t{threads} * per_thread / 2, std::uint64_t{threads} * per_thread}));
  EXPECT_DOUBLE_EQ(h.sum(), threads * per_thread * 0.5);
}

}  // namespace
}  // namespace regcache::metrics

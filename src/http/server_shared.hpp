#pragma once
// Internal to the http module: what a server and all its connections share.
#include "regcache/http/exchange.hpp"
#include "regcache/http/server.hpp"
#include "regcache/metrics/registry.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <tuple>
#include <unordered_set>

namespace regcache::http {

class connection;

struct server_shared {
  server_shared(boost::asio::any_io_executor ex, std::vector<boost::asio::any_io_executor> w, server_options opts, handler h,
                metrics::registry& m)
      : executor(std::move(ex)), workers(std::move(w)), acceptor(executor), options(std::move(opts)), handle(std::move(h)), metrics(m),
        id_prefix(random_prefix()) {}

  static std::string random_prefix() {
    std::random_device rd;
    char buf[9];
    std::snprintf(buf, sizeof buf, "%08x", rd());
    return buf;
  }

  std::string next_request_id() {
    // "<8 hex of this process>-<hex counter>": unique per process lifetime, cheap.
    static constexpr char digits[] = "0123456789abcdef";
    auto n = ++request_counter;
    char counter[16];
    int i = 16;
    do {
      counter[--i] = digits[n & 0xf];
      n >>= 4;
    } while (n != 0 || i > 10);
    std::string id;
    id.reserve(id_prefix.size() + 1 + static_cast<std::size_t>(16 - i));
    id.append(id_prefix).append(1, '-').append(counter + i, static_cast<std::size_t>(16 - i));
    return id;
  }

  // The request counter and duration histogram of a (route, status) pair.
  // Looked up once per thread: the registry's lookup takes a lock and builds
  // label strings, too much for every request.
  struct request_series {
    metrics::counter* requests;
    metrics::histogram* duration;
  };
  request_series& series_for(std::string_view route, unsigned status) {
    using key = std::tuple<const metrics::registry*, const char*, unsigned>;
    thread_local std::map<key, request_series> cache;
    const key k{&metrics, route.data(), status};
    if (auto it = cache.find(k); it != cache.end()) return it->second;
    const std::string route_label(route);
    request_series series{
        &metrics.get_counter("regcache_requests_total", "HTTP requests answered, by route and status",
                             {{"route", route_label}, {"status", std::to_string(status)}}),
        &metrics.get_histogram("regcache_request_duration_seconds", "Time to answer a request, by route",
                               {0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120}, {{"route", route_label}})};
    return cache.emplace(k, series).first->second;
  }

  void record(const exchange& ex, std::string_view method, std::string_view target,
              std::chrono::steady_clock::duration took) {
    const double seconds = std::chrono::duration<double>(took).count();
    auto& series = series_for(ex.route(), ex.status());
    series.requests->inc();
    series.duration->observe(seconds);
    if (options.access_log) {
      spdlog::info("request id={} method={} path={} proto={} status={} bytes={} duration_ms={:.3f} cache={}{}",
                   ex.request_id(), method, target, ex.protocol(), ex.status(), ex.body_bytes(), seconds * 1000.0,
                   ex.cache_outcome(), ex.aborted() ? " aborted=true" : "");
    }
  }

  boost::asio::any_io_executor next_worker() { return workers[next_worker_index++ % workers.size()]; }

  boost::asio::any_io_executor executor;
  std::vector<boost::asio::any_io_executor> workers;
  std::size_t next_worker_index = 0;  // only the accept loop touches it
  boost::asio::ip::tcp::acceptor acceptor;
  server_options options;
  handler handle;
  metrics::registry& metrics;
  std::string id_prefix;
  std::atomic<std::uint64_t> request_counter{0};
  std::atomic<std::size_t> open{0};
  std::atomic<bool> draining{false};
  std::mutex connections_mutex;
  std::unordered_set<std::shared_ptr<connection>> connections;
};

// Runs the handler on `ex` and finishes what it left (an exception: 500, or
// the response aborted if its head went out; an incomplete response:
// aborted), then writes the access log line and the request metrics. Both
// protocols answer every request through it.
boost::asio::awaitable<void> answer(server_shared& shared, exchange& ex);

}  // namespace regcache::http

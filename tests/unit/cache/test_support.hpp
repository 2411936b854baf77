#pragma once
// An upstream registry inside the test process, for the cache's tests: it
// serves blobs and manifests by repository on 127.0.0.1 (port 0) from its
// own thread, GET (also with "Range: bytes=<n>-", answered 206) and HEAD,
// 404 for anything it does not hold, and records every request. A test can
// make it send a body only up to some offset until it releases more (a
// stalled or trickling upstream). Also the fixture the cache's tests share: a store and
// index in a temp directory, metrics, a manual clock and an io_context.
#include "regcache/cache/context.hpp"
#include "regcache/cache/upstream_source.hpp"
#include "regcache/core/clock.hpp"
#include "regcache/core/hasher.hpp"
#include "regcache/store/remover.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/read.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <limits>
#include <optional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace regcache::cache::testing {

class test_upstream {
 public:
  test_upstream() : acceptor_(ioc_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
    boost::asio::co_spawn(ioc_, accept_loop(), boost::asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~test_upstream() {
    ioc_.stop();
    thread_.join();
  }
  test_upstream(const test_upstream&) = delete;
  test_upstream& operator=(const test_upstream&) = delete;

  // Serves `content` as a blob of `repository`; returns its digest.
  core::digest add_blob(const std::string& repository, const std::string& content) {
    auto digest = core::hasher::of(content);
    add_wrong_blob(repository, digest, content);
    return digest;
  }
  // Serves `content` under `digest`, whatever it hashes to.
  void add_wrong_blob(const std::string& repository, const core::digest& digest, std::string content) {
    std::lock_guard lock(mutex_);
    blobs_["/v2/" + repository + "/blobs/" + digest.str()] = std::move(content);
  }
  // Serves `content` as the manifest `reference` (tag or digest) of
  // `repository`, without a Content-Type: its JSON mediaType tells.
  void add_manifest(const std::string& repository, const std::string& reference, std::string content) {
    std::lock_guard lock(mutex_);
    blobs_["/v2/" + repository + "/manifests/" + reference] = std::move(content);
  }
  // Body bytes at offsets from `offset` on wait until release() allows them.
  void hold_from(std::uint64_t offset) { allowed_ = offset; }
  void release(std::uint64_t more) { allowed_ += more; }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  // "GET /v2/..." or "HEAD /v2/...", with " range=<value>" when one was asked.
  std::vector<std::string> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::size_t count(const std::string& request) const {
    const auto seen = requests();
    return static_cast<std::size_t>(std::count(seen.begin(), seen.end(), request));
  }

  // An upstream_source that talks to this server from `executor`.
  std::shared_ptr<upstream_source> source(boost::asio::any_io_executor executor, metrics::registry& metrics) const {
    return source_at(port(), std::move(executor), metrics);
  }

  // An upstream_source for 127.0.0.1:<port>, anonymous, with short timeouts
  // (port 1 refuses every connection), its registry client configured with
  // `options` (the name is the source's).
  static std::shared_ptr<upstream_source> source_at(std::uint16_t port, boost::asio::any_io_executor executor,
                                                    metrics::registry& metrics,
                                                    upstream::registry_options options = {}) {
    upstream::client_options opts;
    opts.connect_timeout = std::chrono::seconds(2);
    opts.read_timeout = std::chrono::seconds(20);
    auto s = std::make_shared<upstream_source>();
    s->name = "127.0.0.1:" + std::to_string(port);
    options.name = s->name;
    std::vector clients{std::make_shared<upstream::client>(
        std::move(executor), upstream::endpoint{"http", "127.0.0.1", port, ""}, opts)};
    s->registry = std::make_shared<upstream::registry_client>(
        std::move(options), std::move(clients),
        std::make_shared<upstream::authenticator>(s->name, std::nullopt, opts), metrics);
    return s;
  }

 private:
  using tcp = boost::asio::ip::tcp;
  static constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);

  boost::asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
      if (ec) co_return;
      boost::asio::co_spawn(ioc_, serve(std::move(socket)), boost::asio::detached);
    }
  }

  boost::asio::awaitable<void> serve(tcp::socket socket) {
    namespace http = boost::beast::http;
    boost::beast::tcp_stream stream(std::move(socket));
    boost::beast::flat_buffer buffer;
    for (;;) {
      http::request<http::empty_body> req;
      auto [ec, n] = co_await http::async_read(stream, buffer, req, use_tuple);
      if (ec) co_return;
      const std::string target(req.target());
      const bool head = req.method() == http::verb::head;
      const std::string range(req[http::field::range]);
      std::optional<std::string> content;
      {
        std::lock_guard lock(mutex_);
        requests_.push_back((head ? "HEAD " : "GET ") + target + (range.empty() ? "" : " range=" + range));
        if (auto it = blobs_.find(target); it != blobs_.end()) content = it->second;
      }
      if (!content) {
        if (!co_await send(stream, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")) co_return;
        continue;
      }
      std::uint64_t first = 0;
      if (range.starts_with("bytes=")) first = std::stoull(range.substr(6));
      const auto size = content->size();
      std::string answer = first > 0 ? "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes " + std::to_string(first) +
                                           "-" + std::to_string(size - 1) + "/" + std::to_string(size) + "\r\n"
                                     : std::string("HTTP/1.1 200 OK\r\n");
      answer += "Content-Length: " + std::to_string(size - first) + "\r\n\r\n";
      if (!co_await send(stream, answer)) co_return;
      if (head) continue;
      if (!co_await send_body(stream, *content, first)) co_return;
    }
  }

  // Sends content[offset..], no further than release() allows at any time.
  boost::asio::awaitable<bool> send_body(boost::beast::tcp_stream& stream, const std::string& content,
                                         std::uint64_t offset) {
    boost::asio::steady_timer poll(co_await boost::asio::this_coro::executor);
    while (offset < content.size()) {
      const auto until = std::min<std::uint64_t>(content.size(), allowed_.load());
      if (until <= offset) {
        poll.expires_after(std::chrono::milliseconds(2));
        auto [ec] = co_await poll.async_wait(use_tuple);
        if (ec) co_return false;
        continue;
      }
      if (!co_await send(stream, content.substr(offset, until - offset))) co_return false;
      offset = until;
    }
    co_return true;
  }

  static boost::asio::awaitable<bool> send(boost::beast::tcp_stream& stream, std::string bytes) {
    auto [ec, n] = co_await boost::asio::async_write(stream, boost::asio::buffer(bytes), use_tuple);
    co_return !ec;
  }

  boost::asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::atomic<std::uint64_t> allowed_{std::numeric_limits<std::uint64_t>::max()};
  mutable std::mutex mutex_;
  std::map<std::string, std::string> blobs_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

template <class T>
boost::asio::awaitable<void> store_into(boost::asio::awaitable<T> task, std::optional<T>* out) {
  out->emplace(co_await std::move(task));
}

class cache_fixture : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<unsigned> counter{0};
    root_ = std::filesystem::temp_directory_path() /
            ("regcache-cache-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    blobs_ = store::blob_store::open(root_).value();
    index_ = store::index::open(root_ / "index").value();
    remover_ = std::make_unique<store::remover>(*blobs_, *index_);
    metrics_ = std::make_unique<cache_metrics>(registry_);
    source_ = upstream_.source(ioc_.get_executor(), registry_);
  }
  void TearDown() override {
    source_.reset();
    remover_.reset();
    index_.reset();
    std::filesystem::remove_all(root_);
  }
  context make_context() {
    return context{blobs_, index_.get(), metrics_.get(), &clock_, ioc_.get_executor(), remover_.get()};
  }

  // Runs the io_context until `task` is done (co_spawn wants a
  // default-constructible result, which result<T> is not).
  template <class T>
  T run(boost::asio::awaitable<T> task) {
    std::optional<T> out;
    auto done = boost::asio::co_spawn(ioc_, store_into(std::move(task), &out), boost::asio::use_future);
    ioc_.restart();
    while (done.wait_for(std::chrono::seconds(0)) != std::future_status::ready) ioc_.run_one();
    done.get();
    return std::move(*out);
  }
  // Runs the io_context until `done()` holds, at most `limit` long.
  template <class Predicate>
  bool run_until(Predicate done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto until = std::chrono::steady_clock::now() + limit;
    ioc_.restart();
    while (!done()) {
      if (std::chrono::steady_clock::now() > until) return false;
      ioc_.run_for(std::chrono::milliseconds(5));
      ioc_.restart();
    }
    return true;
  }

  test_upstream upstream_;
  std::filesystem::path root_;
  boost::asio::io_context ioc_;
  core::manual_clock clock_;
  metrics::registry registry_;
  std::unique_ptr<cache_metrics> metrics_;
  std::shared_ptr<store::blob_store> blobs_;
  std::unique_ptr<store::index> index_;
  std::unique_ptr<store::remover> remover_;
  std::shared_ptr<upstream_source> source_;
};

}  // namespace regcache::cache::testing

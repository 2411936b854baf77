#include "regcache/scan/scanner.hpp"

#include "regcache/core/hasher.hpp"
#include "regcache/scan/errc.hpp"
#include "regcache/scan/webhook.hpp"
#include "regcache/store/blob_store.hpp"
#include "regcache/store/remover.hpp"
#include "unit/core/temp_dir.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <mutex>
#include <thread>

namespace regcache::scan {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using store::scan_verdict;

constexpr std::string_view image_manifest = "application/vnd.oci.image.manifest.v1+json";

core::digest digest_of(std::string_view text) { return core::hasher::of(text, core::digest::algorithm::sha256); }

class scanner_test : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::index::open(dir_.path() / "index");
    ASSERT_TRUE(opened) << opened.error().message();
    index_ = std::move(*opened);
  }
  // The digest of `text`, with a manifests row under it: the scanner keeps
  // verdicts only for manifests still in the cache.
  core::digest cached(std::string_view text) {
    const auto d = digest_of(text);
    EXPECT_FALSE(index_->put_manifest(d, {std::string(image_manifest), std::string(text), 1, 1}));
    return d;
  }

  void TearDown() override {
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  // A scanner script: fails digests listed in `bad`, errors for `broken`,
  // waits `delay` first; refuses to run while another scan runs (parallelism).
  std::string script(std::string body) {
    const auto path = dir_.path() / ("scanner-" + std::to_string(scripts_++) + ".sh");
    std::ofstream(path) << "#!/bin/sh\n" << body;
    ::chmod(path.c_str(), 0755);
    return path.string();
  }

  // A scanner running `command`, or asking the webhook at `webhook` (5 s timeout), on the fixture's io thread.
  std::unique_ptr<scanner> make(std::vector<std::string> command, scan_mode mode = scan_mode::enforce,
                                std::size_t parallelism = 2, std::chrono::milliseconds wait_bound = 5s,
                                std::string webhook = {}) {
    scanner_options options;
    options.command = std::move(command);
    options.webhook = std::move(webhook);
    options.mode = mode;
    options.parallelism = parallelism;
    options.timeout = 5s;
    options.wait_bound = wait_bound;
    auto s = std::make_unique<scanner>(options, *index_, metrics_, clock_, io_.get_executor());
    s->set_pull_endpoint({"127.0.0.1:5000", "docker.io"});
    if (!thread_.joinable()) thread_ = std::thread([this] { io_.run(); });
    return s;
  }
  std::unique_ptr<scanner> make_webhook(std::string url, std::chrono::milliseconds wait_bound = 5s) {
    return make({}, scan_mode::enforce, 2, wait_bound, std::move(url));
  }

  std::optional<refusal> admit(scanner& s, const core::digest& d, std::string_view media_type = image_manifest) {
    return asio::co_spawn(io_, s.admit("docker.io", "library/alpine", d, std::string(media_type)), asio::use_future)
        .get();
  }

  // Polls until the index holds a verdict for d.
  std::optional<store::scan_record> stored(const core::digest& d) {
    for (int i = 0; i < 500; ++i) {
      auto row = index_->get_scan(d);
      if (row && *row) return **row;
      std::this_thread::sleep_for(10ms);
    }
    return std::nullopt;
  }

  regcache::testing::temp_dir dir_;
  std::unique_ptr<store::index> index_;
  metrics::registry metrics_;
  core::manual_clock clock_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{io_.get_executor()};
  std::thread thread_;
  int scripts_ = 0;
};

TEST_F(scanner_test, a_stored_manifest_is_scanned_once_and_its_verdict_kept) {
  const auto good = cached("good");
  const auto log = dir_.path() / "runs";
  auto s = make({script("echo \"$REGCACHE_IMAGE $REGCACHE_PULL_URL\" >> " + log.string() +
                        "; echo clean; echo 'report: /reports/1'; exit 0")});
  s->manifest_stored("docker.io", "library/alpine", good, std::string(image_manifest));
  const auto row = stored(good);
  ASSERT_TRUE(row);
  EXPECT_EQ(row->verdict, scan_verdict::pass);
  EXPECT_EQ(row->summary, "clean");
  EXPECT_EQ(row->report, "/reports/1");
  EXPECT_EQ(row->image, "docker.io/library/alpine@" + good.str());
  EXPECT_EQ(row->scanned_ms, core::to_unix_ms(clock_.now()));
  // Stored again (evicted and refetched elsewhere): the verdict stands.
  s->manifest_stored("docker.io", "library/alpine", good, std::string(image_manifest));
  EXPECT_FALSE(admit(*s, good));
  std::ifstream runs(log);
  std::string line, all;
  int count = 0;
  while (std::getline(runs, line)) {
    ++count;
    all = line;
  }
  EXPECT_EQ(count, 1);
  EXPECT_TRUE(all.starts_with("docker.io/library/alpine@" + good.str() + " 127.0.0.1:5000/regcache-scan-")) << all;
  EXPECT_TRUE(all.ends_with("/library/alpine@" + good.str())) << all;
  EXPECT_EQ(s->passes().size(), 0u);  // revoked once the scan ended
}

TEST_F(scanner_test, a_manifest_that_leaves_the_cache_takes_its_verdict_along) {
  const auto log = dir_.path() / "runs";
  auto s = make({script("echo scanned >> " + log.string() + "; echo clean; exit 0")});
  auto blobs = store::blob_store::open(dir_.path() / "blobs");
  ASSERT_TRUE(blobs);
  store::remover remover{**blobs, *index_};
  remover.add_listener(*s);
  const auto d = cached("evicted");
  s->manifest_stored("docker.io", "library/alpine", d, std::string(image_manifest));
  ASSERT_TRUE(stored(d));
  ASSERT_TRUE(remover.remove_manifest(d));
  EXPECT_FALSE(s->verdict_of(d));
  EXPECT_FALSE(index_->get_scan(d)->has_value());
  // Cached again: scanned again.
  cached("evicted");
  s->manifest_stored("docker.io", "library/alpine", d, std::string(image_manifest));
  ASSERT_TRUE(stored(d));
  std::ifstream runs(log);
  std::string line;
  int count = 0;
  while (std::getline(runs, line)) ++count;
  EXPECT_EQ(count, 2);
}

TEST_F(scanner_test, a_verdict_reached_after_the_manifest_left_is_dropped) {
  const auto gone = digest_of("never cached");
  auto s = make({script("echo clean; exit 0")});
  auto verdict = asio::co_spawn(io_, s->scan_now({"docker.io", "library/alpine", gone}), asio::use_future).get();
  EXPECT_FALSE(verdict);
  EXPECT_FALSE(index_->get_scan(gone)->has_value());
  EXPECT_FALSE(s->verdict_of(gone));
}

TEST_F(scanner_test, enforce_refuses_a_failed_manifest_with_the_summary_and_warn_serves_it) {
  const auto bad = cached("bad");
  auto s = make({script("echo 'marker file found: /etc/evil'; exit 1")});
  auto refused = admit(*s, bad);  // waits for the verdict (block_until_scanned)
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->reason, errc::failed);
  EXPECT_EQ(refused->summary, "marker file found: /etc/evil");
  s.reset();
  auto warn = make({script("exit 0")}, scan_mode::warn);
  EXPECT_FALSE(admit(*warn, bad));  // the stored fail is served in warn mode
  EXPECT_EQ(warn->verdict_of(bad)->verdict, scan_verdict::fail);
  EXPECT_EQ(metrics_.get_counter("regcache_scan_gate_total", "", {{"action", "warned"}}).value(), 1u);
  EXPECT_EQ(metrics_.get_counter("regcache_scan_verdicts_total", "", {{"verdict", "fail"}}).value(), 1u);
}

TEST_F(scanner_test, a_pending_scan_answers_not_scanned_after_the_wait_bound) {
  const auto slow = cached("slow");
  auto s = make({script("sleep 3; exit 0")}, scan_mode::enforce, 2, 200ms);
  auto refused = admit(*s, slow);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->reason, errc::not_scanned);
  EXPECT_EQ(refused->summary, "its scan has not finished");
  EXPECT_EQ(s->running(), 1u);
  ASSERT_TRUE(stored(slow));
  EXPECT_FALSE(admit(*s, slow));
}

TEST_F(scanner_test, without_block_until_scanned_a_pending_manifest_is_served) {
  scanner_options options;
  options.command = {script("sleep 3; exit 0")};
  options.mode = scan_mode::enforce;
  options.block_until_scanned = false;
  thread_ = std::thread([this] { io_.run(); });
  scanner s(options, *index_, metrics_, clock_, io_.get_executor());
  EXPECT_FALSE(admit(s, cached("pending")));
  EXPECT_EQ(s.running(), 1u);
}

TEST_F(scanner_test, an_error_counts_as_not_scanned_and_is_retried_later) {
  const auto flaky = cached("flaky");
  const auto marker = dir_.path() / "second-run";
  // Errors the first time, passes afterwards.
  auto s = make({script("if [ -e " + marker.string() + " ]; then exit 0; fi; touch " + marker.string() +
                        "; echo 'no database' >&2; exit 2")});
  auto refused = admit(*s, flaky);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->reason, errc::not_scanned);
  EXPECT_EQ(refused->summary, "its last scan ended in error (the scanner exited with status 2: no database)");
  // Before retry_errors_after, no new scan: refused at once.
  refused = admit(*s, flaky);
  ASSERT_TRUE(refused);
  EXPECT_EQ(s->running(), 0u);
  clock_.advance(31s);
  EXPECT_FALSE(admit(*s, flaky));
  EXPECT_EQ(s->verdict_of(flaky)->verdict, scan_verdict::pass);
}

TEST_F(scanner_test, indexes_are_neither_scanned_nor_refused) {
  auto s = make({script("exit 1")});
  const auto index_digest = cached("index");
  s->manifest_stored("docker.io", "library/alpine", index_digest, "application/vnd.oci.image.index.v1+json");
  EXPECT_FALSE(admit(*s, index_digest, "application/vnd.oci.image.index.v1+json"));
  EXPECT_EQ(s->running(), 0u);
  EXPECT_FALSE(s->verdict_of(index_digest));
}

TEST_F(scanner_test, at_most_parallelism_scans_run_at_once) {
  const auto lock = dir_.path() / "running";
  // mkdir is atomic: a second scan running meanwhile errors.
  auto s = make({script("mkdir " + lock.string() + " || exit 3; sleep 0.1; rmdir " + lock.string() + "; exit 0")},
                scan_mode::enforce, 1);
  std::vector<core::digest> digests;
  for (int i = 0; i < 4; ++i) {
    digests.push_back(cached("image " + std::to_string(i)));
    s->manifest_stored("docker.io", "library/alpine", digests.back(), std::string(image_manifest));
  }
  EXPECT_LE(s->running(), 1u);
  for (const auto& d : digests) {
    const auto row = stored(d);
    ASSERT_TRUE(row);
    EXPECT_EQ(row->verdict, scan_verdict::pass) << row->summary;
  }
}

TEST_F(scanner_test, scan_now_replaces_a_verdict) {
  const auto d = cached("rescanned");
  const auto verdict_file = dir_.path() / "verdict";
  std::ofstream(verdict_file) << "1";
  auto s = make({script("echo run; exit $(cat " + verdict_file.string() + ")")});
  auto first = asio::co_spawn(io_, s->scan_now({"docker.io", "library/alpine", d}), asio::use_future).get();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->verdict, scan_verdict::fail);
  std::ofstream(verdict_file) << "0";
  clock_.advance(1s);
  auto second = asio::co_spawn(io_, s->scan_now({"docker.io", "library/alpine", d}), asio::use_future).get();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->verdict, scan_verdict::pass);
  EXPECT_FALSE(admit(*s, d));
}

TEST_F(scanner_test, the_pull_reference_names_the_upstream_unless_it_is_the_default) {
  auto s = make({script("exit 0")});
  const auto d = cached("x");
  EXPECT_EQ(s->pull_reference({"docker.io", "library/alpine", d}, "tok"),
            "127.0.0.1:5000/regcache-scan-tok/library/alpine@" + d.str());
  EXPECT_EQ(s->pull_reference({"ghcr.io", "org/app", d}, "tok"),
            "127.0.0.1:5000/regcache-scan-tok/ghcr.io/org/app@" + d.str());
}

TEST_F(scanner_test, a_late_verdict_is_taken_only_for_an_awaited_scan) {
  auto s = make({script("exit 0")});
  EXPECT_EQ(s->accept_verdict(cached("nothing awaited"), {scan_verdict::pass, "", ""}), errc::not_awaiting);
}

// A webhook on loopback: answers every POST with `answer` (a whole HTTP
// response) and keeps the request bodies.
class fake_webhook {
 public:
  explicit fake_webhook(std::string answer) : answer_(std::move(answer)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), len), 0);
    EXPECT_EQ(::listen(listener_, 8), 0);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~fake_webhook() {
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/scan"; }
  std::vector<std::string> bodies() {
    std::lock_guard lock(mutex_);
    return bodies_;
  }

 private:
  void serve() {
    for (;;) {
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      std::string request;
      char buf[4096];
      std::size_t wanted = std::string::npos;
      while (request.size() < wanted) {
        const auto n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        request.append(buf, static_cast<std::size_t>(n));
        const auto end = request.find("\r\n\r\n");
        if (end != std::string::npos && wanted == std::string::npos) {
          const auto at = request.find("Content-Length: ");
          wanted = end + 4 + (at == std::string::npos ? 0 : std::stoul(request.substr(at + 16)));
        }
      }
      {
        std::lock_guard lock(mutex_);
        bodies_.push_back(request.substr(request.find("\r\n\r\n") + 4));
      }
      EXPECT_EQ(::write(fd, answer_.data(), answer_.size()), static_cast<ssize_t>(answer_.size()));
      ::close(fd);
    }
  }

  std::string answer_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> bodies_;
};

std::string http_answer(std::string status, std::string body) {
  return "HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

TEST_F(scanner_test, a_webhook_answers_the_verdict_at_once) {
  fake_webhook hook(http_answer("200 OK", R"({"verdict":"fail","summary":"2 critical","report":"https://s/r/1"})"));
  auto hooked = make_webhook(hook.url());
  auto& s = *hooked;
  const auto d = cached("hooked");
  auto refused = admit(s, d);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->reason, errc::failed);
  EXPECT_EQ(refused->summary, "2 critical");
  EXPECT_EQ(s.verdict_of(d)->report, "https://s/r/1");
  ASSERT_EQ(hook.bodies().size(), 1u);
  const auto body = boost::json::parse(hook.bodies()[0]).as_object();
  EXPECT_EQ(body.at("image").as_string(), "docker.io/library/alpine@" + d.str());
  EXPECT_EQ(body.at("digest").as_string(), d.str());
  EXPECT_TRUE(std::string(body.at("pull_url").as_string()).starts_with("127.0.0.1:5000/regcache-scan-"));
}

TEST_F(scanner_test, a_webhook_that_answers_202_posts_its_verdict_later) {
  fake_webhook hook(http_answer("202 Accepted", ""));
  auto hooked = make_webhook(hook.url(), 300ms);
  auto& s = *hooked;
  const auto d = cached("later");
  auto refused = admit(s, d);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->reason, errc::not_scanned);
  EXPECT_EQ(s.running(), 0u);  // the slot is free while the verdict is awaited
  EXPECT_EQ(s.passes().size(), 1u);  // the pass stays valid meanwhile
  EXPECT_FALSE(s.accept_verdict(d, {scan_verdict::pass, "clean", ""}));
  EXPECT_FALSE(admit(s, d));
  EXPECT_EQ(s.passes().size(), 0u);
  EXPECT_EQ(s.accept_verdict(d, {scan_verdict::fail, "", ""}), errc::not_awaiting);
}

TEST_F(scanner_test, a_webhook_failing_is_an_error_verdict) {
  fake_webhook hook(http_answer("500 Internal Server Error", "{}"));
  auto hooked = make_webhook(hook.url());
  auto refused = admit(*hooked, cached("broken hook"));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->reason, errc::not_scanned);
  EXPECT_EQ(refused->summary, "its last scan ended in error (the scan webhook answered 500)");
}

TEST(scan_webhook, verdict_bodies_parse) {
  auto v = parse_verdict(R"({"verdict":"fail","summary":"2 critical","report":"https://s/r/9"})");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->verdict, scan_verdict::fail);
  EXPECT_EQ(v->summary, "2 critical");
  EXPECT_EQ(v->report, "https://s/r/9");
  v = parse_verdict(R"({"verdict":"pass"})");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->verdict, scan_verdict::pass);
  EXPECT_EQ(parse_verdict(R"({"verdict":"maybe"})").error(), errc::webhook_failed);
  EXPECT_EQ(parse_verdict(R"({"verdict":"pass","summary":3})").error(), errc::webhook_failed);
  EXPECT_EQ(parse_verdict("[]").error(), errc::webhook_failed);
  EXPECT_EQ(parse_verdict("{").error(), errc::webhook_failed);
}

}  // namespace
}  // namespace regcache::scan

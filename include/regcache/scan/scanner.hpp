#pragma once
// The scan gate: every manifest that enters the cache is scanned once, in
// the background, by scan.command (command_runner.hpp) or scan.webhook
// (webhook.hpp), at most `parallelism` at a time; the verdict is kept per
// digest in the index's `scans` family and in memory, and decides whether
// the registry handler serves the manifest.
//
// A digest's life in the scanner:
//
//   unknown ──(manifest_stored, admit, scan_now)──▶ queued ──▶ running ──▶ verdict
//                                                                │ 202
//                                                                ▼
//                                  awaiting (the webhook's POST, until timeout) ──▶ verdict
//
//   verdict pass | fail      kept until the manifest leaves the cache (its row goes with it)
//   verdict error            counts as not scanned; queued again by the next admit or
//                            manifest_stored once retry_errors_after passed
//
// Image indexes (and Docker manifest lists) are not scanned and never
// refused: they hold no layers, and each platform manifest a client then
// fetches by digest is scanned and gated itself.
//
// The gate (admit), by scan.mode:
//   off       nothing is scanned, everything served (enabled() is false:
//             the registry handler then never calls in)
//   warn      everything served; a failed manifest is logged and counted
//   enforce   fail → scan::errc::failed (403 DENIED with the summary);
//             no verdict or error → with block_until_scanned, the request
//             waits for the verdict up to wait_bound, then
//             scan::errc::not_scanned (503 with Retry-After); without it,
//             served
//
// Thread-safety: all members may be called from any thread. Commands run
// on the scanner's own threads (one per parallelism), webhooks on `io`.
// stop() (and the destructor) kills running commands and joins them.
#include "regcache/core/clock.hpp"
#include "regcache/core/digest.hpp"
#include "regcache/core/wake_list.hpp"
#include "regcache/metrics/registry.hpp"
#include "regcache/scan/command_runner.hpp"
#include "regcache/scan/pull_pass.hpp"
#include "regcache/store/index.hpp"
#include "regcache/store/remover.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace regcache::scan {

enum class scan_mode { enforce, warn, off };

struct scanner_options {
  std::vector<std::string> command;  // argv, or empty with a webhook
  std::string webhook;               // URL, or empty with a command
  scan_mode mode = scan_mode::off;
  bool block_until_scanned = true;
  std::size_t parallelism = 2;
  std::chrono::milliseconds timeout{600'000};
  // When an error verdict may be retried.
  std::chrono::milliseconds retry_errors_after{30'000};
  // How long a request waits for a verdict under block_until_scanned (at
  // most `timeout`).
  std::chrono::milliseconds wait_bound{20'000};
};

// Where scanners pull from: regcache's registry listener as host:port, and
// the upstream a path without a registry host goes to.
struct pull_endpoint {
  std::string host;
  std::string default_upstream;
};

struct scan_target {
  std::string upstream;
  std::string repository;
  core::digest digest;
};

// Why admit() refuses: the reason (scan::errc) and the scanner's summary.
struct refusal {
  error_code reason;
  std::string summary;
};

// Also a removal listener (store/remover.hpp): a manifest that leaves the
// cache takes its verdict along (its `scans` row goes in the same batch), so
// that the digest is scanned again if it comes back.
class scanner : public store::removal_listener {
 public:
  scanner(scanner_options options, store::index& index, metrics::registry& metrics, const core::clock& clock,
          boost::asio::any_io_executor io);
  ~scanner();
  scanner(const scanner&) = delete;
  scanner& operator=(const scanner&) = delete;

  // Whether the gate is on (scan.mode is not off): the one check the hot path pays.
  [[nodiscard]] bool enabled() const noexcept { return enabled_; }
  [[nodiscard]] const scanner_options& options() const noexcept { return options_; }

  // Set once the listeners are bound, before requests arrive.
  void set_pull_endpoint(pull_endpoint endpoint);
  // The pull reference of a pass (pull_pass.hpp's format).
  [[nodiscard]] std::string pull_reference(const scan_target& target, const std::string& token) const;

  // A manifest entered the cache (a pull or a prefetch): queue its scan
  // unless it has a verdict (or is an index).
  void manifest_stored(std::string upstream, std::string repository, core::digest digest, std::string media_type);

  // The gate: nullopt = serve. See the header comment.
  boost::asio::awaitable<std::optional<refusal>> admit(std::string upstream, std::string repository,
                                                       core::digest digest, std::string media_type);

  // Runs a scan now (a verdict already there is replaced) and waits for its
  // verdict, at most timeout plus a second; nullopt when none came (a
  // webhook that answered 202 and has not posted yet).
  boost::asio::awaitable<std::optional<store::scan_record>> scan_now(scan_target target);

  // A webhook's later verdict for a digest it answered 202 for.
  // errc::not_awaiting when no such scan waits.
  [[nodiscard]] error_code accept_verdict(const core::digest& digest, scan_outcome outcome);

  // The verdict known for a digest (memory, then the index), without queueing.
  [[nodiscard]] std::optional<store::scan_record> verdict_of(const core::digest& digest);

  pull_passes& passes() noexcept { return passes_; }
  // Scans running now (tests and the in-flight gauge read it).
  [[nodiscard]] std::size_t running() const;

  // Kills running commands and joins them; idempotent.
  void stop();

  void manifest_removed(const core::digest& d) override;
  void blob_removed(const core::digest&, std::uint64_t) override {}
  void tag_removed(std::string_view, std::string_view, std::string_view) override {}

 private:
  enum class job_state { queued, running, awaiting };
  struct job {
    scan_target target;
    job_state state = job_state::queued;
    std::string token;
    std::chrono::steady_clock::time_point deadline{};  // awaiting: the webhook's POST is due
  };
  struct launch {
    scan_target target;
    std::string token;
  };

  // Queues a scan unless one is queued, running or awaited. Caller holds mutex_.
  void request_locked(const scan_target& target);
  // Starts queued scans while slots are free. Caller holds mutex_; the caller
  // launches the returned jobs after unlocking.
  std::vector<launch> start_next_locked();
  void launch_all(std::vector<launch> jobs);
  void run_command_job(launch job);
  boost::asio::awaitable<void> run_webhook_job(launch job);
  // A scan ended (`later`: the webhook answered 202).
  void finish(const scan_target& target, const std::string& token, scan_outcome outcome, bool later);
  void record_locked(const scan_target& target, const scan_outcome& outcome);
  // The verdict known now; queues a scan when none is usable (see the header).
  std::optional<store::scan_record> current_locked(const scan_target& target, bool queue);
  std::optional<store::scan_record> stored_locked(const core::digest& digest);
  void expire_awaiting_locked();

  const scanner_options options_;
  const bool enabled_;
  store::index& index_;
  const core::clock& clock_;
  boost::asio::any_io_executor io_;
  pull_passes passes_;
  pull_endpoint endpoint_;

  metrics::counter& passed_;
  metrics::counter& failed_;
  metrics::counter& errors_;
  metrics::counter& refused_;
  metrics::counter& refused_pending_;
  metrics::counter& warned_;
  metrics::gauge& in_flight_;
  metrics::gauge& queued_;

  mutable std::mutex mutex_;
  std::unordered_map<core::digest, store::scan_record> verdicts_;
  std::unordered_map<core::digest, job> jobs_;
  std::deque<core::digest> queue_;
  std::size_t running_ = 0;
  core::wake_list waiters_;

  std::atomic<bool> stopping_{false};
  // Where commands run; none with a webhook or with the gate off.
  std::unique_ptr<boost::asio::thread_pool> commands_;
};

[[nodiscard]] std::string_view verdict_name(store::scan_verdict verdict) noexcept;

}  // namespace regcache::scan

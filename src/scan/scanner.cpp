#include "regcache/scan/scanner.hpp"

#include "regcache/oci/media_type.hpp"
#include "regcache/scan/errc.hpp"
#include "regcache/scan/webhook.hpp"
#include "regcache/store/errc.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace regcache::scan {
namespace asio = boost::asio;
using store::scan_verdict;

namespace {

constexpr std::size_t max_remembered_verdicts = 100'000;

std::string image_of(const scan_target& target) {
  return target.upstream + "/" + target.repository + "@" + target.digest.str();
}

metrics::counter& verdict_counter(metrics::registry& r, std::string_view verdict) {
  return r.get_counter("regcache_scan_verdicts_total", "Scan verdicts reached, by verdict",
                       {{"verdict", std::string(verdict)}});
}

metrics::counter& gate_counter(metrics::registry& r, std::string_view action) {
  return r.get_counter("regcache_scan_gate_total",
                       "Manifest requests the scan gate refused (failed, not_scanned) or served with a warning (warned)",
                       {{"action", std::string(action)}});
}

}  // namespace

std::string_view verdict_name(scan_verdict verdict) noexcept {
  switch (verdict) {
    case scan_verdict::pass: return "pass";
    case scan_verdict::fail: return "fail";
    case scan_verdict::error: return "error";
  }
  return "error";
}

scanner::scanner(scanner_options options, store::index& index, metrics::registry& metrics, const core::clock& clock,
                 asio::any_io_executor io)
    : options_(std::move(options)),
      enabled_(options_.mode != scan_mode::off),
      index_(index),
      clock_(clock),
      io_(std::move(io)),
      passed_(verdict_counter(metrics, "pass")),
      failed_(verdict_counter(metrics, "fail")),
      errors_(verdict_counter(metrics, "error")),
      refused_(gate_counter(metrics, "failed")),
      refused_pending_(gate_counter(metrics, "not_scanned")),
      warned_(gate_counter(metrics, "warned")),
      in_flight_(metrics.get_gauge("regcache_scans_in_flight", "Scans running now")),
      queued_(metrics.get_gauge("regcache_scans_queued", "Scans waiting for a free slot (scan.parallelism)")),
      commands_(enabled_ && !options_.command.empty() ? std::make_unique<asio::thread_pool>(options_.parallelism)
                                                      : nullptr) {}

scanner::~scanner() { stop(); }

void scanner::stop() {
  stopping_.store(true);
  if (commands_) commands_->join();
}

void scanner::manifest_removed(const core::digest& d) {
  std::lock_guard lock(mutex_);
  verdicts_.erase(d);
}

void scanner::set_pull_endpoint(pull_endpoint endpoint) {
  std::lock_guard lock(mutex_);
  endpoint_ = std::move(endpoint);
}

std::string scanner::pull_reference(const scan_target& target, const std::string& token) const {
  std::lock_guard lock(mutex_);
  std::string name = target.repository;
  if (target.upstream != endpoint_.default_upstream) name = target.upstream + "/" + name;
  return endpoint_.host + "/" + std::string(pull_passes::path_prefix) + token + "/" + name + "@" +
         target.digest.str();
}

std::size_t scanner::running() const {
  std::lock_guard lock(mutex_);
  return running_;
}

std::optional<store::scan_record> scanner::stored_locked(const core::digest& digest) {
  if (auto it = verdicts_.find(digest); it != verdicts_.end()) return it->second;
  auto stored = index_.get_scan(digest);
  if (!stored || !*stored) return std::nullopt;
  if (verdicts_.size() >= max_remembered_verdicts) verdicts_.clear();
  verdicts_.emplace(digest, **stored);
  return **stored;
}

void scanner::expire_awaiting_locked() {
  const auto now = std::chrono::steady_clock::now();
  std::vector<scan_target> overdue;
  for (const auto& [digest, j] : jobs_)
    if (j.state == job_state::awaiting && now >= j.deadline) overdue.push_back(j.target);
  for (const auto& target : overdue) {
    passes_.revoke(jobs_.at(target.digest).token);
    jobs_.erase(target.digest);
    record_locked(target, {scan_verdict::error, "the scan webhook sent no verdict within scan.timeout", {}});
  }
  if (!overdue.empty()) waiters_.wake_all();
}

std::optional<store::scan_record> scanner::current_locked(const scan_target& target, bool queue) {
  expire_awaiting_locked();
  auto known = stored_locked(target.digest);
  if (!queue) return known;
  const auto now_ms = core::to_unix_ms(clock_.now());
  const bool retry_due = known && known->verdict == scan_verdict::error &&
                         now_ms - known->scanned_ms >= options_.retry_errors_after.count();
  if (!known || retry_due) request_locked(target);
  return known;
}

void scanner::request_locked(const scan_target& target) {
  if (jobs_.contains(target.digest) || stopping_.load()) return;
  jobs_.emplace(target.digest, job{target, job_state::queued, {}, {}});
  queue_.push_back(target.digest);
  queued_.set(static_cast<std::int64_t>(queue_.size()));
}

std::vector<scanner::launch> scanner::start_next_locked() {
  std::vector<launch> out;
  while (running_ < options_.parallelism && !queue_.empty() && !stopping_.load()) {
    const auto digest = queue_.front();
    queue_.pop_front();
    auto it = jobs_.find(digest);
    if (it == jobs_.end() || it->second.state != job_state::queued) continue;
    it->second.state = job_state::running;
    const auto& target = it->second.target;
    it->second.token = passes_.issue(target.upstream, target.repository, target.digest);
    ++running_;
    out.push_back({target, it->second.token});
  }
  queued_.set(static_cast<std::int64_t>(queue_.size()));
  in_flight_.set(static_cast<std::int64_t>(running_));
  return out;
}

void scanner::launch_all(std::vector<launch> jobs) {
  for (auto& j : jobs) {
    if (options_.command.empty()) asio::co_spawn(io_, run_webhook_job(std::move(j)), asio::detached);
    else asio::post(*commands_, std::bind(&scanner::run_command_job, this, std::move(j)));
  }
}

void scanner::run_command_job(launch job) {
  if (stopping_.load()) {
    finish(job.target, job.token, {scan_verdict::error, "stopped: regcache is shutting down", {}}, false);
    return;
  }
  const environment env{{"REGCACHE_IMAGE", image_of(job.target)},
                        {"REGCACHE_DIGEST", job.target.digest.str()},
                        {"REGCACHE_PULL_URL", pull_reference(job.target, job.token)}};
  auto outcome = run_command(options_.command, env, options_.timeout, stopping_);
  finish(job.target, job.token, std::move(outcome), false);
}

asio::awaitable<void> scanner::run_webhook_job(launch job) {
  webhook_request request{image_of(job.target), job.target.digest.str(), pull_reference(job.target, job.token)};
  auto reply = co_await post_webhook(options_.webhook, std::move(request), options_.timeout);
  finish(job.target, job.token, std::move(reply.outcome), reply.later);
}

void scanner::finish(const scan_target& target, const std::string& token, scan_outcome outcome, bool later) {
  std::vector<launch> next;
  {
    std::lock_guard lock(mutex_);
    --running_;
    auto it = jobs_.find(target.digest);
    if (later && it != jobs_.end()) {
      it->second.state = job_state::awaiting;
      it->second.deadline = std::chrono::steady_clock::now() + options_.timeout;
    } else {
      passes_.revoke(token);
      jobs_.erase(target.digest);
      record_locked(target, outcome);
      waiters_.wake_all();
    }
    next = start_next_locked();
  }
  launch_all(std::move(next));
}

void scanner::record_locked(const scan_target& target, const scan_outcome& outcome) {
  store::scan_record record{outcome.verdict, core::to_unix_ms(clock_.now()), image_of(target), outcome.summary,
                            outcome.report};
  // A manifest evicted or purged while it was scanned keeps no verdict, so
  // that the digest is scanned again if it comes back (manifest_removed
  // drops a verdict recorded before the removal).
  if (auto ec = index_.put_scan(target.digest, record); ec == store::errc::not_found) {
    spdlog::info("scan of {} ended after its manifest left the cache: verdict {} dropped", record.image,
                 verdict_name(outcome.verdict));
    verdicts_.erase(target.digest);
    return;
  } else if (ec) {
    spdlog::error("storing the scan verdict of {} failed (kept in memory): {}", record.image, ec.message());
  }
  if (verdicts_.size() >= max_remembered_verdicts) verdicts_.clear();
  verdicts_.insert_or_assign(target.digest, record);
  switch (outcome.verdict) {
    case scan_verdict::pass: passed_.inc(); break;
    case scan_verdict::fail: failed_.inc(); break;
    case scan_verdict::error: errors_.inc(); break;
  }
  const auto level = outcome.verdict == scan_verdict::pass ? spdlog::level::info : spdlog::level::warn;
  spdlog::log(level, "scan of {}: {}{}{}", record.image, verdict_name(outcome.verdict),
              outcome.summary.empty() ? "" : ": ", outcome.summary);
}

void scanner::manifest_stored(std::string upstream, std::string repository, core::digest digest,
                              std::string media_type) {
  if (!enabled_ || oci::is_index_media_type(media_type)) return;
  std::vector<launch> next;
  {
    std::lock_guard lock(mutex_);
    current_locked({std::move(upstream), std::move(repository), std::move(digest)}, true);
    next = start_next_locked();
  }
  launch_all(std::move(next));
}

asio::awaitable<std::optional<refusal>> scanner::admit(std::string upstream, std::string repository,
                                                       core::digest digest, std::string media_type) {
  if (!enabled_ || oci::is_index_media_type(media_type)) co_return std::nullopt;
  const scan_target target{std::move(upstream), std::move(repository), std::move(digest)};
  const auto image = image_of(target);
  const bool wait = options_.mode == scan_mode::enforce && options_.block_until_scanned;
  const auto deadline = std::chrono::steady_clock::now() + std::min(options_.wait_bound, options_.timeout);
  auto executor = co_await asio::this_coro::executor;
  std::optional<store::scan_record> known;
  for (;;) {
    std::vector<launch> next;
    core::wake_list::ticket ticket;
    {
      std::lock_guard lock(mutex_);
      known = current_locked(target, true);
      next = start_next_locked();
      // An error verdict not yet due for a retry has no scan to wait for.
      const bool pending = jobs_.contains(target.digest);
      if (pending && wait && std::chrono::steady_clock::now() < deadline) ticket = waiters_.park(executor);
    }
    launch_all(std::move(next));
    if (!ticket) break;
    co_await core::wake_list::wait(ticket);
  }
  if (known && known->verdict == scan_verdict::pass) co_return std::nullopt;
  if (known && known->verdict == scan_verdict::fail) {
    if (options_.mode == scan_mode::enforce) {
      refused_.inc();
      co_return refusal{errc::failed, known->summary};
    }
    warned_.inc();
    spdlog::warn("serving {} although it failed its scan (scan.mode warn): {}", image, known->summary);
    co_return std::nullopt;
  }
  if (!wait) co_return std::nullopt;
  refused_pending_.inc();
  if (known) co_return refusal{errc::not_scanned, "its last scan ended in error (" + known->summary + ")"};
  co_return refusal{errc::not_scanned, "its scan has not finished"};
}

asio::awaitable<std::optional<store::scan_record>> scanner::scan_now(scan_target target) {
  auto executor = co_await asio::this_coro::executor;
  const auto started_ms = core::to_unix_ms(clock_.now());
  const auto deadline = std::chrono::steady_clock::now() + options_.timeout + std::chrono::seconds(1);
  {
    std::vector<launch> next;
    {
      std::lock_guard lock(mutex_);
      request_locked(target);
      next = start_next_locked();
    }
    launch_all(std::move(next));
  }
  for (;;) {
    core::wake_list::ticket ticket;
    {
      std::lock_guard lock(mutex_);
      expire_awaiting_locked();
      const bool busy = jobs_.contains(target.digest);
      auto known = stored_locked(target.digest);
      // Not busy: the scan ended, with a verdict or with none kept (its
      // manifest left the cache meanwhile).
      if (!busy) co_return known && known->scanned_ms >= started_ms ? known : std::nullopt;
      if (std::chrono::steady_clock::now() >= deadline || stopping_.load()) co_return std::nullopt;
      ticket = waiters_.park(executor);
    }
    co_await core::wake_list::wait(ticket);
  }
}

error_code scanner::accept_verdict(const core::digest& digest, scan_outcome outcome) {
  std::vector<launch> next;
  {
    std::lock_guard lock(mutex_);
    auto it = jobs_.find(digest);
    if (it == jobs_.end() || it->second.state != job_state::awaiting) return errc::not_awaiting;
    const auto target = it->second.target;
    passes_.revoke(it->second.token);
    jobs_.erase(it);
    record_locked(target, outcome);
    waiters_.wake_all();
    next = start_next_locked();
  }
  launch_all(std::move(next));
  return {};
}

std::optional<store::scan_record> scanner::verdict_of(const core::digest& digest) {
  std::lock_guard lock(mutex_);
  expire_awaiting_locked();
  return stored_locked(digest);
}

}  // namespace regcache::scan

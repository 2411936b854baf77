#include "regcache/app/app.hpp"

#include "regcache/admin/handler.hpp"
#include "regcache/app/flags.hpp"
#include "regcache/app/readiness.hpp"
#include "regcache/app/signature_policy.hpp"
#include "regcache/app/upstreams.hpp"
#include "regcache/auth/gate.hpp"
#include "regcache/auth/secrets.hpp"
#include "regcache/cache/blob_cache.hpp"
#include "regcache/cache/discovery.hpp"
#include "regcache/cache/evictor.hpp"
#include "regcache/cache/fill_coordinator.hpp"
#include "regcache/cache/forgetter.hpp"
#include "regcache/cache/manifest_cache.hpp"
#include "regcache/cache/prefetcher.hpp"
#include "regcache/core/units.hpp"
#include "regcache/http/server.hpp"
#include "regcache/metrics/registry.hpp"
#include "regcache/oci/repository_glob.hpp"
#include "regcache/registry/handler.hpp"
#include "regcache/scan/scanner.hpp"
#include "regcache/store/blob_store.hpp"
#include "regcache/store/index.hpp"
#include "regcache/store/reconcile.hpp"
#include "regcache/store/remover.hpp"
#include "regcache/tls/server_context.hpp"
#include "regcache/trust/signature_gate.hpp"
#include "regcache/upstream/registry_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/fmt/chrono.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <csignal>
#include <cstdio>
#include <thread>

namespace regcache::app {

namespace asio = boost::asio;

namespace {

std::shared_ptr<store::blob_store> open_blobs(const config::config& cfg) {
  auto blobs = store::blob_store::open(cfg.storage.root);
  if (!blobs) throw startup_error("storage.root " + cfg.storage.root.string() + ": " + blobs.error().message());
  return std::move(*blobs);
}

// The index, reconciled with the files (a crash may have left either behind the other).
std::unique_ptr<store::index> open_index(const config::config& cfg, store::blob_store& blobs,
                                         const core::clock& clock) {
  const auto dir = cfg.storage.root / "index";
  auto index = store::index::open(dir);
  if (!index) throw startup_error("opening the index under " + dir.string() + ": " + index.error().message());
  // Nothing above the store is built yet: there is no one to tell of what
  // reconcile drops, and the cached_bytes gauge is measured afterwards.
  store::remover startup(blobs, **index);
  auto report = store::reconcile(startup, core::to_unix_ms(clock.now()));
  if (!report) throw startup_error("startup reconciliation failed: " + report.error().message());
  spdlog::info("storage {}: removed {} temp files, dropped {} index rows without files, indexed {} files, "
               "removed {} invalid files",
               cfg.storage.root.string(), report->temp_files_removed, report->rows_dropped, report->files_indexed,
               report->files_removed);
  return std::move(*index);
}

// The admin API's token, read now so that a bad file stops startup; null
// without admin.token_file (validate() allowed that on loopback only).
std::shared_ptr<admin::bearer_token> admin_token_of(const config::admin_config& admin) {
  if (!admin.enabled || admin.token_file.empty()) return nullptr;
  try {
    auto token = std::make_shared<admin::bearer_token>(admin.token_file);
    spdlog::info("admin API: bearer token required (admin.token_file {})", admin.token_file);
    return token;
  } catch (const std::runtime_error& e) {
    throw config::config_error("admin.token_file: " + std::string(e.what()));
  }
}

// One single-threaded io_context per thread: a connection lives on one
// thread, so its handlers never wake another one. Context 0 also runs the
// acceptors, signals, fills and background tasks.
//
// Handlers pending on one context hold objects of another (a connection's
// drain handler on a worker holds the server whose acceptor lives on context
// 0), so every context drops its pending handlers before any of them frees
// its services: shut_down() all, then destroy.
struct worker_context : asio::io_context {
  worker_context() : asio::io_context(1) {}
  void shut_down() { shutdown(); }
};

std::vector<std::unique_ptr<worker_context>> make_contexts(const config::server_config& server) {
  const unsigned threads = server.threads ? server.threads : std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::unique_ptr<worker_context>> contexts;
  for (unsigned i = 0; i < threads; ++i) contexts.push_back(std::make_unique<worker_context>());
  return contexts;
}

// server.hashing_threads; a download writes and hashes a piece there while
// the next one arrives, one piece at a time (fill_coordinator.hpp). None:
// on its own I/O thread. auto keeps a pool only where cores are to spare:
// on two, with the I/O threads already on both, a cold 256 MiB blob took
// 10-25% longer with the pool (a hand-off and about 8 context switches per
// piece) than without.
std::unique_ptr<asio::thread_pool> make_hashing_pool(const config::server_config& server) {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const unsigned threads = server.hashing_threads.value_or(cores <= 2 ? 0 : cores);
  if (threads == 0) return nullptr;
  return std::make_unique<asio::thread_pool>(threads);
}

std::vector<asio::any_io_executor> executors_of(const std::vector<std::unique_ptr<worker_context>>& contexts) {
  std::vector<asio::any_io_executor> executors;
  for (const auto& context : contexts) executors.push_back(context->get_executor());
  return executors;
}

cache::eviction_policy eviction_policy_of(const config::storage_config& storage) {
  cache::eviction_policy policy;
  try {
    policy.quota_bytes = config::resolve_quota(storage, storage.root);
  } catch (const config::config_error& e) {
    throw config::config_error(std::string("storage.quota: ") + e.what());
  }
  policy.min_free_bytes = config::resolve_min_free(storage, storage.root);
  policy.high_watermark = storage.high_watermark;
  policy.low_watermark = storage.low_watermark;
  policy.min_age = storage.min_age;
  policy.max_unused_age = storage.max_unused_age;
  spdlog::info("quota {} (evicting from {} down to {}), min_free {}, min_age {} s, max_unused_age {} s",
               core::format_bytes(policy.quota_bytes),
               core::format_bytes(static_cast<std::uint64_t>(policy.quota_bytes * policy.high_watermark)),
               core::format_bytes(static_cast<std::uint64_t>(policy.quota_bytes * policy.low_watermark)),
               policy.min_free_bytes > 0 ? core::format_bytes(policy.min_free_bytes) : std::string("off"),
               policy.min_age.count() / 1000, policy.max_unused_age.count() / 1000);
  return policy;
}

http::server_options server_options_of(const config::config& cfg, const std::string& listen) {
  const auto [address, port] = config::split_listen(listen);
  http::server_options options;
  options.address = address;
  options.port = port;
  options.max_header_bytes = cfg.server.max_header_bytes;
  options.idle_timeout = cfg.server.idle_timeout;
  options.header_timeout = cfg.server.header_timeout;
  options.read_timeout = cfg.server.read_timeout;
  options.write_timeout = cfg.server.write_timeout;
  options.max_connections = cfg.server.max_connections;
  options.access_log = cfg.log.access_log;
  const auto& h2 = cfg.server.http2;
  options.http2.enabled = h2.enabled;
  options.http2.connection_window = static_cast<std::uint32_t>(h2.connection_window);
  options.http2.stream_window = static_cast<std::uint32_t>(h2.stream_window);
  options.http2.max_concurrent_streams = h2.max_concurrent_streams;
  options.http2.max_header_list_size = static_cast<std::uint32_t>(h2.max_header_list_size);
  options.http2.reset_burst = h2.reset_burst;
  options.http2.reset_rate = h2.reset_rate;
  options.http2.control_frame_burst = h2.control_frame_burst;
  options.http2.control_frame_rate = h2.control_frame_rate;
  return options;
}

// server.tls, loaded: a configuration error (exit code 2) when the files do
// not make a usable pair.
std::unique_ptr<tls::server_context> make_tls_context(const config::server_config& server,
                                                      metrics::registry& metrics) {
  const auto& t = server.tls;
  if (!t.enabled) return nullptr;
  tls::server_options options;
  // h2 first: a client offering both gets HTTP/2.
  if (server.http2.enabled) options.alpn_protocols = {"h2", "http/1.1"};
  options.cert_file = t.cert_file;
  options.key_file = t.key_file;
  options.client_ca_file = t.client_ca_file;
  options.client_auth = t.client_auth == "require"    ? tls::client_auth::require
                        : t.client_auth == "optional" ? tls::client_auth::optional
                                                      : tls::client_auth::none;
  options.min_version = t.min_version == "1.3" ? tls::protocol_version::tls1_3 : tls::protocol_version::tls1_2;
  auto loaded = tls::load_credentials(options);
  if (!loaded) throw config::config_error("server.tls." + loaded.error());
  spdlog::info("TLS certificate {} (expires {:%Y-%m-%d %H:%M:%S} UTC), client certificates: {}", loaded->subject,
               std::chrono::floor<std::chrono::seconds>(loaded->not_after), t.client_auth);
  auto context = std::make_unique<tls::server_context>(std::move(options), std::move(*loaded), metrics);
  context->watch(std::chrono::seconds(1));
  return context;
}

void listen_or_throw(http::server& server, const char* key, const std::string& listen) {
  if (auto ec = server.listen()) throw startup_error(std::string(key) + " " + listen + ": " + ec.message());
  server.start();
}

// Readiness needs a usable cache: the directory takes files and the index
// takes writes. Runs on the blocking pool (both touch the disk).
asio::awaitable<error_code> check_storage(store::blob_store* blobs, store::index* index) {
  if (auto ec = blobs->check_writable()) co_return ec;
  co_return index->check_writable();
}

// Audit lines are whole lines of their own (audit.hpp formats them, JSON
// included), so their logger prints the message only; it logs at info
// whatever log.level says, unless logging is off. spdlog's global
// set_pattern and set_level reach every logger: setup_logging sets these
// after them.
std::shared_ptr<spdlog::logger> audit_logger() {
  if (auto existing = spdlog::get("audit")) return existing;
  auto logger = spdlog::stderr_logger_mt("audit");
  logger->set_pattern("%v");
  return logger;
}

void setup_logging(const config::log_config& log) {
  auto logger = spdlog::stderr_color_mt("regcache");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(log.level));
  if (log.format == "json")
    spdlog::set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","msg":"%v"})");
  else
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  auto audit = audit_logger();
  audit->set_pattern("%v");
  audit->set_level(log.level == "off" ? spdlog::level::off : spdlog::level::info);
}

scan::scanner_options scan_options_of(const config::scan_config& sc) {
  scan::scanner_options options;
  options.command = sc.command;
  options.webhook = sc.webhook;
  options.mode = !sc.enabled || sc.mode == "off" ? scan::scan_mode::off
                 : sc.mode == "warn"             ? scan::scan_mode::warn
                                                 : scan::scan_mode::enforce;
  options.block_until_scanned = sc.block_until_scanned;
  options.parallelism = sc.parallelism;
  options.timeout = sc.timeout;
  if (options.mode != scan::scan_mode::off)
    spdlog::info("scan gate: mode {}, {} at most {} at a time, timeout {} s{}", sc.mode,
                 sc.command.empty() ? "webhook " + sc.webhook : "command " + sc.command.front(), sc.parallelism,
                 sc.timeout.count() / 1000, sc.block_until_scanned ? ", pending manifests wait" : "");
  return options;
}

// Where a scanner reaches this regcache: the registry listener's address as
// an image reference's host (a wildcard address means this machine).
std::string pull_host(const std::string& listen, std::uint16_t port) {
  auto host = config::split_listen(listen).first;
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  else if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return host + ":" + std::to_string(port);
}

auth::policy policy_of(const config::config& cfg) {
  std::vector<auth::access_rule> rules;
  for (const auto& r : cfg.access.value_or(std::vector<config::access_rule_config>{})) {
    std::vector<oci::repository_glob> globs;
    // validate() parsed every pattern already.
    for (const auto& pattern : r.repositories) globs.push_back(oci::repository_glob::parse(pattern).value());
    rules.push_back({r.upstream, std::move(globs), r.has_allow ? auth::decision::allow : auth::decision::deny,
                     r.has_allow ? r.allow : r.deny});
  }
  std::map<std::string, std::set<std::string>> groups;
  if (cfg.auth)
    for (const auto& [name, members] : cfg.auth->groups) groups[name].insert(members.begin(), members.end());
  const auto fallback = cfg.default_access == "allow" ? auth::decision::allow : auth::decision::deny;
  return auth::policy(std::move(rules), std::move(groups), fallback);
}

// Off without auth, access and default_access: everyone pulls everything,
// which is worth a warning when an upstream pulls with credentials.
auth::gate make_gate(const config::config& cfg, metrics::registry& metrics, const core::clock& clock) {
  if (!config::access_control_enabled(cfg)) {
    for (const auto& u : cfg.upstreams)
      if (!u.username.empty())
        spdlog::warn("upstream {} pulls with the credentials of {}, and without auth and access rules anyone who "
                     "can reach regcache pulls everything they give access to (README: Identities and access rules)",
                     u.name, u.username);
    return {};
  }
  auth::identity_options options;
  if (cfg.auth) {
    options.htpasswd_file = cfg.auth->htpasswd_file;
    options.tokens_file = cfg.auth->tokens_file;
    options.cache_ttl = cfg.auth->cache_ttl;
    options.cache_entries = cfg.auth->cache_entries;
  }
  std::unique_ptr<auth::identities> identities;
  try {
    identities = std::make_unique<auth::identities>(options, clock);
  } catch (const auth::file_error& e) {
    throw config::config_error(e.what());
  }
  auto write = [logger = audit_logger()](const std::string& line) { logger->info("{}", line); };
  auto trail = std::make_unique<auth::audit>(write, cfg.log.format == "json", metrics, clock);
  return auth::gate(std::move(identities), policy_of(cfg), std::move(trail));
}

}  // namespace

// Members are built in this order and torn down in reverse: the servers go
// before the handlers and caches they call, the io_contexts (whose pending
// handlers may still refer to any of it) last but the storage.
struct app::parts {
  explicit parts(config::config c);
  ~parts() {
    for (auto& context : contexts) context->shut_down();
  }

  asio::awaitable<void> flush_access_times();
  asio::awaitable<void> watch_storage();
  asio::awaitable<void> drain();
  // The registry API's listeners: plain, TLS, or both.
  std::vector<http::server*> registry_servers();

  config::config cfg;
  const core::clock& clock = core::clock::system();
  std::shared_ptr<store::blob_store> blobs = open_blobs(cfg);
  std::unique_ptr<store::index> index = open_index(cfg, *blobs, clock);
  store::remover remover{*blobs, *index};
  std::vector<std::unique_ptr<worker_context>> contexts = make_contexts(cfg.server);
  std::vector<asio::any_io_executor> workers = executors_of(contexts);
  asio::thread_pool blocking{2};
  std::unique_ptr<asio::thread_pool> hashing = make_hashing_pool(cfg.server);
  metrics::registry metrics;
  cache::cache_metrics cache_metrics{metrics};
  std::vector<std::shared_ptr<const cache::upstream_source>> sources = make_upstream_sources(cfg, workers, metrics);
  cache::context ctx{blobs, index.get(), &cache_metrics, &clock, blocking.get_executor(), &remover,
                     hashing ? asio::any_io_executor(hashing->get_executor()) : asio::any_io_executor()};
  cache::fill_coordinator fills{ctx};
  // A reader waits for a filling blob's next byte as long as the server
  // waits for a client to take one.
  cache::blob_cache blob_cache{ctx, fills, cfg.server.write_timeout};
  cache::manifest_cache manifest_cache{ctx};
  // Registered with the remover: built before and destroyed after the
  // evictor and the admin handler, which remove through it.
  cache::forgetter forgetter{remover, manifest_cache, cache_metrics};
  // Hears of every manifest that enters the cache (the constructor connects
  // it) and, like the forgetter, of every one that leaves it; its webhooks
  // run on thread 0, its commands on threads of its own.
  scan::scanner scanner{scan_options_of(cfg.scan), *index, metrics, clock, contexts.front()->get_executor()};
  cache::discovery discovery{ctx};
  // `verify:` (keys read now: one that does not load is a configuration
  // error); a removal listener like the forgetter, so built before the
  // evictor and the admin handler.
  trust::signature_gate signatures{signature_policy_of(cfg), ctx, manifest_cache, blob_cache, discovery};
  cache::prefetcher prefetcher{ctx, manifest_cache, fills, cfg.prefetch.parallelism};
  cache::evictor evictor{ctx, eviction_policy_of(cfg.storage)};
  // What /readyz answers, published as regcache_ready.
  readiness readyz{metrics};
  const registry::router router{sources, cfg.default_upstream};
  auth::gate gate = make_gate(cfg, metrics, clock);
  registry::handler handler{{cfg.metrics.enabled, cfg.metrics.path, &scanner},
                            router,
                            manifest_cache,
                            blob_cache,
                            discovery,
                            cache_metrics,
                            [this] { return readyz.ready(); },
                            gate,
                            signatures};
  // The operator's API: its own listener (loopback by default; a bearer
  // token with admin.token_file), its own access log lines, the same threads.
  admin::handler admin_handler{{*index, remover, router, manifest_cache, evictor, prefetcher, cache_metrics,
                                blocking.get_executor(), clock, REGCACHE_VERSION, admin_token_of(cfg.admin),
                                &scanner}};
  std::unique_ptr<tls::server_context> tls_context = make_tls_context(cfg.server, metrics);
  std::optional<http::server> server;      // server.listen: plain HTTP
  std::optional<http::server> tls_server;  // server.tls.listen
  std::optional<http::server> admin_server;
  asio::signal_set signals{*contexts.front(), SIGINT, SIGTERM};
};

app::parts::parts(config::config c) : cfg(std::move(c)) {
  if (auto stats = index->compute_stats()) {
    cache_metrics.cached_bytes.set(static_cast<std::int64_t>(stats->blob_bytes));
    spdlog::info("cache holds {} blobs ({}), {} manifests, {} tags", stats->blob_count,
                 core::format_bytes(stats->blob_bytes), stats->manifest_count, stats->tag_count);
  }
  // Downloads that would take the disk below min_free are refused like a
  // full disk (served uncached, eviction asked for).
  blobs->keep_free(evictor.policy().min_free_bytes, store::filesystem_space(blobs->root()));
  fills.on_disk_full([this] { evictor.request(); });
  if (scanner.enabled()) {
    remover.add_listener(scanner);
    manifest_cache.on_stored([this](const cache::upstream_source& source, const std::string& repository,
                                    const core::digest& digest, const std::string& media_type) {
      scanner.manifest_stored(source.name, repository, digest, media_type);
    });
  }
  if (!cfg.server.listen.empty()) {
    server.emplace(contexts.front()->get_executor(), workers, server_options_of(cfg, cfg.server.listen),
                   std::ref(handler), metrics);
    listen_or_throw(*server, "server.listen", cfg.server.listen);
    spdlog::info("regcache {} listening on {}:{} with {} threads, cache in {}", REGCACHE_VERSION,
                 config::split_listen(cfg.server.listen).first, server->port(), contexts.size(),
                 cfg.storage.root.string());
  }
  if (tls_context) {
    auto options = server_options_of(cfg, cfg.server.tls.listen);
    options.tls_context = [tls = tls_context.get()] { return tls->current(); };
    tls_server.emplace(contexts.front()->get_executor(), workers, std::move(options), std::ref(handler), metrics);
    listen_or_throw(*tls_server, "server.tls.listen", cfg.server.tls.listen);
    spdlog::info("regcache {} listening for TLS on {}:{} with {} threads, cache in {}", REGCACHE_VERSION,
                 config::split_listen(cfg.server.tls.listen).first, tls_server->port(), contexts.size(),
                 cfg.storage.root.string());
  }
  if (server) scanner.set_pull_endpoint({pull_host(cfg.server.listen, server->port()), cfg.default_upstream});
  else if (tls_server) scanner.set_pull_endpoint({pull_host(cfg.server.tls.listen, tls_server->port()), cfg.default_upstream});
  if (cfg.admin.enabled) {
    auto options = server_options_of(cfg, cfg.admin.listen);
    options.max_connections = 64;
    admin_server.emplace(contexts.front()->get_executor(), workers, options, std::ref(admin_handler), metrics);
    listen_or_throw(*admin_server, "admin.listen", cfg.admin.listen);
    spdlog::info("admin API on {}:{}", options.address, admin_server->port());
  }
}

asio::awaitable<void> app::parts::flush_access_times() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(std::chrono::seconds(1));
    co_await timer.async_wait(asio::use_awaitable);
    if (auto ec = index->flush_access_times()) spdlog::warn("flushing access times failed: {}", ec.message());
  }
}

// Re-checks the storage every 2 s, off the request path, and logs changes.
asio::awaitable<void> app::parts::watch_storage() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    auto check = check_storage(blobs.get(), index.get());
    const auto ec = co_await asio::co_spawn(blocking.get_executor(), std::move(check), asio::use_awaitable);
    const bool ok = !ec;
    if (readyz.set_storage_usable(ok)) {
      if (ok) spdlog::info("storage {} is writable again: ready", blobs->root().string());
      else spdlog::error("storage {} is not writable ({}): not ready", blobs->root().string(), ec.message());
    }
    timer.expires_after(std::chrono::seconds(2));
    co_await timer.async_wait(asio::use_awaitable);
  }
}

std::vector<http::server*> app::parts::registry_servers() {
  std::vector<http::server*> servers;
  if (server) servers.push_back(&*server);
  if (tls_server) servers.push_back(&*tls_server);
  return servers;
}

asio::awaitable<void> app::parts::drain() {
  std::size_t open = 0;
  for (auto* s : registry_servers()) open += s->open_connections();
  spdlog::info("draining (grace {} ms, {} connections open)", cfg.server.shutdown_grace.count(), open);
  for (auto* s : registry_servers()) s->drain();
  // One grace period for all listeners together.
  const auto deadline = std::chrono::steady_clock::now() + cfg.server.shutdown_grace;
  std::size_t left = 0;
  for (auto* s : registry_servers()) {
    const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::max(deadline - std::chrono::steady_clock::now(), std::chrono::steady_clock::duration::zero()));
    left += co_await s->wait_drained(remaining);
  }
  if (left > 0) spdlog::warn("grace period over: closing {} connections", left);
  for (auto& context : contexts) context->stop();
}

app::app(config::config cfg) : parts_(std::make_unique<parts>(std::move(cfg))) {}

app::~app() = default;

std::optional<std::uint16_t> app::port() const noexcept {
  if (!parts_->server) return std::nullopt;
  return parts_->server->port();
}

std::optional<std::uint16_t> app::tls_port() const noexcept {
  if (!parts_->tls_server) return std::nullopt;
  return parts_->tls_server->port();
}

std::optional<std::uint16_t> app::admin_port() const noexcept {
  if (!parts_->admin_server) return std::nullopt;
  return parts_->admin_server->port();
}

void app::stop() {
  if (!parts_->readyz.start_draining()) return;
  asio::co_spawn(*parts_->contexts.front(), parts_->drain(), asio::detached);
}

void app::run() {
  auto& p = *parts_;
  p.signals.async_wait([this](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("signal {} received", signal);
    stop();
  });
  auto& main_context = *p.contexts.front();
  asio::co_spawn(main_context, p.flush_access_times(), asio::detached);
  asio::co_spawn(main_context, p.evictor.run_forever(p.cfg.storage.eviction_interval), asio::detached);
  asio::co_spawn(main_context, p.watch_storage(), asio::detached);

  // Idle worker contexts must keep running until shutdown.
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> keep_running;
  for (auto& context : p.contexts) keep_running.push_back(asio::make_work_guard(*context));
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < p.contexts.size(); ++i)
    threads.emplace_back([&p, i] {
      upstream::set_worker_index(i);
      p.contexts[i]->run();
    });
  main_context.run();
  for (auto& context : p.contexts) context->stop();
  for (auto& t : threads) t.join();
  p.scanner.stop();
  p.blocking.join();
  if (p.hashing) p.hashing->join();
  if (auto ec = p.index->flush_access_times()) spdlog::warn("final access-time flush failed: {}", ec.message());
  spdlog::info("regcache stopped");
}

int serve(const serve_flags& flags) {
  config::config cfg;
  try {
    cfg = load_config(flags);
  } catch (const config::config_error& e) {
    std::fprintf(stderr, "regcache: configuration error: %s\n", e.what());
    return 2;
  }
  setup_logging(cfg.log);
  // sendfile(2) to a client that went away raises SIGPIPE; the error code is enough.
  std::signal(SIGPIPE, SIG_IGN);
  try {
    app running(std::move(cfg));
    running.run();
  } catch (const config::config_error& e) {
    spdlog::critical("{}", e.what());
    return 2;
  } catch (const startup_error& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
  return 0;
}

}  // namespace regcache::app

// regcache command line: `serve` runs the cache, `version` prints the version.
// This is the only code the tests do not link; it wires modules
// together and holds no logic of its own beyond that.
#include "regcache/admin/handler.hpp"
#include "regcache/cache/blob_cache.hpp"
#include "regcache/cache/discovery.hpp"
#include "regcache/cache/evictor.hpp"
#include "regcache/cache/fill_coordinator.hpp"
#include "regcache/cache/manifest_cache.hpp"
#include "regcache/cache/prefetcher.hpp"
#include "regcache/cli/commands.hpp"
#include "regcache/config/config.hpp"
#include "regcache/core/units.hpp"
#include "regcache/http/server.hpp"
#include "regcache/metrics/registry.hpp"
#include "regcache/registry/handler.hpp"
#include "regcache/store/blob_store.hpp"
#include "regcache/store/index.hpp"
#include "regcache/store/reconcile.hpp"
#include "regcache/upstream/authenticator.hpp"
#include "regcache/upstream/client.hpp"
#include "regcache/upstream/credentials.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>
#include <thread>

namespace asio = boost::asio;
using namespace regcache;

namespace {

struct serve_flags {
  std::string config_file;
  std::string listen;
  std::string data;
  std::string upstream;
  std::string log_level;
  std::string admin_listen;
  bool offline = false;
};

// Docker Hub is named docker.io by clients but served from registry-1.docker.io.
bool is_docker_hub_host(std::string_view host) {
  return host == "docker.io" || host == "registry-1.docker.io" || host == "index.docker.io";
}

config::config load_config(const serve_flags& flags) {
  auto cfg = flags.config_file.empty() ? config::parse_yaml("{}") : config::load_file(flags.config_file);
  if (!flags.listen.empty()) cfg.server.listen = flags.listen;
  if (!flags.data.empty()) cfg.storage.root = flags.data;
  if (!flags.log_level.empty()) cfg.log.level = flags.log_level;
  if (!flags.admin_listen.empty()) cfg.admin.listen = flags.admin_listen;
  if (!flags.upstream.empty()) {
    auto ep = upstream::parse_url(flags.upstream);
    if (!ep) throw config::config_error("--upstream: \"" + flags.upstream + "\" is not an http:// or https:// URL");
    const bool hub = is_docker_hub_host(ep->host);
    std::string name = hub ? "docker.io" : ep->host;
    if (!hub && ep->port != (ep->scheme == "https" ? 443 : 80)) name += ":" + std::to_string(ep->port);
    std::erase_if(cfg.upstreams, [&](const config::upstream_config& u) { return u.name == name; });
    config::upstream_config u;
    u.name = name;
    u.url = flags.upstream;
    // Naming an http:// URL on the command line is the explicit opt-in.
    u.insecure_http = ep->scheme == "http";
    if (hub) u.aliases = {"registry-1.docker.io", "index.docker.io"};
    cfg.upstreams.push_back(u);
    cfg.default_upstream = name;
  }
  if (flags.offline)
    for (auto& u : cfg.upstreams) u.offline = true;
  config::resolve_defaults(cfg);
  config::validate(cfg);
  return cfg;
}

void setup_logging(const config::log_config& log) {
  auto logger = spdlog::stderr_color_mt("regcache");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(log.level));
  if (log.format == "json")
    spdlog::set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","msg":"%v"})");
  else
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
}

asio::awaitable<void> flush_access_times(store::index* index) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(std::chrono::seconds(1));
    co_await timer.async_wait(asio::use_awaitable);
    if (auto ec = index->flush_access_times()) spdlog::warn("flushing access times failed: {}", ec.message());
  }
}

// Readiness needs a usable cache: the directory takes files and the index
// takes writes. Runs on the blocking pool (both touch the disk).
asio::awaitable<error_code> check_storage(store::blob_store* blobs, store::index* index) {
  if (auto ec = blobs->check_writable()) co_return ec;
  co_return index->check_writable();
}

// Re-checks the storage every 2 s, off the request path, and logs changes.
asio::awaitable<void> watch_storage(store::blob_store* blobs, store::index* index, asio::any_io_executor blocking,
                                    std::atomic<bool>* usable) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    const auto ec = co_await asio::co_spawn(blocking, check_storage(blobs, index), asio::use_awaitable);
    const bool ok = !ec;
    if (ok != usable->exchange(ok)) {
      if (ok) spdlog::info("storage {} is writable again: ready", blobs->root().string());
      else spdlog::error("storage {} is not writable ({}): not ready", blobs->root().string(), ec.message());
    }
    timer.expires_after(std::chrono::seconds(2));
    co_await timer.async_wait(asio::use_awaitable);
  }
}

asio::awaitable<void> shutdown_on_signal(asio::signal_set* signals, http::server* server,
                                         std::chrono::milliseconds grace,
                                         std::vector<std::unique_ptr<asio::io_context>>* contexts) {
  auto signal = co_await signals->async_wait(asio::use_awaitable);
  spdlog::info("signal {} received: draining (grace {} ms, {} connections open)", signal, grace.count(),
               server->open_connections());
  server->drain();
  const auto left = co_await server->wait_drained(grace);
  if (left > 0) spdlog::warn("grace period over: closing {} connections", left);
  for (auto& ioc : *contexts) ioc->stop();
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

  auto blobs = store::blob_store::open(cfg.storage.root);
  if (!blobs) {
    spdlog::critical("storage.root {}: {}", cfg.storage.root.string(), blobs.error().message());
    return 1;
  }
  auto index = store::index::open(cfg.storage.root / "index");
  if (!index) {
    spdlog::critical("opening the index under {}: {}", (cfg.storage.root / "index").string(), index.error().message());
    return 1;
  }
  const auto& clock = core::clock::system();
  auto report = store::reconcile(**blobs, **index, core::to_unix_ms(clock.now()));
  if (!report) {
    spdlog::critical("startup reconciliation failed: {}", report.error().message());
    return 1;
  }
  spdlog::info("storage {}: removed {} temp files, dropped {} index rows without files, indexed {} files, "
               "removed {} invalid files",
               cfg.storage.root.string(), report->temp_files_removed, report->rows_dropped, report->files_indexed,
               report->files_removed);

  const unsigned threads = cfg.server.threads ? cfg.server.threads : std::max(1u, std::thread::hardware_concurrency());
  // One single-threaded io_context per thread: a connection lives on one
  // thread, so its handlers never wake another one. Context 0 also runs the
  // acceptor, signals, fills and upstream connections.
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<asio::any_io_executor> workers;
  for (unsigned i = 0; i < threads; ++i) {
    contexts.push_back(std::make_unique<asio::io_context>(1));
    workers.push_back(contexts.back()->get_executor());
  }
  auto& ioc = *contexts.front();
  asio::thread_pool blocking(2);
  metrics::registry metrics;
  cache::cache_metrics cache_metrics(metrics);
  if (auto stats = (*index)->compute_stats()) {
    cache_metrics.cached_bytes.set(static_cast<std::int64_t>(stats->blob_bytes));
    spdlog::info("cache holds {} blobs ({}), {} manifests, {} tags", stats->blob_count,
                 core::format_bytes(stats->blob_bytes), stats->manifest_count, stats->tag_count);
  }

  std::vector<std::shared_ptr<const cache::upstream_source>> sources;
  for (const auto& u : cfg.upstreams) {
    auto ep = upstream::parse_url(u.url);
    upstream::client_options opts;
    opts.connect_timeout = u.connect_timeout;
    opts.read_timeout = u.read_timeout;
    opts.ca_file = u.ca_file;
    opts.client_cert_file = u.client_cert_file;
    opts.client_key_file = u.client_key_file;
    opts.insecure_skip_verify = u.insecure_skip_verify;
    opts.user_agent = std::string("regcache/") + REGCACHE_VERSION;
    auto source = std::make_shared<cache::upstream_source>();
    source->name = u.name;
    source->aliases = u.aliases;
    // Only the registry's own API is bounded: token endpoints and redirect
    // targets (the authenticator's clients) are other hosts.
    auto registry_opts = opts;
    registry_opts.limit = upstream::connection_limit::make(u.max_connections);
    try {
      for (const auto& worker : workers)
        source->clients.push_back(std::make_shared<upstream::client>(worker, *ep, registry_opts));
    } catch (const std::exception& e) {
      // The TLS context loads ca_file here; a bad file is a configuration error.
      spdlog::critical("upstreams ({}): TLS files: {}", u.name, e.what());
      return 2;
    }
    std::optional<upstream::credentials> creds;
    if (!u.username.empty()) {
      auto loaded = upstream::load_credentials(u.username, u.password_file, u.password_env);
      if (!loaded) {
        const bool from_file = !u.password_file.empty();
        // Named, never echoed: an operator may have pasted the password itself there.
        spdlog::critical("upstreams[{}].{}: {}", u.name, from_file ? "password_file" : "password_env",
                         from_file ? "the password file cannot be read"
                                   : "the environment variable it names is not set");
        return 2;
      }
      creds = std::move(*loaded);
    }
    if (creds) spdlog::info("upstream {}: credentials of {}", u.name, upstream::redacted(*creds));
    source->auth = std::make_shared<upstream::authenticator>(u.name, std::move(creds), opts);
    source->tag_ttl = u.tag_ttl;
    source->max_stale = u.max_stale;
    source->serve_cached_when_tag_not_found = u.on_tag_not_found == "serve_cached";
    source->docker_hub = is_docker_hub_host(u.name);
    source->send_ns = u.send_ns;
    source->offline = u.offline;
    spdlog::info("upstream {} → {} (tag_ttl {} ms){}", u.name, u.url, u.tag_ttl.count(),
                 u.name == cfg.default_upstream ? " [default]" : "");
    if (u.offline) spdlog::info("upstream {} is offline: serving only from the cache, never contacting it", u.name);
    if (u.insecure_http)
      spdlog::warn("INSECURE: upstream {} is plain HTTP: content and credentials travel unencrypted", u.name);
    if (u.insecure_skip_verify)
      spdlog::warn("INSECURE: upstream {}: TLS certificates are NOT verified (insecure_skip_verify)", u.name);
    sources.push_back(std::move(source));
  }

  cache::context ctx{*blobs, index->get(), &cache_metrics, &clock, blocking.get_executor()};
  cache::fill_coordinator fills(ctx);
  cache::blob_cache blob_cache(ctx, fills);
  cache::manifest_cache manifest_cache(ctx);
  cache::discovery discovery(ctx);
  cache::prefetcher prefetcher(ctx, manifest_cache, fills, cfg.prefetch.parallelism);

  cache::eviction_policy policy;
  try {
    policy.quota_bytes = config::resolve_quota(cfg.storage, cfg.storage.root);
  } catch (const config::config_error& e) {
    spdlog::critical("storage.quota: {}", e.what());
    return 2;
  }
  policy.high_watermark = cfg.storage.high_watermark;
  policy.low_watermark = cfg.storage.low_watermark;
  policy.min_age = cfg.storage.min_age;
  policy.max_unused_age = cfg.storage.max_unused_age;
  cache::evictor evictor(ctx, policy);
  fills.on_disk_full([&evictor] { evictor.request(); });
  spdlog::info("quota {} (evicting from {} down to {}), min_age {} s, max_unused_age {} s",
               core::format_bytes(policy.quota_bytes),
               core::format_bytes(static_cast<std::uint64_t>(policy.quota_bytes * policy.high_watermark)),
               core::format_bytes(static_cast<std::uint64_t>(policy.quota_bytes * policy.low_watermark)),
               policy.min_age.count() / 1000, policy.max_unused_age.count() / 1000);

  const auto [address, port] = config::split_listen(cfg.server.listen);
  http::server_options server_options;
  server_options.address = address;
  server_options.port = port;
  server_options.max_header_bytes = cfg.server.max_header_bytes;
  server_options.idle_timeout = cfg.server.idle_timeout;
  server_options.read_timeout = cfg.server.read_timeout;
  server_options.write_timeout = cfg.server.write_timeout;
  server_options.max_connections = cfg.server.max_connections;
  server_options.access_log = cfg.log.access_log;

  http::server* server_ptr = nullptr;
  std::atomic<bool> storage_usable{true};
  const registry::router router(sources, cfg.default_upstream);
  registry::handler handler({cfg.metrics.enabled, cfg.metrics.path}, router, manifest_cache, blob_cache, discovery,
                            cache_metrics, [&server_ptr, &storage_usable] {
                              return server_ptr && !server_ptr->draining() && storage_usable.load();
                            });
  http::server server(ioc.get_executor(), workers, server_options, std::ref(handler), metrics);
  server_ptr = &server;
  if (auto ec = server.listen()) {
    spdlog::critical("server.listen {}: {}", cfg.server.listen, ec.message());
    return 1;
  }
  server.start();
  spdlog::info("regcache {} listening on {}:{} with {} threads, cache in {}", REGCACHE_VERSION, address,
               server.port(), threads, cfg.storage.root.string());

  // The operator's API: its own listener (loopback by default; it has no
  // authentication), its own access log lines, the same threads.
  admin::handler admin_handler({**blobs, **index, router, manifest_cache, evictor, prefetcher, cache_metrics,
                                blocking.get_executor(), clock, REGCACHE_VERSION});
  std::optional<http::server> admin_server;
  if (cfg.admin.enabled) {
    const auto [admin_address, admin_port] = config::split_listen(cfg.admin.listen);
    http::server_options admin_options = server_options;
    admin_options.address = admin_address;
    admin_options.port = admin_port;
    admin_options.max_connections = 64;
    admin_server.emplace(ioc.get_executor(), workers, admin_options, std::ref(admin_handler), metrics);
    if (auto ec = admin_server->listen()) {
      spdlog::critical("admin.listen {}: {}", cfg.admin.listen, ec.message());
      return 1;
    }
    admin_server->start();
    spdlog::info("admin API on {}:{}", admin_address, admin_server->port());
  }

  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  asio::co_spawn(ioc, shutdown_on_signal(&signals, &server, cfg.server.shutdown_grace, &contexts), asio::detached);
  asio::co_spawn(ioc, flush_access_times(index->get()), asio::detached);
  asio::co_spawn(ioc, evictor.run_forever(cfg.storage.eviction_interval), asio::detached);
  asio::co_spawn(ioc, watch_storage(blobs->get(), index->get(), blocking.get_executor(), &storage_usable),
                 asio::detached);

  // Idle worker contexts must keep running until shutdown.
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> keep_running;
  for (auto& context : contexts) keep_running.push_back(asio::make_work_guard(*context));
  std::vector<std::thread> threads_running;
  for (unsigned i = 1; i < threads; ++i)
    threads_running.emplace_back([&contexts, i] {
      cache::set_worker_index(i);
      contexts[i]->run();
    });
  ioc.run();
  for (auto& context : contexts) context->stop();
  for (auto& t : threads_running) t.join();
  blocking.join();
  if (auto ec = (*index)->flush_access_times()) spdlog::warn("final access-time flush failed: {}", ec.message());
  spdlog::info("regcache stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"regcache: a pull-through caching proxy for OCI and Docker registries"};
  app.require_subcommand(1);
  serve_flags flags;
  auto* serve_cmd = app.add_subcommand("serve", "Run the cache server");
  serve_cmd->add_option("-c,--config", flags.config_file, "YAML config file (documented in conf/regcache.yaml)")
      ->check(CLI::ExistingFile);
  serve_cmd->add_option("--listen", flags.listen, "HOST:PORT to listen on (overrides server.listen)");
  serve_cmd->add_option("--data", flags.data, "Cache directory (overrides storage.root)");
  serve_cmd->add_option("--upstream", flags.upstream,
                        "Upstream registry URL, made the default upstream, e.g. https://registry-1.docker.io "
                        "(http:// is allowed for local testing)");
  serve_cmd->add_option("--log-level", flags.log_level, "trace, debug, info, warn, error or off (overrides log.level)");
  serve_cmd->add_option("--admin-listen", flags.admin_listen, "HOST:PORT of the admin API (overrides admin.listen)");
  serve_cmd->add_flag("--offline", flags.offline,
                      "Serve only from the cache; never contact an upstream (sets upstreams[].offline)");
  auto* version_cmd = app.add_subcommand("version", "Print the version and exit");
  cli::operator_commands operator_cmds(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and version print and succeed; every usage error exits 2.
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (auto code = operator_cmds.run()) return *code;

  if (version_cmd->parsed()) {
#ifdef REGCACHE_FAULT_INJECTION
    std::printf("regcache %s (test build: fault injection)\n", REGCACHE_VERSION);
#else
    std::printf("regcache %s\n", REGCACHE_VERSION);
#endif
    return 0;
  }
  return serve(flags);
}

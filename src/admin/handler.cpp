#include "regcache/admin/handler.hpp"

#include "regcache/admin/api_json.hpp"
#include "regcache/admin/inventory.hpp"
#include "regcache/admin/purge.hpp"
#include "regcache/admin/requests.hpp"
#include "regcache/http/errc.hpp"
#include "regcache/http/target.hpp"
#include "regcache/oci/manifest.hpp"
#include "regcache/oci/media_type.hpp"
#include "regcache/registry/wire_error.hpp"
#include "regcache/scan/scanner.hpp"
#include "regcache/scan/webhook.hpp"
#include "regcache/store/errc.hpp"
#include "regcache/store/fsck.hpp"
#include "regcache/store/pins.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include <mutex>
#include <optional>

namespace regcache::admin {
namespace asio = boost::asio;
namespace json = boost::json;
using http::exchange;
using http::response_head;

namespace {

// POST /api/v1/scans/<digest>: a scan webhook's later verdict.
constexpr std::string_view scans_path = "/api/v1/scans/";

// The methods a path takes, for a 405's Allow; empty for an unknown path.
std::string_view allowed_methods(std::string_view path) {
  if (path == "/api/v1/stats" || path == "/api/v1/images" || path == "/api/v1/repositories") return "GET";
  if (path == "/api/v1/pins") return "GET, POST, DELETE";
  if (path == "/api/v1/prefetch" || path == "/api/v1/purge" || path == "/api/v1/gc" || path == "/api/v1/verify" ||
      path == "/api/v1/scan" || path.starts_with(scans_path))
    return "POST";
  return {};
}

// Progress lines of a stream are written at most this often (≤ 10 per second).
constexpr auto progress_period = std::chrono::milliseconds(100);

asio::awaitable<void> send_body(exchange& ex, unsigned status, std::string body) {
  response_head head{status, {{"Content-Type", "application/json"}}, std::nullopt};
  auto ec = co_await ex.send(std::move(head), std::move(body));
  ignore_error(ec, "the admin client may be gone; the access log has the status");
}

asio::awaitable<void> send_object(exchange& ex, unsigned status, json::object o) {
  co_await send_body(ex, status, json::serialize(o));
}

asio::awaitable<void> send_error(exchange& ex, unsigned status, std::string message) {
  co_await send_body(ex, status, error_body(message));
}

// An answer for a failure, its status from the one error table
// (registry::status_of), so the admin API and a pull agree on what an error is.
asio::awaitable<void> send_failure(exchange& ex, error_code failure, std::string context) {
  co_await send_error(ex, registry::status_of(failure).status, context + ": " + failure.message());
}

// The body of a POST, or nullopt after an error answer was sent.
asio::awaitable<std::optional<std::string>> read_request_body(exchange& ex) {
  auto body = co_await ex.read_body(max_request_body);
  if (body) co_return std::move(*body);
  if (body.error() == http::errc::body_too_large)
    co_await send_error(ex, registry::status_of(body.error()).status,
                        "request body larger than " + std::to_string(max_request_body) + " bytes");
  else
    co_await send_failure(ex, body.error(), "reading the request body");
  co_return std::nullopt;
}

// 401 for a request without the admin token (RFC 6750: invalid_token when
// one was presented). The token itself is never logged.
asio::awaitable<void> refuse_unauthenticated(exchange& ex, bool presented) {
  ex.annotate("admin", "-");
  spdlog::warn("admin API: refused {} {} from {}: {} bearer token", ex.method_name(), ex.target().substr(0, 200),
               ex.remote_address(), presented ? "wrong" : "no");
  response_head head{401, {{"Content-Type", "application/json"}}, std::nullopt};
  head.fields.emplace_back("WWW-Authenticate", presented ? R"(Bearer realm="regcache-admin", error="invalid_token")"
                                                         : R"(Bearer realm="regcache-admin")");
  auto body = error_body(presented ? "the admin token is not the one in admin.token_file"
                                   : "the admin API requires Authorization: Bearer <token> (the token in "
                                     "admin.token_file; the CLI sends it from --admin-token-file or "
                                     "REGCACHE_ADMIN_TOKEN)");
  auto ec = co_await ex.send(std::move(head), std::move(body));
  ignore_error(ec, "the admin client may be gone; the access log has the status");
}

// An image routed like a pull of it would be, or nullopt after an error answer.
asio::awaitable<std::optional<registry::routed>> route_image(exchange& ex, const registry::router& router,
                                                             const image_ref& image) {
  auto r = router.route(image.name, std::nullopt);
  if (r) co_return std::move(*r);
  co_await send_error(ex, r.error().name_invalid ? 400 : 404, r.error().message);
  co_return std::nullopt;
}

std::string display(const registry::routed& r, const oci::reference& ref) {
  return r.source->name + "/" + r.repository + (ref.is_digest() ? "@" : ":") + ref.text;
}

// The image a POST {"image": ...} names (purge, scan), routed like a pull of
// it; nullopt after an error answer was sent.
struct requested_image {
  image_ref image;
  registry::routed routed;
  std::string shown;
};

asio::awaitable<std::optional<requested_image>> read_image_request(exchange& ex, const registry::router& router) {
  auto body = co_await read_request_body(ex);
  if (!body) co_return std::nullopt;
  auto image = parse_image_request(*body);
  if (!image) {
    co_await send_error(ex, 400, image.error().message);
    co_return std::nullopt;
  }
  auto routed = co_await route_image(ex, router, *image);
  if (!routed) co_return std::nullopt;
  auto shown = display(*routed, image->reference);
  co_return requested_image{std::move(*image), std::move(*routed), std::move(shown)};
}

// Resolving with the body fetches an uncached image's manifests, as a pull would.
asio::awaitable<result<cache::manifest_result>> resolve_top(cache::manifest_cache* manifests, registry::routed r,
                                                            oci::reference ref) {
  if (ref.is_digest()) co_return co_await manifests->by_digest(r.source, r.repository, *ref.digest, true);
  co_return co_await manifests->by_tag(r.source, r.repository, ref.text, true);
}

// ---- blocking tasks (run on services::blocking) ----

struct stats_snapshot {
  store::index::stats counts;
  std::uint64_t pins = 0;
};

asio::awaitable<result<stats_snapshot>> stats_task(const store::index* index) {
  stats_snapshot snap;
  auto counts = index->compute_stats();
  if (!counts) co_return counts.error();
  snap.counts = *counts;
  auto ec = index->for_each_pin([&](std::string_view, std::string_view, std::string_view, const store::pin_record&) {
    ++snap.pins;
    return true;
  });
  if (ec) co_return ec;
  co_return snap;
}

asio::awaitable<result<inventory>> inventory_task(const store::index* index) { co_return take_inventory(*index); }

asio::awaitable<result<std::string>> pins_task(const store::index* index) {
  json::array pins;
  auto ec = index->for_each_pin(
      [&](std::string_view up, std::string_view repo, std::string_view ref, const store::pin_record& pin) {
        pins.push_back(pin_json(up, repo, ref, pin));
        return true;
      });
  if (ec) co_return ec;
  co_return json::serialize(json::object{{"pins", std::move(pins)}});
}

asio::awaitable<error_code> put_pin_task(store::index* index, std::string upstream, std::string repository,
                                         std::string reference, store::pin_record pin) {
  co_return index->put_pin(upstream, repository, reference, pin);
}

asio::awaitable<error_code> remove_pin_task(store::index* index, std::string upstream, std::string repository,
                                            std::string reference) {
  co_return index->remove_pin(upstream, repository, reference);
}

// Removes every pin carrying `label`; the images unpinned, as pin_json names them.
asio::awaitable<result<std::vector<std::string>>> remove_labelled_pins_task(store::index* index, std::string label) {
  auto removed = store::remove_pins_where(*index, [&label](const store::pin_record& pin) { return pin.label == label; });
  if (!removed) co_return removed.error();
  std::vector<std::string> unpinned;
  for (const auto& pin : *removed)
    unpinned.emplace_back(pin_json(pin.upstream, pin.repository, pin.reference, pin.record).at("image").as_string());
  co_return unpinned;
}

// purge_report holds no digest type, so the result is default-constructible as co_spawn needs.
asio::awaitable<boost::system::result<purge_report, purge_failure>> purge_task(store::remover* remover,
                                                                               std::string upstream,
                                                                               std::string repository,
                                                                               oci::reference reference) {
  co_return purge_image(*remover, upstream, repository, reference);
}

asio::awaitable<result<cache::eviction_report>> gc_task(cache::evictor* evictor) { co_return evictor->run_once(true); }

// ---- streams ----

// One image's prefetch, shared between the detached coroutine that runs it
// and the handler that reports on it. Both run on the connection's
// single-threaded executor, so no lock is needed.
struct prefetch_job {
  cache::prefetch_progress latest;
  bool changed = false;
  bool done = false;
  std::optional<cache::prefetch_result> outcome;
  std::string exception;
};

struct record_progress {
  std::shared_ptr<prefetch_job> job;
  void operator()(const cache::prefetch_progress& p) const {
    job->latest = p;
    job->changed = true;
  }
};

// Detached from the request: a client that goes away does not abort fills.
asio::awaitable<void> run_prefetch(cache::prefetcher* prefetcher, std::shared_ptr<const cache::upstream_source> source,
                                   std::string repository, std::string reference, cache::platform_filter filter,
                                   std::shared_ptr<prefetch_job> job) {
  std::function<void(const cache::prefetch_progress&)> on_progress = record_progress{job};
  try {
    auto r = co_await prefetcher->prefetch(std::move(source), std::move(repository), std::move(reference),
                                           std::move(filter), std::move(on_progress));
    job->outcome = std::move(r);
  } catch (const std::exception& e) {
    job->exception = e.what();
  }
  job->done = true;
}

// A verification, shared between the blocking thread that runs it and the
// handler on its connection's thread.
struct verify_job {
  std::mutex mutex;
  store::fsck_progress latest;
  std::uint64_t updates = 0;
  bool done = false;
  std::optional<result<store::fsck_report>> outcome;
};

asio::awaitable<void> run_fsck(store::remover* remover, bool dry_run,
                               std::shared_ptr<verify_job> job, std::shared_ptr<std::atomic<bool>> verifying) {
  store::fsck_options options;
  options.dry_run = dry_run;
  options.on_progress = [job](const store::fsck_progress& p) {
    std::lock_guard lock(job->mutex);
    job->latest = p;
    ++job->updates;
  };
  auto report = store::fsck(*remover, options);
  if (report) {
    spdlog::info("admin verify: {} files, {} bytes checked, {} findings, {} files removed{}", report->files_checked,
                 report->bytes_checked, report->findings.size(), report->files_removed, dry_run ? " (dry run)" : "");
  } else {
    spdlog::error("admin verify failed: {}", report.error().message());
  }
  {
    std::lock_guard lock(job->mutex);
    job->outcome = std::move(report);
    job->done = true;
  }
  verifying->store(false);
  co_return;
}

json::object scan_json(const core::digest& digest, const std::optional<store::scan_record>& record) {
  if (!record)
    return {{"digest", digest.str()},
            {"verdict", "pending"},
            {"summary", "no verdict within scan.timeout (a webhook may still post it)"}};
  return {{"digest", digest.str()},
          {"image", record->image},
          {"verdict", scan::verdict_name(record->verdict)},
          {"summary", record->summary},
          {"report", record->report},
          {"scanned_ms", record->scanned_ms}};
}

// What `regcache scan` scans of a resolved image: the manifest, or an
// index's platform manifests that are cached.
std::vector<core::digest> scan_targets(const store::index& index, const cache::manifest_result& top) {
  if (!oci::is_index_media_type(top.media_type)) return {top.digest};
  std::vector<core::digest> targets;
  auto info = oci::parse_manifest(top.bytes ? std::string_view(*top.bytes) : std::string_view(), top.media_type);
  if (!info) return targets;
  for (const auto& child : info->referenced()) {
    auto row = index.get_manifest(child);
    if (row && *row) targets.push_back(child);
  }
  return targets;
}

}  // namespace

handler::handler(services s) : s_(std::move(s)) {}

asio::awaitable<void> handler::operator()(exchange& ex) {
  if (s_.token) {
    const auto authorization = ex.headers("Authorization");
    if (!s_.token->accepts(authorization)) co_return co_await refuse_unauthenticated(ex, !authorization.empty());
  }
  co_await serve(ex);
}

asio::awaitable<void> handler::serve(exchange& ex) {
  ex.annotate("admin", "-");
  auto target = http::parse_target(ex.target());
  if (!target) {
    co_await send_error(ex, 400, "malformed request target");
    co_return;
  }
  const std::string path = target->path;
  const auto m = ex.method();
  const bool get = m == http::method::get || m == http::method::head;
  const bool post = m == http::method::post;
  if (path == "/api/v1/stats" && get) co_return co_await stats(ex);
  if (path == "/api/v1/images" && get) co_return co_await images(ex, false);
  if (path == "/api/v1/repositories" && get) co_return co_await images(ex, true);
  if (path == "/api/v1/pins" && get) co_return co_await list_pins(ex);
  if (path == "/api/v1/pins" && post) co_return co_await pin(ex);
  if (path == "/api/v1/pins" && m == http::method::delete_) {
    const auto image = target->query_value("image");
    const auto label = target->query_value("label");
    if (image.has_value() == label.has_value())
      co_return co_await send_error(ex, 400, "DELETE /api/v1/pins needs ?image=<image> or ?label=<key=value>");
    if (label) co_return co_await unpin_label(ex, std::string(*label));
    co_return co_await unpin(ex, std::string(*image));
  }
  if (path == "/api/v1/prefetch" && post) co_return co_await prefetch(ex);
  if (path == "/api/v1/purge" && post) co_return co_await purge(ex);
  if (path == "/api/v1/gc" && post) co_return co_await gc(ex);
  if (path == "/api/v1/verify" && post) co_return co_await verify(ex);
  if (path == "/api/v1/scan" && post) co_return co_await scan_image(ex);
  if (path.starts_with(scans_path) && post) co_return co_await scan_verdict(ex, path.substr(scans_path.size()));

  if (const auto allow = allowed_methods(path); !allow.empty()) {
    response_head head{405, {}, std::nullopt};
    head.fields.emplace_back("Content-Type", "application/json");
    head.fields.emplace_back("Allow", std::string(allow));
    auto body =
        error_body(std::string(ex.method_name()) + " " + path + " is not supported; allowed: " + std::string(allow));
    auto ec = co_await ex.send(std::move(head), std::move(body));
    ignore_error(ec, "the admin client may be gone");
    co_return;
  }
  co_await send_error(ex, 404, "no such admin endpoint: " + path.substr(0, 200) + " (see /api/v1/...)");
}

asio::awaitable<void> handler::stats(exchange& ex) {
  auto snap = co_await asio::co_spawn(s_.blocking, stats_task(&s_.index), asio::use_awaitable);
  if (!snap) co_return co_await send_failure(ex, snap.error(), "reading the index");
  const auto& policy = s_.evictor.policy();
  const auto quota = static_cast<double>(policy.quota_bytes);
  json::object o{{"version", s_.version},
                 {"cached_bytes", snap->counts.blob_bytes},
                 {"blobs", snap->counts.blob_count},
                 {"manifests", snap->counts.manifest_count},
                 {"tags", snap->counts.tag_count},
                 {"pins", snap->pins},
                 {"quota_bytes", policy.quota_bytes},
                 {"high_watermark_bytes", static_cast<std::uint64_t>(quota * policy.high_watermark)},
                 {"low_watermark_bytes", static_cast<std::uint64_t>(quota * policy.low_watermark)},
                 {"min_age_ms", policy.min_age.count()},
                 {"max_unused_age_ms", policy.max_unused_age.count()},
                 {"fills_in_flight", s_.metrics.fills_in_flight.value()},
                 {"last_eviction", nullptr}};
  if (auto last = s_.evictor.last_report()) o["last_eviction"] = to_json(*last);
  co_await send_object(ex, 200, std::move(o));
}

asio::awaitable<void> handler::images(exchange& ex, bool by_repository) {
  auto inv = co_await asio::co_spawn(s_.blocking, inventory_task(&s_.index), asio::use_awaitable);
  if (!inv) co_return co_await send_failure(ex, inv.error(), "reading the index");
  json::array items;
  if (by_repository) {
    for (const auto& r : inv->repositories) items.push_back(to_json(r));
    json::object o{{"repositories", std::move(items)}};
    co_return co_await send_object(ex, 200, std::move(o));
  }
  for (const auto& i : inv->images) items.push_back(to_json(i));
  json::object o{{"images", std::move(items)}};
  co_await send_object(ex, 200, std::move(o));
}

asio::awaitable<void> handler::list_pins(exchange& ex) {
  auto body = co_await asio::co_spawn(s_.blocking, pins_task(&s_.index), asio::use_awaitable);
  if (!body) co_return co_await send_failure(ex, body.error(), "reading the pins");
  co_await send_body(ex, 200, std::move(*body));
}

asio::awaitable<void> handler::pin(exchange& ex) {
  auto body = co_await read_request_body(ex);
  if (!body) co_return;
  auto request = parse_pin_request(*body);
  if (!request) co_return co_await send_error(ex, 400, request.error().message);
  auto filter = cache::platform_filter::parse(request->platforms);
  if (!filter)
    co_return co_await send_error(ex, 400, "invalid platform: use os/arch or os/arch/variant, e.g. linux/arm64/v8");
  auto routed = co_await route_image(ex, s_.router, request->image);
  if (!routed) co_return;
  const auto& ref = request->image.reference;
  const auto image = display(*routed, ref);

  auto top = co_await resolve_top(&s_.manifests, *routed, ref);
  if (!top) co_return co_await send_failure(ex, top.error(), image);
  // The pin first, so eviction cannot take what the fetch below brings in.
  const auto now_ms = core::to_unix_ms(s_.clock.now());
  const auto expires_at_ms = request->lasts ? now_ms + request->lasts->count() : 0;
  store::pin_record record{top->digest, request->platforms, now_ms, expires_at_ms, request->label};
  auto ec = co_await asio::co_spawn(s_.blocking,
                                    put_pin_task(&s_.index, routed->source->name, routed->repository, ref.text, record),
                                    asio::use_awaitable);
  if (ec) co_return co_await send_failure(ex, ec, "storing the pin");
  spdlog::info("admin: pinned {} ({}){}{}", image, top->digest.str(),
               request->lasts ? " for " + std::to_string(request->lasts->count()) + " ms" : std::string(),
               request->label.empty() ? std::string() : " labelled " + request->label);

  // A pinned image is one the cache keeps whole: fetch what is missing of it.
  auto fetched = co_await s_.prefetcher.prefetch(routed->source, routed->repository, ref.text, *filter);
  auto o = pin_json(routed->source->name, routed->repository, ref.text, record);
  json::object fetch;
  add_progress(fetch, fetched.progress);
  if (fetched.error) fetch["error"] = fetched.error.message();
  o["fetch"] = std::move(fetch);
  co_await send_object(ex, 200, std::move(o));
}

asio::awaitable<void> handler::unpin(exchange& ex, std::string text) {
  auto image_ref = parse_image_ref(text);
  if (!image_ref) co_return co_await send_error(ex, 400, image_ref.error().message);
  auto routed = co_await route_image(ex, s_.router, *image_ref);
  if (!routed) co_return;
  const auto& ref = image_ref->reference;
  const auto image = display(*routed, ref);
  auto ec = co_await asio::co_spawn(
      s_.blocking, remove_pin_task(&s_.index, routed->source->name, routed->repository, ref.text), asio::use_awaitable);
  if (ec == store::errc::not_found)
    co_return co_await send_error(ex, 404, image + " is not pinned (pins are listed by GET /api/v1/pins)");
  if (ec) co_return co_await send_failure(ex, ec, "removing the pin");
  spdlog::info("admin: unpinned {}", image);
  json::object o{{"unpinned", image}};
  co_await send_object(ex, 200, std::move(o));
}

asio::awaitable<void> handler::unpin_label(exchange& ex, std::string text) {
  auto label = parse_pin_label(text);
  if (!label) co_return co_await send_error(ex, 400, label.error().message);
  auto unpinned = co_await asio::co_spawn(s_.blocking, remove_labelled_pins_task(&s_.index, *label),
                                          asio::use_awaitable);
  if (!unpinned) co_return co_await send_failure(ex, unpinned.error(), "removing the pins");
  if (unpinned->empty())
    co_return co_await send_error(ex, 404, "no pin has the label " + *label + " (pins are listed by GET /api/v1/pins)");
  spdlog::info("admin: unpinned {} images labelled {}", unpinned->size(), *label);
  json::array images;
  for (const auto& image : *unpinned) images.emplace_back(image);
  json::object o{{"label", *label}, {"unpinned", std::move(images)}};
  co_await send_object(ex, 200, std::move(o));
}

asio::awaitable<void> handler::prefetch(exchange& ex) {
  auto body = co_await read_request_body(ex);
  if (!body) co_return;
  auto request = parse_prefetch_request(*body);
  if (!request) co_return co_await send_error(ex, 400, request.error().message);
  auto filter = cache::platform_filter::parse(request->platforms);
  if (!filter)
    co_return co_await send_error(ex, 400, "invalid platform: use os/arch or os/arch/variant, e.g. linux/arm64/v8");
  // Every image is routed before the first byte of the stream: a typo is a 4xx, not a line.
  std::vector<registry::routed> routes;
  for (const auto& image : request->images) {
    auto routed = co_await route_image(ex, s_.router, image);
    if (!routed) co_return;
    routes.push_back(std::move(*routed));
  }

  response_head head{200, {{"Content-Type", "application/x-ndjson"}}, std::nullopt};
  if (auto ec = co_await ex.send_head(std::move(head))) co_return;
  const auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);
  std::uint64_t failed = 0;
  std::uint64_t bytes_fetched = 0;
  for (std::size_t i = 0; i < routes.size(); ++i) {
    const auto& ref = request->images[i].reference;
    const auto image = display(routes[i], ref);
    auto job = std::make_shared<prefetch_job>();
    asio::co_spawn(executor,
                   run_prefetch(&s_.prefetcher, routes[i].source, routes[i].repository, ref.text, *filter, job),
                   asio::detached);
    spdlog::info("admin: prefetching {}", image);
    while (!job->done) {
      timer.expires_after(progress_period);
      auto [wait_ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      ignore_error(wait_ec, "only a period between checks");
      if (!job->changed || job->done) continue;
      job->changed = false;
      json::object line{{"event", "progress"}, {"image", image}};
      add_progress(line, job->latest);
      // The client is gone: the detached prefetch finishes this image on its own.
      if (auto ec = co_await ex.write(ndjson_line(line))) co_return;
    }
    json::object line{{"event", "image_done"}, {"image", image}};
    if (job->outcome) {
      if (job->outcome->digest) line["digest"] = job->outcome->digest->str();
      line["manifests"] = job->outcome->manifests;
      add_progress(line, job->outcome->progress);
      bytes_fetched += job->outcome->progress.bytes_fetched;
      if (job->outcome->error) {
        line["error"] = job->outcome->error.message();
        if (!job->outcome->failed_digest.empty()) line["failed_digest"] = job->outcome->failed_digest;
      }
    } else {
      line["error"] = "internal error: " + job->exception;
    }
    const bool ok = !line.contains("error");
    if (!ok) ++failed;
    spdlog::info("admin: prefetch of {} {}", image, ok ? "done" : "failed: " + std::string(line["error"].as_string()));
    if (auto ec = co_await ex.write(ndjson_line(line))) co_return;
  }
  json::object done{{"event", "done"}, {"images", routes.size()}, {"failed", failed}, {"bytes_fetched", bytes_fetched}};
  if (auto ec = co_await ex.write(ndjson_line(done))) co_return;
  auto ec = co_await ex.finish();
  ignore_error(ec, "the admin client may be gone");
}

asio::awaitable<void> handler::purge(exchange& ex) {
  auto requested = co_await read_image_request(ex, s_.router);
  if (!requested) co_return;
  const auto& routed = requested->routed;
  const auto& image = requested->shown;
  auto outcome = co_await asio::co_spawn(
      s_.blocking, purge_task(&s_.remover, routed.source->name, routed.repository, requested->image.reference),
      asio::use_awaitable);
  if (!outcome) {
    const auto& f = outcome.error();
    const unsigned status = f.what == purge_failure::kind::not_cached ? 404
                            : f.what == purge_failure::kind::pinned   ? 409
                                                                      : 500;
    co_return co_await send_error(ex, status, f.message);
  }
  spdlog::info("admin: purged {}: {} tags, {} manifests, {} blobs, {} bytes", image, outcome->tags_removed,
               outcome->manifests_removed, outcome->blobs_removed, outcome->bytes_removed);
  json::object o{{"image", image},
                 {"digest", outcome->digest},
                 {"tags_removed", outcome->tags_removed},
                 {"manifests_removed", outcome->manifests_removed},
                 {"blobs_removed", outcome->blobs_removed},
                 {"bytes_removed", outcome->bytes_removed}};
  co_await send_object(ex, 200, std::move(o));
}

asio::awaitable<void> handler::gc(exchange& ex) {
  auto report = co_await asio::co_spawn(s_.blocking, gc_task(&s_.evictor), asio::use_awaitable);
  if (!report) co_return co_await send_failure(ex, report.error(), "eviction pass failed");
  co_await send_object(ex, 200, to_json(*report));
}

asio::awaitable<void> handler::verify(exchange& ex) {
  auto body = co_await read_request_body(ex);
  if (!body) co_return;
  auto request = parse_verify_request(*body);
  if (!request) co_return co_await send_error(ex, 400, request.error().message);
  if (verifying_->exchange(true)) co_return co_await send_error(ex, 409, "a verification is already running");

  auto job = std::make_shared<verify_job>();
  asio::co_spawn(s_.blocking, run_fsck(&s_.remover, request->dry_run, job, verifying_), asio::detached);
  response_head head{200, {{"Content-Type", "application/x-ndjson"}}, std::nullopt};
  if (auto ec = co_await ex.send_head(std::move(head))) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  std::uint64_t reported = 0;
  for (;;) {
    timer.expires_after(progress_period);
    auto [wait_ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    ignore_error(wait_ec, "only a period between checks");
    std::optional<store::fsck_progress> progress;
    std::optional<result<store::fsck_report>> outcome;
    {
      std::lock_guard lock(job->mutex);
      if (job->done)
        outcome = std::move(job->outcome);
      else if (job->updates != reported)
        progress = job->latest;
      reported = job->updates;
    }
    if (progress) {
      auto line = to_json(*progress);
      line["event"] = "progress";
      // The client is gone: the verification runs to its end on the blocking pool.
      if (auto ec = co_await ex.write(ndjson_line(line))) co_return;
    }
    if (!outcome) continue;
    json::object line;
    if (*outcome)
      line = to_json(**outcome);
    else
      line["error"] = outcome->error().message();
    line["event"] = "done";
    if (auto ec = co_await ex.write(ndjson_line(line))) co_return;
    auto ec = co_await ex.finish();
    ignore_error(ec, "the admin client may be gone");
    co_return;
  }
}

asio::awaitable<void> handler::scan_image(exchange& ex) {
  if (!s_.scanner || !s_.scanner->enabled())
    co_return co_await send_error(ex, 409, "scanning is not configured (a scan: section whose mode is not off)");
  auto requested = co_await read_image_request(ex, s_.router);
  if (!requested) co_return;
  const auto& routed = requested->routed;
  const auto& image = requested->shown;
  auto top = co_await resolve_top(&s_.manifests, routed, requested->image.reference);
  if (!top) co_return co_await send_failure(ex, top.error(), image);
  const auto targets = scan_targets(s_.index, *top);
  if (targets.empty())
    co_return co_await send_error(ex, 409, image + " is an index none of whose platform manifests is cached: pull or "
                                               "prefetch it first");
  spdlog::info("admin: scanning {} ({} manifests)", image, targets.size());
  json::array scans;
  for (const auto& digest : targets) {
    scan::scan_target target{routed.source->name, routed.repository, digest};
    auto record = co_await s_.scanner->scan_now(std::move(target));
    scans.push_back(scan_json(digest, record));
  }
  json::object o{{"image", image}, {"digest", top->digest.str()}, {"scans", std::move(scans)}};
  co_await send_object(ex, 200, std::move(o));
}

asio::awaitable<void> handler::scan_verdict(exchange& ex, std::string digest_text) {
  if (!s_.scanner || !s_.scanner->enabled())
    co_return co_await send_error(ex, 409, "scanning is not configured (a scan: section whose mode is not off)");
  const auto digest = core::digest::parse(digest_text);
  if (!digest) co_return co_await send_error(ex, 400, "not a digest: use /api/v1/scans/sha256:<64 hex>");
  auto body = co_await read_request_body(ex);
  if (!body) co_return;
  auto outcome = scan::parse_verdict(*body);
  if (!outcome)
    co_return co_await send_error(
        ex, 400, R"(expected {"verdict": "pass" | "fail" | "error", "summary": "...", "report": "..."})");
  const auto verdict = scan::verdict_name(outcome->verdict);
  if (auto ec = s_.scanner->accept_verdict(*digest, std::move(*outcome)))
    co_return co_await send_failure(ex, ec, "the verdict for " + digest->str());
  json::object o{{"digest", digest->str()}, {"verdict", verdict}};
  co_await send_object(ex, 200, std::move(o));
}

}  // namespace regcache::admin

#include "regcache/cache/upstream_source.hpp"

#include "regcache/cache/context.hpp"
#include "regcache/oci/media_type.hpp"
#include "regcache/upstream/rate_limit.hpp"

#include <boost/algorithm/string/predicate.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace regcache::cache {
namespace asio = boost::asio;

namespace {
thread_local std::size_t this_worker = 0;
}  // namespace

void set_worker_index(std::size_t index) noexcept { this_worker = index; }
std::size_t worker_index() noexcept { return this_worker; }

upstream::client& upstream_source::client() const { return *clients[this_worker % clients.size()]; }

namespace {

constexpr int max_redirects = 10;
constexpr int max_attempts = 3;
constexpr std::chrono::milliseconds first_retry_pause{100};

bool is_redirect(unsigned status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// Worth another try: the upstream is overloaded or restarting.
bool is_transient(unsigned status) { return status == 500 || status == 502 || status == 503 || status == 504; }

// A redirect's Location split into the origin to connect to and the target
// to ask for there ("/path?query", kept whole: signed URLs live in the query).
struct redirect_target {
  upstream::endpoint origin;
  std::string target;
};

std::optional<redirect_target> resolve_location(std::string_view location, const upstream::endpoint& from) {
  if (location.starts_with('/') && !location.starts_with("//")) {
    auto origin = upstream::parse_url(from.origin());
    if (!origin) return std::nullopt;
    return redirect_target{*origin, std::string(location)};
  }
  const auto scheme_end = location.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  const auto path_start = location.find_first_of("/?", scheme_end + 3);
  auto origin = upstream::parse_url(location.substr(0, path_start));
  if (!origin) return std::nullopt;
  std::string target = path_start == std::string_view::npos ? "/" : std::string(location.substr(path_start));
  if (target.starts_with('?')) target.insert(0, "/");
  return redirect_target{*origin, std::move(target)};
}

// Only Accept and Range travel with a redirect (as distribution's client
// does); Authorization is added again by the authenticator, and only when
// the redirect stays on the upstream's own host.
upstream::request redirected(const upstream::request& original, std::string target) {
  upstream::request next;
  next.verb = original.verb;
  next.target = std::move(target);
  for (const auto& [name, value] : original.headers) {
    if (boost::iequals(name, "Accept") || boost::iequals(name, "Range")) next.headers.emplace_back(name, value);
  }
  return next;
}

// One exchange with the upstream, following redirects.
asio::awaitable<result<upstream::response>> exchange(const upstream_source& source, cache_metrics& metrics,
                                                     upstream::request req) {
  auto& client = source.client();
  const std::string repository = repository_of_target(req.target);
  if (source.send_ns) req.target += (req.target.find('?') == std::string::npos ? "?ns=" : "&ns=") + source.name;
  result<upstream::response> sent = upstream::errc::invalid_request;
  if (source.auth) sent = co_await source.auth->send(client, req, repository);
  else sent = co_await client.send(req);

  const auto home = client.target();
  for (int hops = 0; sent && is_redirect(sent->status()) && source.auth; ++hops) {
    metrics.upstream_requests(sent->status()).inc();
    const auto location = sent->header("Location");
    const auto next = location ? resolve_location(*location, home) : std::nullopt;
    if (hops == max_redirects || !next) {
      spdlog::warn("upstream {}: not following redirect {} for {}", source.name, location.value_or("(none)"),
                   req.target);
      co_return upstream::errc::protocol_error;
    }
    co_await sent->discard();
    const auto executor = co_await asio::this_coro::executor;
    auto target_client = source.auth->client_for(next->origin, executor);
    auto follow = redirected(req, next->target);
    if (next->origin.host == home.host && next->origin.port == home.port)
      sent = co_await source.auth->send(*target_client, std::move(follow), repository);
    else
      sent = co_await target_client->send(std::move(follow));
  }
  co_return sent;
}

// Docker Hub reports its pull quota on manifest responses; the gauges show
// the last values seen, per upstream.
void record_rate_limit(const upstream_source& source, cache_metrics& metrics, const upstream::response& r) {
  static constexpr std::pair<std::string_view, std::string_view> headers[] = {
      {"RateLimit-Limit", "regcache_upstream_ratelimit_limit"},
      {"RateLimit-Remaining", "regcache_upstream_ratelimit_remaining"}};
  for (const auto& [header, metric] : headers) {
    const auto value = r.header(header);
    const auto parsed = value ? upstream::parse_rate_limit(*value) : std::nullopt;
    if (!parsed) continue;
    const metrics::labels upstream_label{{"upstream", source.name}};
    metrics.registry
        .get_gauge(metric, "Pull quota the upstream reported in its RateLimit headers (last value seen)",
                   upstream_label)
        .set(static_cast<std::int64_t>(parsed->count));
    if (parsed->window_seconds)
      metrics.registry
          .get_gauge("regcache_upstream_ratelimit_window_seconds",
                     "Length of the upstream's pull-quota window, from its RateLimit headers", upstream_label)
          .set(static_cast<std::int64_t>(*parsed->window_seconds));
  }
}

}  // namespace

asio::awaitable<void> back_off(std::chrono::milliseconds how_long) {
  asio::steady_timer timer(co_await asio::this_coro::executor, how_long);
  auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  ignore_error(ec, "the pause is only a back-off");
}

asio::awaitable<result<upstream::response>> send_upstream(const upstream_source& source, cache_metrics& metrics,
                                                          upstream::request req) {
  if (source.offline) co_return errc::offline;
  // Every request regcache sends upstream is a GET or HEAD: safe to repeat.
  for (int attempt = 1;; ++attempt) {
    auto sent = co_await exchange(source, metrics, req);
    const bool refused = !sent && sent.error() == upstream::errc::connect_failed;
    const bool transient = sent && is_transient(sent->status());
    if (attempt < max_attempts && (refused || transient)) {
      if (transient) metrics.upstream_requests(sent->status()).inc();
      spdlog::info("upstream {}: {} for {}, retrying", source.name,
                   refused ? sent.error().message() : "status " + std::to_string(sent->status()), req.target);
      co_await back_off(first_retry_pause * (1 << (attempt - 1)));
      continue;
    }
    if (!sent) {
      spdlog::warn("upstream {} unreachable: {}", source.name, sent.error().message());
      co_return errc::upstream_unreachable;
    }
    metrics.upstream_requests(sent->status()).inc();
    record_rate_limit(source, metrics, *sent);
    if (sent->status() == 429)
      spdlog::warn("upstream {} rate-limits regcache (429) for {}; Retry-After: {}", source.name, req.target,
                   sent->header("Retry-After").value_or("(none)"));
    co_return std::move(*sent);
  }
}

std::string repository_of_target(std::string_view target) {
  target = target.substr(0, target.find('?'));
  if (!target.starts_with("/v2/")) return {};
  target.remove_prefix(4);
  const auto last = target.rfind('/');
  if (last == std::string_view::npos || last == 0) return {};
  const auto before = target.substr(0, last);
  const auto marker_at = before.rfind('/');
  if (marker_at == std::string_view::npos || marker_at == 0) return {};
  const auto marker = before.substr(marker_at + 1);
  if (marker != "manifests" && marker != "blobs" && marker != "tags" && marker != "referrers") return {};
  return std::string(before.substr(0, marker_at));
}

error_code upstream_status_error(unsigned status, errc not_found) {
  if (status == 404) return not_found;
  if (status == 429) return errc::upstream_rate_limited;
  return errc::upstream_failed;
}

namespace {

// Whether `content_range` ("bytes <first>-<last>/<total>") continues exactly
// at `offset` to the end of a `total`-byte blob.
bool continues_at(std::string_view content_range, std::uint64_t offset, std::uint64_t total) {
  const auto expected = "bytes " + std::to_string(offset) + "-" + std::to_string(total - 1) + "/" +
                        std::to_string(total);
  return content_range == expected;
}

}  // namespace

asio::awaitable<result<upstream::response>> get_blob_from(const upstream_source& source, cache_metrics& metrics,
                                                          std::string target, std::uint64_t offset,
                                                          std::uint64_t size) {
  upstream::request req;
  req.verb = upstream::method::get;
  req.target = target;
  req.headers.emplace_back("Range", "bytes=" + std::to_string(offset) + "-");
  auto sent = co_await send_upstream(source, metrics, std::move(req));
  if (!sent) co_return sent.error();
  const auto range = sent->header("Content-Range");
  if (sent->status() == 206 && range && continues_at(*range, offset, size)) co_return std::move(*sent);
  // A 200 or a range elsewhere cannot continue; a 404 now means it is gone.
  spdlog::warn("upstream {} cannot continue {} at byte {}: status {}", source.name, target, offset, sent->status());
  if (sent->status() == 206 || sent->status() == 200) co_return errc::upstream_invalid;
  co_return upstream_status_error(sent->status(), errc::blob_unknown);
}

asio::awaitable<result<upstream_head>> head_upstream(const upstream_source& source, cache_metrics& metrics,
                                                     std::string target, bool want_manifest) {
  upstream::request req;
  req.verb = upstream::method::head;
  req.target = std::move(target);
  if (want_manifest) req.headers.emplace_back("Accept", std::string(oci::manifest_accept_header()));
  auto sent = co_await send_upstream(source, metrics, std::move(req));
  if (!sent) co_return sent.error();
  upstream_head head;
  head.status = sent->status();
  head.content_length = sent->content_length();
  if (auto d = sent->header("Docker-Content-Digest")) head.digest_header = std::string(*d);
  if (auto t = sent->header("Content-Type")) head.content_type = std::string(oci::strip_parameters(*t));
  co_return head;
}

}  // namespace regcache::cache

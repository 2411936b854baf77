#include "regcache/upstream/registry_client.hpp"

#include "regcache/core/text.hpp"
#include "regcache/oci/manifest.hpp"
#include "regcache/oci/media_type.hpp"
#include "regcache/oci/tag_list.hpp"
#include "regcache/upstream/rate_limit.hpp"

#include <boost/algorithm/string/predicate.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace regcache::upstream {
namespace asio = boost::asio;

namespace {
thread_local std::size_t this_worker = 0;
}  // namespace

void set_worker_index(std::size_t index) noexcept { this_worker = index; }
std::size_t worker_index() noexcept { return this_worker; }

error_code status_error(unsigned status) noexcept {
  switch (status) {
    case 401: return errc::unauthorized;
    case 403: return errc::denied;
    case 404:
    case 410: return errc::not_found;
    case 429: return errc::rate_limited;
    default: break;
  }
  if (status >= 400 && status < 500) return errc::rejected;
  return errc::server_error;
}

namespace {

constexpr int max_redirects = 10;
constexpr std::size_t first_tag_page = 1000;

bool is_redirect(unsigned status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// Worth another try: the upstream is overloaded or restarting. A 4xx is the
// upstream's considered answer and would come back the same.
bool is_transient(unsigned status) { return status == 500 || status == 502 || status == 503 || status == 504; }

// A redirect's Location split into the origin to connect to and the target
// to ask for there ("/path?query", kept whole: signed URLs live in the query).
struct redirect_target {
  endpoint origin;
  std::string target;
};

std::optional<redirect_target> resolve_location(std::string_view location, const endpoint& from) {
  if (location.starts_with('/') && !location.starts_with("//")) {
    auto origin = parse_url(from.origin());
    if (!origin) return std::nullopt;
    return redirect_target{*origin, std::string(location)};
  }
  const auto scheme_end = location.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  const auto path_start = location.find_first_of("/?", scheme_end + 3);
  auto origin = parse_url(location.substr(0, path_start));
  if (!origin) return std::nullopt;
  std::string target = path_start == std::string_view::npos ? "/" : std::string(location.substr(path_start));
  if (target.starts_with('?')) target.insert(0, "/");
  return redirect_target{*origin, std::move(target)};
}

// Only Accept and Range travel with a redirect (as distribution's client
// does); Authorization is added again by the authenticator, and only when
// the redirect stays on the upstream's own host.
request redirected(const request& original, std::string target) {
  request next;
  next.verb = original.verb;
  next.target = std::move(target);
  for (const auto& [name, value] : original.headers) {
    if (boost::iequals(name, "Accept") || boost::iequals(name, "Range")) next.headers.emplace_back(name, value);
  }
  return next;
}

// The target of `Link: <...>; rel="next"`, if any.
std::optional<std::string_view> next_link(std::string_view link) {
  if (link.find("rel=\"next\"") == std::string_view::npos) return std::nullopt;
  const auto open = link.find('<');
  const auto close = link.find('>', open);
  if (open == std::string_view::npos || close == std::string_view::npos) return std::nullopt;
  return link.substr(open + 1, close - open - 1);
}

// Link targets are usually origin-relative; an absolute one must stay on the upstream.
std::optional<std::string> relative_target(std::string_view target, const endpoint& ep) {
  if (target.starts_with('/')) {
    if (!ep.base_path.empty() && target.starts_with(ep.base_path)) target.remove_prefix(ep.base_path.size());
    return std::string(target);
  }
  const auto origin = ep.origin();
  if (!target.starts_with(origin)) return std::nullopt;
  return relative_target(target.substr(origin.size()), ep);
}

// Whether `content_range` ("bytes <first>-<last>/<total>") starts at
// `offset` and runs to the blob's end; its total when it does.
std::optional<std::uint64_t> continued_total(std::string_view content_range, std::uint64_t offset) {
  const auto prefix = "bytes " + std::to_string(offset) + "-";
  if (!content_range.starts_with(prefix)) return std::nullopt;
  content_range.remove_prefix(prefix.size());
  const auto slash = content_range.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const auto last = core::parse_decimal(content_range.substr(0, slash));
  const auto total = core::parse_decimal(content_range.substr(slash + 1));
  if (!last || !total || *last + 1 != *total || *last < offset) return std::nullopt;
  return *total;
}

std::optional<core::digest> digest_header(const response& r) {
  const auto value = r.header("Docker-Content-Digest");
  if (!value) return std::nullopt;
  auto parsed = core::digest::parse(*value);
  if (!parsed) return std::nullopt;
  return *parsed;
}

std::string media_type_header(const response& r) {
  return std::string(oci::strip_parameters(r.header("Content-Type").value_or("")));
}

request make_request(method verb, std::string target) { return request{verb, std::move(target), {}}; }

std::string manifest_target(const std::string& repository, const std::string& reference) {
  return "/v2/" + repository + "/manifests/" + reference;
}

std::string blob_target(const std::string& repository, const core::digest& digest) {
  return "/v2/" + repository + "/blobs/" + digest.str();
}

}  // namespace

asio::awaitable<void> back_off(std::chrono::milliseconds how_long) {
  asio::steady_timer timer(co_await asio::this_coro::executor, how_long);
  auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  ignore_error(ec, "the pause is only a back-off");
}

asio::awaitable<result<std::size_t>> blob_stream::read_some(std::span<std::byte> buf) {
  co_return co_await response_.read_some(buf);
}

registry_client::registry_client(registry_options options, std::vector<std::shared_ptr<client>> clients,
                                 std::shared_ptr<authenticator> auth, metrics::registry& metrics)
    : options_(std::move(options)), clients_(std::move(clients)), auth_(std::move(auth)), metrics_(metrics) {}

bool registry_client::permits(std::string_view repository) const {
  const bool allowed =
      options_.allow_repositories.empty() || oci::matches_any(options_.allow_repositories, repository);
  return allowed && !oci::matches_any(options_.deny_repositories, repository);
}

client& registry_client::client_here() const { return *clients_[this_worker % clients_.size()]; }

metrics::counter& registry_client::requests_by_status(std::string status) {
  return metrics_.get_counter("regcache_upstream_requests_total",
                              "Requests sent to upstream registries, by upstream and status (error: no answer)",
                              {{"upstream", options_.name}, {"status", std::move(status)}});
}

// Docker Hub reports its pull quota on manifest responses; the gauges show
// the last values seen, per upstream.
void registry_client::record_rate_limit(const response& r) {
  static constexpr std::pair<std::string_view, std::string_view> headers[] = {
      {"RateLimit-Limit", "regcache_upstream_ratelimit_limit"},
      {"RateLimit-Remaining", "regcache_upstream_ratelimit_remaining"}};
  for (const auto& [header, metric] : headers) {
    const auto value = r.header(header);
    const auto parsed = value ? parse_rate_limit(*value) : std::nullopt;
    if (!parsed) continue;
    const metrics::labels upstream_label{{"upstream", options_.name}};
    metrics_
        .get_gauge(metric, "Pull quota the upstream reported in its RateLimit headers (last value seen)",
                   upstream_label)
        .set(static_cast<std::int64_t>(parsed->count));
    if (parsed->window_seconds)
      metrics_
          .get_gauge("regcache_upstream_ratelimit_window_seconds",
                     "Length of the upstream's pull-quota window, from its RateLimit headers", upstream_label)
          .set(static_cast<std::int64_t>(*parsed->window_seconds));
  }
}

// One exchange with the upstream, following redirects.
asio::awaitable<result<response>> registry_client::exchange(request req, std::string repository) {
  auto& home_client = client_here();
  auto sent = co_await auth_->send(home_client, req, repository);
  const auto home = home_client.target();
  for (int hops = 0; sent && is_redirect(sent->status()); ++hops) {
    requests_by_status(std::to_string(sent->status())).inc();
    const auto location = sent->header("Location");
    const auto next = location ? resolve_location(*location, home) : std::nullopt;
    if (hops == max_redirects || !next) {
      spdlog::warn("upstream {}: not following redirect {} for {}", options_.name, location.value_or("(none)"),
                   req.target);
      co_return errc::protocol_error;
    }
    co_await sent->discard();
    const auto executor = co_await asio::this_coro::executor;
    auto target_client = auth_->client_for(next->origin, executor);
    auto follow = redirected(req, next->target);
    if (next->origin.host == home.host && next->origin.port == home.port)
      sent = co_await auth_->send(*target_client, std::move(follow), repository);
    else
      sent = co_await target_client->send(std::move(follow));
  }
  co_return sent;
}

asio::awaitable<result<response>> registry_client::send(request req, std::string repository) {
  if (!permits(repository)) {
    spdlog::debug("upstream {}: not asking for repository {}: outside its allow_repositories/deny_repositories",
                  options_.name, repository);
    co_return errc::repository_not_allowed;
  }
  if (options_.offline) co_return errc::offline;
  if (options_.send_ns)
    req.target += (req.target.find('?') == std::string::npos ? "?ns=" : "&ns=") + options_.name;
  // Every request regcache sends upstream is a GET or HEAD: safe to repeat.
  for (int attempt = 1;; ++attempt) {
    auto sent = co_await exchange(req, repository);
    // An attempt without an answer: refused, reset, timed out, TLS failed.
    if (!sent) requests_by_status("error").inc();
    const bool refused = !sent && sent.error() == errc::connect_failed;
    const bool transient = sent && is_transient(sent->status());
    if (attempt < options_.max_attempts && (refused || transient)) {
      if (transient) requests_by_status(std::to_string(sent->status())).inc();
      spdlog::info("upstream {}: {} for {}, retrying", options_.name,
                   refused ? sent.error().message() : "status " + std::to_string(sent->status()), req.target);
      co_await back_off(options_.first_retry_pause * (1 << (attempt - 1)));
      continue;
    }
    if (!sent) {
      spdlog::warn("upstream {} unreachable: {}", options_.name, sent.error().message());
      co_return sent.error();
    }
    requests_by_status(std::to_string(sent->status())).inc();
    record_rate_limit(*sent);
    if (sent->status() == 429)
      spdlog::warn("upstream {} rate-limits regcache (429) for {}; Retry-After: {}", options_.name, req.target,
                   sent->header("Retry-After").value_or("(none)"));
    co_return std::move(*sent);
  }
}

asio::awaitable<result<response>> registry_client::send_expecting(request req, std::string repository,
                                                                  unsigned expected) {
  const auto target = req.target;
  auto sent = co_await send(std::move(req), std::move(repository));
  if (!sent) co_return sent.error();
  if (sent->status() == expected) co_return std::move(*sent);
  spdlog::debug("upstream {} answered {} for {}", options_.name, sent->status(), target);
  co_await sent->discard();
  co_return status_error(sent->status());
}

asio::awaitable<result<manifest_body>> registry_client::get_manifest(std::string repository, std::string reference,
                                                                     std::string accept) {
  auto req = make_request(method::get, manifest_target(repository, reference));
  req.headers.emplace_back("Accept", std::move(accept));
  auto sent = co_await send_expecting(std::move(req), repository, 200);
  if (!sent) co_return sent.error();
  auto answer = std::move(*sent);
  auto bytes = co_await answer.read_all(oci::max_manifest_bytes);
  if (!bytes) co_return bytes.error();
  co_return manifest_body{std::move(*bytes), media_type_header(answer), digest_header(answer)};
}

asio::awaitable<result<manifest_head>> registry_client::head_manifest(std::string repository,
                                                                      std::string reference, std::string accept) {
  auto req = make_request(method::head, manifest_target(repository, reference));
  req.headers.emplace_back("Accept", std::move(accept));
  auto sent = co_await send_expecting(std::move(req), repository, 200);
  if (!sent) co_return sent.error();
  co_return manifest_head{sent->content_length(), media_type_header(*sent), digest_header(*sent)};
}

asio::awaitable<result<blob_stream>> registry_client::get_blob(std::string repository, core::digest digest,
                                                               std::uint64_t offset) {
  auto req = make_request(method::get, blob_target(repository, digest));
  if (offset == 0) {
    auto sent = co_await send_expecting(std::move(req), repository, 200);
    if (!sent) co_return sent.error();
    const auto size = sent->content_length();
    co_return blob_stream(std::move(*sent), 0, size);
  }
  req.headers.emplace_back("Range", "bytes=" + std::to_string(offset) + "-");
  auto sent = co_await send(std::move(req), repository);
  if (!sent) co_return sent.error();
  const auto range = sent->header("Content-Range");
  const auto total = range ? continued_total(*range, offset) : std::nullopt;
  if (sent->status() == 206 && total) co_return blob_stream(std::move(*sent), offset, total);
  // A 200 or a range elsewhere cannot continue; a 404 now means it is gone.
  spdlog::warn("upstream {} cannot continue {}@{} at byte {}: status {}", options_.name, repository, digest.str(),
               offset, sent->status());
  const auto status = sent->status();
  co_await sent->discard();
  if (status == 206 || status == 200) co_return errc::range_not_continued;
  co_return status_error(status);
}

asio::awaitable<result<blob_head>> registry_client::head_blob(std::string repository, core::digest digest) {
  auto sent = co_await send_expecting(make_request(method::head, blob_target(repository, digest)), repository, 200);
  if (!sent) co_return sent.error();
  co_return blob_head{sent->content_length()};
}

asio::awaitable<result<tag_page>> registry_client::tags(std::string repository, std::optional<std::string> page) {
  auto target = page ? std::move(*page) : "/v2/" + repository + "/tags/list?n=" + std::to_string(first_tag_page);
  auto sent = co_await send_expecting(make_request(method::get, std::move(target)), repository, 200);
  if (!sent) co_return sent.error();
  auto answer = std::move(*sent);
  auto body = co_await answer.read_all(oci::max_tag_list_bytes);
  if (!body) co_return body.error();
  auto listed = oci::parse_tag_list(*body);
  if (!listed) co_return errc::invalid_answer;
  tag_page out{std::move(*listed), std::nullopt};
  if (auto link = answer.header("Link"))
    if (auto next = next_link(*link)) out.next = relative_target(*next, client_here().target());
  co_return out;
}

asio::awaitable<result<referrers_body>> registry_client::referrers(std::string repository, core::digest digest,
                                                                   std::string artifact_type) {
  auto target = "/v2/" + repository + "/referrers/" + digest.str();
  if (!artifact_type.empty()) target += "?artifactType=" + core::percent_encode(artifact_type);
  auto sent = co_await send_expecting(make_request(method::get, std::move(target)), repository, 200);
  if (!sent) co_return sent.error();
  auto answer = std::move(*sent);
  auto body = co_await answer.read_all(oci::max_manifest_bytes);
  if (!body) co_return body.error();
  co_return referrers_body{std::move(*body), std::string(answer.header("OCI-Filters-Applied").value_or(""))};
}

}  // namespace regcache::upstream

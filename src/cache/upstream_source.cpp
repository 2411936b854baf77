#include "regcache/cache/upstream_source.hpp"

#include "regcache/cache/context.hpp"
#include "regcache/oci/media_type.hpp"

#include <spdlog/spdlog.h>

namespace regcache::cache {
namespace asio = boost::asio;

namespace {
thread_local std::size_t this_worker = 0;
}  // namespace

void set_worker_index(std::size_t index) noexcept { this_worker = index; }
std::size_t worker_index() noexcept { return this_worker; }

upstream::client& upstream_source::client() const { return *clients[this_worker % clients.size()]; }

asio::awaitable<result<upstream::response>> send_upstream(const upstream_source& source, cache_metrics& metrics,
                                                          upstream::request req) {
  auto& client = source.client();
  result<upstream::response> sent = upstream::errc::invalid_request;
  if (source.auth) {
    std::string repository = repository_of_target(req.target);
    sent = co_await source.auth->send(client, std::move(req), std::move(repository));
  } else {
    sent = co_await client.send(std::move(req));
  }
  if (!sent) {
    spdlog::warn("upstream {} unreachable: {}", source.name, sent.error().message());
    co_return errc::upstream_unreachable;
  }
  metrics.upstream_requests(sent->status()).inc();
  co_return std::move(*sent);
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

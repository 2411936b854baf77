#include "regcache/cache/discovery.hpp"

#include "regcache/core/text.hpp"

#include "regcache/cache/upstream_source.hpp"
#include "regcache/cache/errc.hpp"
#include "regcache/oci/manifest.hpp"
#include "regcache/oci/tag_list.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

namespace regcache::cache {
namespace asio = boost::asio;

namespace {

constexpr std::size_t max_tag_pages = 100;
constexpr std::size_t max_remembered = 4096;

// The target of `Link: <...>; rel="next"`, if any.
std::optional<std::string> next_link(std::string_view link) {
  if (link.find("rel=\"next\"") == std::string_view::npos) return std::nullopt;
  const auto open = link.find('<');
  const auto close = link.find('>', open);
  if (open == std::string_view::npos || close == std::string_view::npos) return std::nullopt;
  return std::string(link.substr(open + 1, close - open - 1));
}

// Link targets are usually origin-relative; an absolute one must stay on the upstream.
std::optional<std::string> relative_target(std::string_view target, const upstream::endpoint& ep) {
  if (target.starts_with('/')) {
    if (!ep.base_path.empty() && target.starts_with(ep.base_path)) target.remove_prefix(ep.base_path.size());
    return std::string(target);
  }
  const auto origin = ep.origin();
  if (!target.starts_with(origin)) return std::nullopt;
  return relative_target(target.substr(origin.size()), ep);
}

}  // namespace

asio::awaitable<result<std::vector<std::string>>> discovery::fetch_tags(
    std::shared_ptr<const upstream_source> source, std::string repository) {
  std::vector<std::string> all;
  std::optional<std::string> target = "/v2/" + repository + "/tags/list?n=1000";
  for (std::size_t page = 0; target && page < max_tag_pages; ++page) {
    upstream::request req;
    req.target = std::move(*target);
    auto sent = co_await send_upstream(*source, *ctx_.metrics, std::move(req));
    if (!sent) co_return sent.error();
    auto response = std::move(*sent);
    if (response.status() != 200) co_return upstream_status_error(response.status(), errc::manifest_unknown);
    auto body = co_await response.read_all(oci::max_manifest_bytes);
    if (!body) co_return errc::upstream_unreachable;
    auto tags = oci::parse_tag_list(*body);
    if (!tags) co_return errc::upstream_invalid;
    all.insert(all.end(), tags->begin(), tags->end());
    target.reset();
    if (auto link = response.header("Link"))
      if (auto next = next_link(*link)) target = relative_target(*next, source->client().target());
  }
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  co_return all;
}

asio::awaitable<result<tag_listing>> discovery::tags(std::shared_ptr<const upstream_source> source,
                                                     std::string repository) {
  const key k{source->name, repository, {}};
  auto fetched = co_await fetch_tags(source, repository);
  if (fetched) {
    std::lock_guard lock(mutex_);
    if (last_tags_.size() >= max_remembered) last_tags_.erase(last_tags_.begin());
    last_tags_[k] = *fetched;
    co_return tag_listing{std::move(*fetched), "pass"};
  }
  if (fetched.error() == errc::manifest_unknown) co_return errc::manifest_unknown;
  {
    std::lock_guard lock(mutex_);
    if (auto it = last_tags_.find(k); it != last_tags_.end()) {
      ctx_.metrics->stale.inc();
      co_return tag_listing{it->second, "stale"};
    }
  }
  auto known = ctx_.index->list_tags(source->name, repository);
  if (known && !known->empty()) {
    spdlog::warn("upstream={} unavailable for tags of {}: listing the {} cached tags ({})", source->name,
                 repository, known->size(), fetched.error().message());
    ctx_.metrics->stale.inc();
    co_return tag_listing{std::move(*known), "stale"};
  }
  co_return fetched.error();
}

asio::awaitable<result<referrers_listing>> discovery::referrers(std::shared_ptr<const upstream_source> source,
                                                                std::string repository, core::digest subject,
                                                                std::string artifact_type) {
  const key k{source->name, repository + "@" + subject.str(), artifact_type};
  upstream::request req;
  req.target = "/v2/" + repository + "/referrers/" + subject.str();
  if (!artifact_type.empty()) req.target += "?artifactType=" + core::percent_encode(artifact_type);
  auto sent = co_await send_upstream(*source, *ctx_.metrics, std::move(req));
  error_code failure;
  if (sent) {
    auto response = std::move(*sent);
    if (response.status() == 200) {
      auto body = co_await response.read_all(oci::max_manifest_bytes);
      if (body) {
        referrers_listing listing{std::move(*body),
                                  std::string(response.header("OCI-Filters-Applied").value_or("")), "pass"};
        std::lock_guard lock(mutex_);
        if (last_referrers_.size() >= max_remembered) last_referrers_.erase(last_referrers_.begin());
        last_referrers_[k] = listing;
        co_return listing;
      }
      failure = errc::upstream_unreachable;
    } else {
      failure = upstream_status_error(response.status(), errc::manifest_unknown);
    }
  } else {
    failure = sent.error();
  }
  // A registry without the referrers API answers 404: pass that on so
  // clients fall back to the referrers tag schema.
  if (failure == errc::manifest_unknown) co_return failure;
  std::lock_guard lock(mutex_);
  if (auto it = last_referrers_.find(k); it != last_referrers_.end()) {
    ctx_.metrics->stale.inc();
    auto listing = it->second;
    listing.outcome = "stale";
    co_return listing;
  }
  co_return failure;
}

}  // namespace regcache::cache

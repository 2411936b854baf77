#include "regcache/registry/handler.hpp"

#include "regcache/auth/errc.hpp"
#include "regcache/cache/errc.hpp"
#include "regcache/http/range.hpp"
#include "regcache/http/target.hpp"
#include "regcache/oci/error_body.hpp"
#include "regcache/oci/media_type.hpp"
#include "regcache/oci/route.hpp"
#include "regcache/oci/tag_list.hpp"
#include "regcache/registry/manifest_responses.hpp"
#include "regcache/registry/wire_error.hpp"
#include "regcache/scan/errc.hpp"
#include "regcache/scan/scanner.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <random>

namespace regcache::registry {
namespace asio = boost::asio;
using http::exchange;
using http::header_fields;
using http::response_head;

namespace {

constexpr std::string_view octet_stream = "application/octet-stream";

header_fields base_fields(const routed* r = nullptr) {
  return registry::base_fields(r && r->by_namespace ? std::string_view(r->source->name) : std::string_view{});
}

asio::awaitable<void> send_wire_error(exchange& ex, wire_error e, header_fields fields) {
  fields.emplace_back("Content-Type", "application/json");
  if (e.retry_after) fields.emplace_back("Retry-After", std::to_string(e.retry_after));
  if (e.code == oci::wire_code::unsupported && e.status == 405) fields.emplace_back("Allow", "GET, HEAD");
  response_head head{e.status, std::move(fields), std::nullopt};
  std::string body = oci::error_body(e.code, e.message);
  auto ec = co_await ex.send(std::move(head), std::move(body));
  ignore_error(ec, "the client may be gone; the access log records the status");
}

asio::awaitable<void> send_error(exchange& ex, error_code failure, std::string what, const routed* r) {
  auto e = to_wire_error(failure, what, r ? std::string_view(r->source->name) : std::string_view{});
  auto fields = base_fields(r);
  // regcache's own 401s carry the challenge that makes docker, skopeo and
  // containerd send credentials; an upstream's refusal (cache errc) does not.
  if (failure.category() == auth::auth_category() && e.status == 401)
    fields.emplace_back("WWW-Authenticate", "Basic realm=\"regcache\"");
  co_await send_wire_error(ex, std::move(e), std::move(fields));
}

// The access log's route name, and what the audit calls the reference.
std::string_view route_name(oci::route_kind kind) {
  switch (kind) {
    case oci::route_kind::manifest: return "manifest";
    case oci::route_kind::blob: return "blob";
    case oci::route_kind::tags_list: return "tags";
    case oci::route_kind::referrers: return "referrers";
    default: return "other";
  }
}

std::string reference_of(const oci::route& route) {
  if (route.kind == oci::route_kind::tags_list) return "tags/list";
  return route.reference.text;
}

std::string described(const oci::route& route, const routed& r) {
  if (route.kind == oci::route_kind::tags_list) return "tags of " + r.repository;
  const char* separator = route.kind == oci::route_kind::manifest && !route.reference.is_digest() ? ":" : "@";
  return std::string(route_name(route.kind)) + " " + r.repository + separator + route.reference.text;
}

// If-None-Match: a list of entity tags, quoted, maybe weak, or "*".
bool etag_matches(const exchange& ex, const core::digest& digest) {
  for (auto value : ex.headers("If-None-Match")) {
    while (!value.empty()) {
      const auto comma = value.find(',');
      auto tag = value.substr(0, comma);
      while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
      while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
      if (tag.starts_with("W/")) tag.remove_prefix(2);
      if (tag.size() >= 2 && tag.front() == '"' && tag.back() == '"') tag = tag.substr(1, tag.size() - 2);
      if (tag == "*" || tag == digest.str()) return true;
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
  }
  return false;
}

// The scan gate's refusal, with the scanner's summary.
asio::awaitable<void> send_scan_refusal(exchange& ex, scan::refusal refusal, std::string what, const routed* r) {
  auto e = to_wire_error(refusal.reason, what, r->source->name);
  if (!refusal.summary.empty()) e.message += ": " + refusal.summary;
  co_await send_wire_error(ex, std::move(e), base_fields(r));
}

asio::awaitable<void> send_not_modified(exchange& ex, header_fields fields) {
  response_head head{304, std::move(fields), std::nullopt};
  auto ec = co_await ex.send_head(std::move(head));
  ignore_error(ec, "the client may be gone");
}

asio::awaitable<error_code> write_piece(exchange& ex, const cache::body_piece& piece) {
  if (const auto* segment = std::get_if<cache::file_segment>(&piece))
    co_return co_await ex.send_file(segment->fd, segment->offset, segment->length);
  co_return co_await ex.write(std::get<std::span<const std::byte>>(piece));
}

// Writes the body's bytes [offset, end), or from offset to its end.
asio::awaitable<error_code> write_body(exchange& ex, cache::blob_body& body, std::uint64_t offset,
                                       std::optional<std::uint64_t> end) {
  while (!end || offset < *end) {
    const auto max_length = end ? *end - offset : std::numeric_limits<std::uint64_t>::max();
    auto piece = co_await body.read(offset, max_length);
    if (!piece) co_return piece.error();
    const auto length = cache::length_of(*piece);
    if (length == 0) co_return end ? error_code(cache::errc::upstream_invalid) : error_code{};
    if (auto ec = co_await write_piece(ex, *piece)) co_return ec;
    offset += length;
  }
  co_return error_code{};
}

std::string multipart_boundary() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[40];
  std::snprintf(buf, sizeof buf, "regcache-%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

std::string part_header(std::string_view boundary, const http::byte_range& r, std::uint64_t size) {
  return "--" + std::string(boundary) + "\r\nContent-Type: application/octet-stream\r\nContent-Range: " +
         http::content_range(r, size) + "\r\n\r\n";
}

asio::awaitable<error_code> send_ranges(exchange& ex, cache::blob_body& body, header_fields fields,
                                        std::vector<http::byte_range> ranges, std::uint64_t size) {
  if (ranges.size() == 1) {
    const auto r = ranges.front();
    fields.emplace_back("Content-Range", http::content_range(r, size));
    fields.emplace_back("Content-Type", std::string(octet_stream));
    response_head head{206, std::move(fields), r.length()};
    if (auto ec = co_await ex.send_head(std::move(head))) co_return ec;
    if (auto ec = co_await write_body(ex, body, r.first, r.first + r.length())) co_return ec;
    co_return co_await ex.finish();
  }
  const auto boundary = multipart_boundary();
  const std::string closing = "--" + boundary + "--\r\n";
  std::uint64_t total = closing.size();
  for (const auto& r : ranges) total += part_header(boundary, r, size).size() + r.length() + 2;
  fields.emplace_back("Content-Type", "multipart/byteranges; boundary=" + boundary);
  response_head head{206, std::move(fields), total};
  if (auto ec = co_await ex.send_head(std::move(head))) co_return ec;
  for (const auto& r : ranges) {
    const auto header = part_header(boundary, r, size);
    if (auto ec = co_await ex.write(std::string_view(header))) co_return ec;
    if (auto ec = co_await write_body(ex, body, r.first, r.first + r.length())) co_return ec;
    const std::string_view crlf = "\r\n";
    if (auto ec = co_await ex.write(crlf)) co_return ec;
  }
  if (auto ec = co_await ex.write(std::string_view(closing))) co_return ec;
  co_return co_await ex.finish();
}

// Clients send the same Accept with every pull: the last verdict per thread
// spares parsing it again on the hot path.
bool accepts_memoized(const std::vector<std::string_view>& accept, std::string_view media_type) {
  struct verdict {
    std::string accept;
    std::string media_type;
    bool acceptable = false;
  };
  thread_local verdict last;
  if (accept.size() != 1) return oci::accepts(accept, media_type);
  if (accept.front() == last.accept && media_type == last.media_type) return last.acceptable;
  last.acceptable = oci::accepts(accept, media_type);
  last.accept.assign(accept.front());
  last.media_type.assign(media_type);
  return last.acceptable;
}

bool is_read_method(http::method m) { return m == http::method::get || m == http::method::head; }

}  // namespace

handler::handler(handler_options options, router r, cache::manifest_cache& manifests, cache::blob_cache& blobs,
                 cache::discovery& discovery, cache::cache_metrics& metrics, std::function<bool()> ready,
                 auth::gate& gate, trust::signature_gate& signatures)
    : options_(std::move(options)),
      scanning_(options_.scanner && options_.scanner->enabled()),
      router_(std::move(r)),
      manifests_(manifests),
      blobs_(blobs),
      discovery_(discovery),
      metrics_(metrics),
      ready_(std::move(ready)),
      gate_(gate),
      signatures_(signatures) {}

// No coroutine frame of its own: serve's is the request's.
asio::awaitable<void> handler::operator()(exchange& ex) { return serve(ex); }

asio::awaitable<void> handler::serve(exchange& ex) {
  auto target = http::parse_target(ex.target());
  if (!target) {
    ex.annotate("invalid", "-");
    wire_error e{400, oci::wire_code::unsupported, "malformed request target"};
    co_await send_wire_error(ex, std::move(e), base_fields());
    co_return;
  }
  const auto& path = target->path;
  if (options_.metrics_enabled && path == options_.metrics_path) {
    ex.annotate("metrics", "-");
    response_head head{200, {{"Content-Type", "text/plain; version=0.0.4; charset=utf-8"}}, std::nullopt};
    std::string body = metrics_.registry.expose();
    auto ec = co_await ex.send(std::move(head), std::move(body));
    ignore_error(ec, "a scraper that went away retries");
    co_return;
  }
  if (path == "/healthz" || path == "/readyz") {
    const bool ok = path == "/healthz" || ready_();
    ex.annotate("health", "-");
    response_head head{ok ? 200u : 503u, {{"Content-Type", "text/plain"}}, std::nullopt};
    std::string body = ok ? "ok\n" : "not ready\n";
    auto ec = co_await ex.send(std::move(head), std::move(body));
    ignore_error(ec, "a probe that went away retries");
    co_return;
  }

  auto route = oci::parse_route(path);
  if (!route) {
    ex.annotate("invalid", "-");
    const auto what = "request " + std::string(path.substr(0, 256));
    co_await send_error(ex, route.error(), what, nullptr);
    co_return;
  }
  if (!is_read_method(ex.method()) || route->kind == oci::route_kind::blob_upload) {
    ex.annotate("write", "-");
    wire_error e{405, oci::wire_code::unsupported,
                 std::string(ex.method_name()) +
                     " is not supported: regcache is a read-only pull-through cache; push to the upstream registry"};
    co_await send_wire_error(ex, std::move(e), base_fields());
    co_return;
  }
  if (route->kind == oci::route_kind::base) {
    co_await serve_base(ex);
    co_return;
  }
  if (route->kind == oci::route_kind::catalog) {
    ex.annotate("catalog", "-");
    wire_error e{404, oci::wire_code::unsupported, "regcache does not list repositories; ask the upstream registry"};
    co_await send_wire_error(ex, std::move(e), base_fields());
    co_return;
  }

  // The scanner pulling what it scans: the pass segment comes off the name.
  std::optional<scan::pull_passes::split_name> pass;
  if (scanning_) pass = scan::pull_passes::split(route->name);
  auto routed_to = router_.route(pass ? std::string_view(pass->rest) : std::string_view(route->name),
                                 target->query_value("ns"));
  if (!routed_to) {
    ex.annotate("invalid", "-");
    const auto& failure = routed_to.error();
    wire_error e{failure.name_invalid ? 400u : 404u,
                 failure.name_invalid ? oci::wire_code::name_invalid : oci::wire_code::name_unknown,
                 failure.message};
    co_await send_wire_error(ex, std::move(e), base_fields());
    co_return;
  }
  // Without access control everyone is anonymous: the hot path then pays no
  // coroutine frame and no copies of the names for the gate.
  auth::requester who;
  if (pass) {
    // The pass stands in for the access gate, for exactly what it covers.
    const bool by_digest = (route->kind == oci::route_kind::manifest || route->kind == oci::route_kind::blob) &&
                           route->reference.is_digest();
    if (!by_digest || !options_.scanner->passes().admits(pass->token, routed_to->source->name,
                                                         routed_to->repository, *route->reference.digest)) {
      ex.annotate(route_name(route->kind), "-");
      const auto what = described(*route, *routed_to);
      co_await send_error(ex, scan::errc::pass_refused, what, &*routed_to);
      co_return;
    }
  } else if (gate_.enabled()) {
    auto admitted = co_await gate_.admit(ex, routed_to->source->name, routed_to->repository, reference_of(*route));
    if (!admitted) {
      ex.annotate(route_name(route->kind), "-");
      const auto what = described(*route, *routed_to);
      co_await send_error(ex, admitted.error(), what, &*routed_to);
      co_return;
    }
    who = std::move(*admitted);
  }
  switch (route->kind) {
    case oci::route_kind::manifest: {
      // A named local: g++ 12 destroys a ?: temporary of a co_await expression twice.
      std::string pass_token = pass ? std::move(pass->token) : std::string();
      co_await serve_manifest(ex, std::move(*routed_to), std::move(route->reference), std::move(who),
                              std::move(pass_token));
      break;
    }
    case oci::route_kind::blob:
      if (ex.method() == http::method::head) co_await serve_blob_head(ex, std::move(*routed_to), *route->reference.digest);
      else co_await serve_blob(ex, std::move(*routed_to), *route->reference.digest);
      break;
    case oci::route_kind::tags_list:
      co_await serve_tags(ex, std::move(*routed_to), route->name, std::move(*target));
      break;
    case oci::route_kind::referrers:
      co_await serve_referrers(ex, std::move(*routed_to), *route->reference.digest, std::move(*target));
      break;
    default:
      break;
  }
}

asio::awaitable<void> handler::serve_base(exchange& ex) {
  ex.annotate("base", "-");
  auto who = co_await gate_.authenticate(ex);
  if (!who) {
    co_await send_error(ex, who.error(), "images through regcache", nullptr);
    co_return;
  }
  response_head head{200, base_fields(), std::nullopt};
  head.fields.emplace_back("Content-Type", "application/json");
  std::string body = "{}";
  auto ec = co_await ex.send(std::move(head), std::move(body));
  ignore_error(ec, "the client may be gone");
}

asio::awaitable<void> handler::serve_manifest(exchange& ex, routed r, oci::reference reference, auth::requester who,
                                              std::string pass) {
  ex.annotate("manifest", "-");
  // The hot path: a fresh tag whose manifest is in memory, answered with the
  // response prepared for that very manifest (a tag that moved resolves to
  // another manifest, so never to a stale response). Under a signature rule
  // only once its verdict in memory lets it through.
  if (!reference.is_digest() && !ex.header("If-None-Match")) {
    auto manifest = manifests_.fresh_by_tag(*r.source, r.repository, reference.text);
    if (manifest && signatures_.enabled() &&
        !signatures_.admitted_from_memory(*r.source, r.repository, manifest->digest))
      manifest = nullptr;
    if (manifest) {
      ex.annotate("manifest", "hit");
      const auto accept = ex.headers("Accept");
      if (!accepts_memoized(accept, manifest->media_type)) {
        const auto described = "manifest " + r.repository + ":" + reference.text + " (" + manifest->media_type + ")";
        co_await send_error(ex, cache::errc::not_acceptable, described, &r);
        co_return;
      }
      if (scanning_) {
        auto refused = co_await options_.scanner->admit(r.source->name, r.repository, manifest->digest,
                                                        manifest->media_type);
        if (refused) {
          const auto described = "manifest " + r.repository + ":" + reference.text + " (" + manifest->digest.str() + ")";
          co_await send_scan_refusal(ex, std::move(*refused), described, &r);
          co_return;
        }
      }
      gate_.pulled(ex, who, r.source->name, r.repository, reference.text, manifest->digest.str());
      const auto ns = r.by_namespace ? std::string_view(r.source->name) : std::string_view{};
      auto response = manifest_responses_here().response_for(manifest, ns);
      auto ec = co_await ex.send(std::move(response));
      ignore_error(ec, "the client may be gone");
      co_return;
    }
  }
  // The signature gate reads the manifest (an index's children, an image's
  // blobs), also for a HEAD.
  const bool signatures_checked = signatures_.enabled() && signatures_.checks(*r.source, r.repository);
  const bool need_body = ex.method() == http::method::get || signatures_checked;
  const std::string what = "manifest " + r.repository + (reference.is_digest() ? "@" : ":") + reference.text;
  result<cache::manifest_result> found = cache::errc::manifest_unknown;
  if (reference.is_digest()) found = co_await manifests_.by_digest(r.source, r.repository, *reference.digest, need_body);
  else found = co_await manifests_.by_tag(r.source, r.repository, reference.text, need_body);
  if (!found) {
    co_await send_error(ex, found.error(), what, &r);
    co_return;
  }
  if (signatures_checked) {
    auto refused = co_await signatures_.admit_manifest(r.source, r.repository, found->digest, found->bytes);
    if (refused) {
      ex.annotate("manifest", "refused");
      const auto named = reference.is_digest() ? what : what + " (" + found->digest.str() + ")";
      co_await send_error(ex, refused, named, &r);
      co_return;
    }
  }
  ex.annotate("manifest", found->outcome);
  const auto accept = ex.headers("Accept");
  if (!accepts_memoized(accept, found->media_type)) {
    const auto described = what + " (" + found->media_type + ")";
    co_await send_error(ex, cache::errc::not_acceptable, described, &r);
    co_return;
  }
  if (!pass.empty()) {
    // What this manifest references opens to the pass only once it was served through it.
    options_.scanner->passes().served_manifest(pass, found->digest, found->media_type,
                                               found->bytes ? std::string_view(*found->bytes) : std::string_view());
  } else if (scanning_) {
    auto refused = co_await options_.scanner->admit(r.source->name, r.repository, found->digest, found->media_type);
    if (refused) {
      const auto described = reference.is_digest() ? what : what + " (" + found->digest.str() + ")";
      co_await send_scan_refusal(ex, std::move(*refused), described, &r);
      co_return;
    }
  }
  gate_.pulled(ex, who, r.source->name, r.repository, reference.text, found->digest.str());
  auto fields = base_fields(&r);
  add_content_fields(fields, found->digest);
  if (etag_matches(ex, found->digest)) {
    co_await send_not_modified(ex, std::move(fields));
    co_return;
  }
  fields.emplace_back("Content-Type", found->media_type);
  response_head head{200, std::move(fields), found->size};
  if (auto ec = co_await ex.send_head(std::move(head))) co_return;
  if (ex.method() == http::method::get) {
    if (auto ec = co_await ex.write(std::string_view(*found->bytes))) co_return;
  }
  auto ec = co_await ex.finish();
  ignore_error(ec, "the client may be gone");
}

asio::awaitable<void> handler::serve_blob_head(exchange& ex, routed r, core::digest digest) {
  ex.annotate("blob", "-");
  if (signatures_.enabled()) {
    if (auto refused = signatures_.admit_blob(*r.source, r.repository, digest)) {
      const auto what = "blob " + r.repository + "@" + digest.str();
      co_await send_error(ex, refused, what, &r);
      co_return;
    }
  }
  auto stat = co_await blobs_.stat(r.source, r.repository, digest);
  if (!stat) {
    const auto what = "blob " + r.repository + "@" + digest.str();
    co_await send_error(ex, stat.error(), what, &r);
    co_return;
  }
  ex.annotate("blob", stat->cached ? "hit" : "miss");
  auto fields = base_fields(&r);
  add_content_fields(fields, digest);
  fields.emplace_back("Accept-Ranges", "bytes");
  if (etag_matches(ex, digest)) {
    co_await send_not_modified(ex, std::move(fields));
    co_return;
  }
  fields.emplace_back("Content-Type", std::string(octet_stream));
  response_head head{200, std::move(fields), stat->size};
  auto ec = co_await ex.send_head(std::move(head));
  ignore_error(ec, "the client may be gone");
}

asio::awaitable<void> handler::serve_blob(exchange& ex, routed r, core::digest digest) {
  ex.annotate("blob", "-");
  const std::string what = "blob " + r.repository + "@" + digest.str();
  if (signatures_.enabled()) {
    if (auto refused = signatures_.admit_blob(*r.source, r.repository, digest)) {
      co_await send_error(ex, refused, what, &r);
      co_return;
    }
  }
  auto opened = co_await blobs_.open(r.source, r.repository, digest);
  if (!opened) {
    co_await send_error(ex, opened.error(), what, &r);
    co_return;
  }
  auto& body = *opened;
  ex.annotate("blob", body.outcome());
  const auto size = body.size();

  auto fields = base_fields(&r);
  add_content_fields(fields, digest);
  fields.emplace_back("Accept-Ranges", "bytes");
  fields.emplace_back("Cache-Control", "max-age=31536000, immutable");
  if (etag_matches(ex, digest)) {
    co_await send_not_modified(ex, std::move(fields));
    co_return;
  }

  http::range_request ranges;
  if (auto range_header = ex.header("Range"); range_header && size)
    ranges = http::parse_range(*range_header, *size);

  error_code ec;
  if (ranges.outcome == http::range_outcome::unsatisfiable) {
    fields.emplace_back("Content-Range", http::unsatisfied_content_range(*size));
    wire_error e{416, oci::wire_code::range_invalid,
                 "the requested range is outside the blob's " + std::to_string(*size) + " bytes"};
    co_await send_wire_error(ex, std::move(e), std::move(fields));
    co_return;
  }
  if (ranges.outcome == http::range_outcome::satisfiable) {
    ec = co_await send_ranges(ex, body, std::move(fields), std::move(ranges.ranges), *size);
  } else {
    fields.emplace_back("Content-Type", std::string(octet_stream));
    response_head head{200, std::move(fields), size};
    ec = co_await ex.send_head(std::move(head));
    if (!ec) ec = co_await write_body(ex, body, 0, size);
    if (!ec) ec = co_await ex.finish();
  }
  if (ec) {
    // Mid-body: the only honest signal left is cutting the connection.
    if (ec.category() == cache::cache_category())
      spdlog::warn("request id={} {}: cutting the response: {}", ex.request_id(), what, ec.message());
    ex.abort();
  }
}

asio::awaitable<void> handler::serve_tags(exchange& ex, routed r, std::string path_name, http::target target) {
  ex.annotate("tags", "-");
  std::optional<std::size_t> n;
  if (auto value = target.query_value("n")) {
    auto parsed = oci::parse_page_size(*value);
    if (!parsed) {
      wire_error e{400, oci::wire_code::pagination_number_invalid, "invalid n: a whole number from 0 to 10000"};
      co_await send_wire_error(ex, std::move(e), base_fields(&r));
      co_return;
    }
    n = *parsed;
  }
  const auto last = target.query_value("last");
  auto listing = co_await discovery_.tags(r.source, r.repository);
  if (!listing) {
    const auto what = "tags of " + r.repository;
    co_await send_error(ex, listing.error(), what, &r);
    co_return;
  }
  ex.annotate("tags", listing->outcome);
  auto page = oci::paginate(std::move(listing->tags), n, last);
  auto fields = base_fields(&r);
  fields.emplace_back("Content-Type", "application/json");
  if (page.more && !page.tags.empty()) {
    fields.emplace_back("Link", "</v2/" + path_name + "/tags/list?n=" + std::to_string(page.tags.size()) +
                                    "&last=" + page.tags.back() + ">; rel=\"next\"");
  }
  response_head head{200, std::move(fields), std::nullopt};
  std::string body = oci::tag_list_body(r.repository, page.tags);
  auto ec = co_await ex.send(std::move(head), std::move(body));
  ignore_error(ec, "the client may be gone");
}

asio::awaitable<void> handler::serve_referrers(exchange& ex, routed r, core::digest digest, http::target target) {
  ex.annotate("referrers", "-");
  const auto artifact_type = target.query_value("artifactType");
  std::string wanted_type(artifact_type.value_or(""));
  auto listing = co_await discovery_.referrers(r.source, r.repository, digest, std::move(wanted_type));
  if (!listing) {
    const auto what = "referrers of " + r.repository + "@" + digest.str();
    co_await send_error(ex, listing.error(), what, &r);
    co_return;
  }
  ex.annotate("referrers", listing->outcome);
  auto fields = base_fields(&r);
  fields.emplace_back("Content-Type", std::string(oci::oci_index));
  if (!listing->filters_applied.empty()) fields.emplace_back("OCI-Filters-Applied", listing->filters_applied);
  response_head head{200, std::move(fields), std::nullopt};
  auto ec = co_await ex.send(std::move(head), std::move(listing->body));
  ignore_error(ec, "the client may be gone");
}

}  // namespace regcache::registry

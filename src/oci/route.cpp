#include "regcache/oci/route.hpp"

#include "regcache/oci/errc.hpp"

namespace regcache::oci {
namespace {

// Everything the router later does with a name (prefix stripping, cache keys,
// log lines, upstream URLs) assumes it cannot climb out of its own namespace
// or smuggle an encoded byte; reject those shapes before anyone sees them.
bool is_safe_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > max_route_name_length) return false;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '%') return false;
  }
  std::size_t start = 0;
  while (true) {
    const auto slash = name.find('/', start);
    const auto segment = name.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (segment.empty() || segment == "." || segment == "..") return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

// `tail` is the path after "/v2" and starts with '/'; the name is what lies
// between that slash and the one at `end`.
std::string_view name_before(std::string_view tail, std::size_t end) noexcept {
  return end == 0 ? std::string_view{} : tail.substr(1, end - 1);
}

result<route> make_route(route_kind kind, std::string_view name, std::string_view ref) {
  if (!is_safe_name(name)) return errc::name_invalid;
  route r{kind, std::string(name), {}};
  if (kind == route_kind::manifest || kind == route_kind::blob || kind == route_kind::referrers) {
    // Blobs and referrers are content-addressed: a tag-shaped reference is a
    // malformed digest there, not a tag.
    if (kind != route_kind::manifest && ref.find(':') == std::string_view::npos) return errc::digest_invalid;
    auto parsed = parse_reference(ref);
    if (!parsed) return parsed.error();
    r.reference = std::move(*parsed);
  }
  return r;
}

}  // namespace

result<route> parse_route(std::string_view path) {
  if (path == "/v2" || path == "/v2/") return route{route_kind::base, {}, {}};
  if (path == "/v2/_catalog") return route{route_kind::catalog, {}, {}};
  if (!path.starts_with("/v2/")) return errc::route_unknown;
  const auto tail = path.substr(3);

  // Endpoints whose last segment is the reference (or "list").
  const auto last_slash = tail.rfind('/');
  if (last_slash > 0) {
    const auto prev_slash = tail.rfind('/', last_slash - 1);
    const auto keyword = tail.substr(prev_slash + 1, last_slash - prev_slash - 1);
    const auto last = tail.substr(last_slash + 1);
    const auto name = name_before(tail, prev_slash);
    if (keyword == "manifests") return make_route(route_kind::manifest, name, last);
    if (keyword == "blobs") {
      if (last == "uploads") return make_route(route_kind::blob_upload, name, {});
      return make_route(route_kind::blob, name, last);
    }
    if (keyword == "referrers") return make_route(route_kind::referrers, name, last);
    if (keyword == "tags" && last == "list") return make_route(route_kind::tags_list, name, {});
  }

  // Upload sessions: /blobs/uploads followed by anything ("/", "/<uuid>", ...).
  static constexpr std::string_view uploads = "/blobs/uploads/";
  const auto at = tail.rfind(uploads);
  if (at != std::string_view::npos) return make_route(route_kind::blob_upload, name_before(tail, at), {});
  return errc::route_unknown;
}

}  // namespace regcache::oci

#pragma once
// Where an upstream registry lives: the parsed form of its configured URL.
// Plain value types; safe to share between threads once built.
#include "regcache/core/result.hpp"
#include "regcache/upstream/errc.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace regcache::upstream {

struct endpoint {
  std::string scheme;     // "http" or "https", lowercase
  std::string host;       // lowercase name or IP literal; an IPv6 literal without its brackets
  std::uint16_t port = 0; // explicit, or 80 / 443 from the scheme
  std::string base_path;  // "" or "/prefix" without a trailing slash; prepended to every request target

  bool tls() const noexcept { return scheme == "https"; }
  // host[:port] as sent in the Host header; the port only when it is not the scheme's default.
  std::string authority() const;
  // scheme://host[:port], comparable with absolute URLs the upstream hands out (Link, Location).
  std::string origin() const;

  friend bool operator==(const endpoint&, const endpoint&) = default;
};

// Parses "http(s)://host[:port][/path]". Scheme and host are case-insensitive and
// come back lowercase; trailing slashes of the path are dropped. Fails with
// errc::invalid_url for other schemes, userinfo ("user@"), a query or fragment,
// an empty or malformed host, a port outside 1..65535, or characters a URL
// path may not hold.
[[nodiscard]] result<endpoint> parse_url(std::string_view url);

}  // namespace regcache::upstream

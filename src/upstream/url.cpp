#include "regcache/upstream/url.hpp"

#include <boost/asio/ip/address_v6.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace regcache::upstream {
namespace {

constexpr std::size_t max_url_bytes = 2048;
constexpr std::size_t max_host_bytes = 253;

std::string lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

bool is_host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

// RFC 3986 path characters: unreserved, sub-delims, ':', '@', '/', and %XX escapes.
bool valid_path(std::string_view path) {
  static constexpr std::string_view allowed = "-._~!$&'()*+,;=:@/";
  for (std::size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (std::isalnum(static_cast<unsigned char>(c)) || allowed.find(c) != std::string_view::npos) continue;
    if (c == '%' && i + 2 < path.size() && is_hex(path[i + 1]) && is_hex(path[i + 2])) {
      i += 2;
      continue;
    }
    return false;
  }
  return true;
}

bool valid_reg_name(std::string_view host) {
  return !host.empty() && host.size() <= max_host_bytes && std::all_of(host.begin(), host.end(), is_host_char);
}

}  // namespace

std::string endpoint::authority() const {
  // IPv6 literals in brackets; appended, as g++ 12 warns falsely about "[" + host.
  std::string out;
  if (host.find(':') != std::string::npos) out.append(1, '[').append(host).append(1, ']');
  else out = host;
  const std::uint16_t default_port = tls() ? 443 : 80;
  if (port != default_port) out += ":" + std::to_string(port);
  return out;
}

std::string endpoint::origin() const { return scheme + "://" + authority(); }

result<endpoint> parse_url(std::string_view url) {
  if (url.size() > max_url_bytes) return errc::invalid_url;
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) return errc::invalid_url;
  endpoint ep;
  ep.scheme = lowercase(url.substr(0, sep));
  if (ep.scheme != "http" && ep.scheme != "https") return errc::invalid_url;
  if (url.find_first_of("?#") != std::string_view::npos) return errc::invalid_url;

  std::string_view rest = url.substr(sep + 3);
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) return errc::invalid_url;

  std::string_view port_text;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return errc::invalid_url;
    const std::string literal(authority.substr(1, close - 1));
    error_code ec;
    boost::asio::ip::make_address_v6(literal, ec);
    if (ec) return errc::invalid_url;
    ep.host = lowercase(literal);
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return errc::invalid_url;
      port_text = after.substr(1);
      if (port_text.empty()) return errc::invalid_url;
    }
  } else {
    const auto colon = authority.find(':');
    const auto host = authority.substr(0, colon);
    if (!valid_reg_name(host)) return errc::invalid_url;
    ep.host = lowercase(host);
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return errc::invalid_url;
    }
  }

  if (port_text.empty()) {
    ep.port = ep.tls() ? 443 : 80;
  } else {
    unsigned value = 0;
    const auto* end = port_text.data() + port_text.size();
    const auto [ptr, ec] = std::from_chars(port_text.data(), end, value);
    if (ec != std::errc{} || ptr != end || value == 0 || value > 65535) return errc::invalid_url;
    ep.port = static_cast<std::uint16_t>(value);
  }

  if (!valid_path(path)) return errc::invalid_url;
  while (path.ends_with('/')) path.remove_suffix(1);
  ep.base_path = std::string(path);
  return ep;
}

}  // namespace regcache::upstream

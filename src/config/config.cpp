#include "regcache/config/config.hpp"

#include "regcache/core/units.hpp"
#include "regcache/oci/repository_glob.hpp"

#include <arpa/inet.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>

namespace regcache::config {
namespace {

// ---------------------------------------------------------------- text helpers

// The value as the operator wrote it, in double quotes, control characters escaped.
std::string quote(std::string_view v) {
  std::string out = "\"";
  for (const char c : v) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          static constexpr char hex[] = "0123456789abcdef";
          out += "\\x";
          out += hex[(static_cast<unsigned char>(c) >> 4) & 0xf];
          out += hex[static_cast<unsigned char>(c) & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string join(const auto& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

// Renders a duration in the file's own syntax ("5m", "1m30s", "250ms").
std::string format_duration(std::chrono::milliseconds d) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out += '-';
    ms = -ms;
  }
  static constexpr std::array<std::pair<std::int64_t, std::string_view>, 5> units{{
      {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1'000, "s"}, {1, "ms"}}};
  for (const auto& [factor, name] : units) {
    if (ms >= factor) {
      out += std::to_string(ms / factor);
      out += name;
      ms %= factor;
    }
  }
  return out;
}

[[noreturn]] void fail(const std::string& path, const std::string& what) { throw config_error(path + ": " + what); }

// ---------------------------------------------------------------- host grammar

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c); }

struct host_port {
  std::string_view host;  // without brackets
  std::optional<std::string_view> port;
  bool bracketed = false;
};

// Splits "host[:port]" or "[ipv6][:port]"; nullopt when the colons make no
// sense (e.g. an IPv6 address without brackets).
std::optional<host_port> split_host_port(std::string_view s) {
  host_port hp;
  if (s.starts_with('[')) {
    const auto close = s.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    hp.host = s.substr(1, close - 1);
    hp.bracketed = true;
    const auto rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      hp.port = rest.substr(1);
    }
    return hp;
  }
  const auto colon = s.find(':');
  if (colon == std::string_view::npos) {
    hp.host = s;
    return hp;
  }
  if (s.find(':', colon + 1) != std::string_view::npos) return std::nullopt;
  hp.host = s.substr(0, colon);
  hp.port = s.substr(colon + 1);
  return hp;
}

// A port 1-65535; `allow_any` also takes 0 (a listener's "any free port").
std::optional<std::uint16_t> parse_port(std::string_view s, bool allow_any = false) {
  if (s.empty() || s.size() > 5 || !std::all_of(s.begin(), s.end(), is_digit)) return std::nullopt;
  unsigned value = 0;
  std::from_chars(s.data(), s.data() + s.size(), value);
  if (value < (allow_any ? 0u : 1u) || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

bool is_ip_address(int family, std::string_view s) {
  const std::string text(s);
  unsigned char buf[16];
  return ::inet_pton(family, text.c_str(), buf) == 1;
}

// A DNS name or dotted IPv4 address: dot-separated labels of letters, digits
// and inner hyphens (the distribution reference grammar's domain).
bool is_host_name(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  bool all_numeric = true;
  std::size_t start = 0;
  while (start <= s.size()) {
    const auto dot = std::min(s.find('.', start), s.size());
    const auto label = s.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (const char c : label) {
      if (!is_alnum(c) && c != '-') return false;
      if (!is_digit(c)) all_numeric = false;
    }
    start = dot + 1;
  }
  return !all_numeric || is_ip_address(AF_INET, s);
}

// Why `s` is not a usable listen address, or nullopt with `out` filled in.
std::optional<std::string> listen_problem(std::string_view s, std::pair<std::string, std::uint16_t>& out) {
  static constexpr std::string_view examples = "use e.g. 0.0.0.0:5000, 127.0.0.1:5000 or [::1]:5000";
  const auto hp = split_host_port(s);
  if (!hp) {
    return quote(s) + " is not host:port (" + std::string(examples) + "; IPv6 addresses go in brackets)";
  }
  if (!hp->port) return quote(s) + " has no port (" + std::string(examples) + ")";
  if (hp->host.empty()) return quote(s) + " has no host (use 0.0.0.0 for every IPv4 address, [::] for every address)";
  const bool host_ok = hp->bracketed ? is_ip_address(AF_INET6, hp->host) : is_host_name(hp->host);
  if (!host_ok) {
    return quote(s) + " has an invalid host " + quote(hp->host) + " (" + std::string(examples) + ")";
  }
  const auto port = parse_port(*hp->port, true);
  if (!port) return quote(s) + " has port " + quote(*hp->port) + " (allowed: 0-65535, 0 = any free port)";
  out = {std::string(hp->host), *port};
  return std::nullopt;
}

// Why `s` is not a registry host as clients name it, or nullopt.
std::optional<std::string> registry_host_problem(std::string_view s) {
  if (s.empty()) return "must not be empty (the registry host as clients name it, e.g. docker.io)";
  if (s.find("://") != std::string_view::npos) {
    return quote(s) + " is not a registry host: give the host only (e.g. ghcr.io) and the endpoint in url";
  }
  const auto hp = split_host_port(s);
  const bool port_ok = hp && (!hp->port || parse_port(*hp->port));
  const bool host_ok =
      port_ok && (hp->bracketed ? is_ip_address(AF_INET6, hp->host) : is_host_name(hp->host));
  if (!host_ok) {
    return quote(s) + " is not a registry host (use lowercase host[:port], e.g. docker.io, ghcr.io, 127.0.0.1:5001)";
  }
  if (std::any_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    return quote(s) + " must be lowercase (clients send registry hosts in lowercase)";
  }
  return std::nullopt;
}

// Why `url` is not an upstream endpoint, or nullopt. Never echoes a URL that
// may carry credentials (user:password@ or a token in the query).
std::optional<std::string> url_problem(std::string_view url) {
  static constexpr std::string_view allowed =
      " is not an http:// or https:// URL with a host (e.g. https://registry-1.docker.io)";
  if (url.empty()) return "must be set (the registry endpoint, e.g. https://registry-1.docker.io)";
  const bool may_hold_credentials = url.find_first_of("@?#") != std::string_view::npos;
  const std::string shown = may_hold_credentials ? "the URL" : quote(url);

  std::string_view rest;
  if (url.starts_with("https://")) rest = url.substr(8);
  else if (url.starts_with("http://")) rest = url.substr(7);
  else return shown + std::string(allowed);

  const auto authority = rest.substr(0, std::min(rest.find_first_of("/?#"), rest.size()));
  if (authority.find('@') != std::string_view::npos) {
    return "credentials in the URL are not allowed (use username with password_file or password_env)";
  }
  const auto hp = split_host_port(authority);
  const bool host_ok = hp && !hp->host.empty() &&
                       (hp->bracketed ? is_ip_address(AF_INET6, hp->host) : is_host_name(hp->host)) &&
                       (!hp->port || parse_port(*hp->port));
  if (!host_ok) return shown + std::string(allowed);
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return "a query or fragment is not allowed (use scheme://host[:port][/path])";
  }
  return std::nullopt;
}

bool is_env_name(std::string_view s) {
  if (s.empty() || is_digit(s.front())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_alnum(c) || c == '_'; });
}

// ---------------------------------------------------------------- YAML reading

std::string location(const YAML::Node& n) {
  const auto m = n.Mark();
  if (m.is_null()) return {};
  return " (line " + std::to_string(m.line + 1) + ", column " + std::to_string(m.column + 1) + ")";
}

[[noreturn]] void fail_at(const std::string& path, const std::string& what, const YAML::Node& n) {
  throw config_error(path + ": " + what + location(n));
}

std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Scalar: return "a single value";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Undefined: break;
  }
  return "nothing";
}

// The text of a scalar; anything else is an error that does not echo the node.
const std::string& scalar(const YAML::Node& n, const std::string& path, std::string_view expected) {
  if (!n.IsScalar()) fail_at(path, "expected " + std::string(expected) + ", got " + describe(n), n);
  return n.Scalar();
}

std::string read_string(const YAML::Node& n, const std::string& path) { return scalar(n, path, "a string"); }

std::chrono::milliseconds read_duration(const YAML::Node& n, const std::string& path) {
  const auto& text = scalar(n, path, "a duration");
  const auto d = core::parse_duration(text);
  if (!d) fail_at(path, quote(text) + " is not a duration (use e.g. 250ms, 30s, 5m, 1h30m)", n);
  return *d;
}

std::size_t read_size(const YAML::Node& n, const std::string& path) {
  const auto& text = scalar(n, path, "a byte size");
  const auto bytes = core::parse_byte_size(text);
  if (!bytes || *bytes > std::numeric_limits<std::size_t>::max()) {
    fail_at(path, quote(text) + " is not a byte size (use e.g. 16384, 16KiB, 1MiB, 512KB)", n);
  }
  return static_cast<std::size_t>(*bytes);
}

// "90%" as the fraction 0.9.
double read_percent(const YAML::Node& n, const std::string& path) {
  const auto& text = scalar(n, path, "a percentage");
  const auto percent = core::parse_percent(text);
  if (!percent) fail_at(path, quote(text) + " is not a percentage (use e.g. 90%; allowed: more than 0% up to 100%)", n);
  return *percent / 100.0;
}

quota_config read_quota(const YAML::Node& n, const std::string& path) {
  const auto& text = scalar(n, path, "a size or a percentage");
  quota_config quota;
  if (text.ends_with('%')) {
    const auto percent = core::parse_percent(text);
    if (percent) {
      quota.filesystem_share = *percent / 100.0;
      return quota;
    }
  } else if (const auto bytes = core::parse_byte_size(text); bytes && *bytes > 0) {
    quota.bytes = *bytes;
    return quota;
  }
  fail_at(path,
          quote(text) + " is not a size or a percentage of the filesystem (use e.g. 50GiB or 80%; more than 0, "
                        "at most 100%)",
          n);
}

min_free_config read_min_free(const YAML::Node& n, const std::string& path) {
  const auto& text = scalar(n, path, "a size or a percentage");
  min_free_config min_free;
  if (text.ends_with('%')) {
    const auto percent = core::parse_percent(text);
    if (percent && *percent < 100) {
      min_free.filesystem_share = *percent / 100.0;
      return min_free;
    }
  } else if (const auto bytes = core::parse_byte_size(text)) {
    min_free.bytes = *bytes;
    min_free.filesystem_share = 0;
    return min_free;
  }
  fail_at(path,
          quote(text) + " is not a size or a percentage of the filesystem (use e.g. 5GiB or 10%; a size, 0 to "
                        "turn it off, or more than 0% and below 100%)",
          n);
}

template <class Unsigned>
Unsigned read_count(const YAML::Node& n, const std::string& path) {
  const auto& text = scalar(n, path, "a whole number");
  Unsigned value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::result_out_of_range) {
    fail_at(path, quote(text) + " is out of range (up to " + std::to_string(std::numeric_limits<Unsigned>::max()) + ")",
            n);
  }
  if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size()) {
    fail_at(path, quote(text) + " is not a whole number (use e.g. 64)", n);
  }
  return value;
}

bool read_bool(const YAML::Node& n, const std::string& path) {
  const auto& text = scalar(n, path, "true or false");
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  fail_at(path, quote(text) + " is not a boolean (use true or false)", n);
}

std::vector<std::string> read_string_list(const YAML::Node& n, const std::string& path) {
  std::vector<std::string> out;
  if (n.IsNull()) return out;
  if (!n.IsSequence()) fail_at(path, "expected a list of strings, got " + describe(n), n);
  for (std::size_t i = 0; i < n.size(); ++i) {
    out.push_back(read_string(n[i], path + "[" + std::to_string(i) + "]"));
  }
  return out;
}

// Calls fn(key, value, key_path) for each entry of a mapping; a null node is
// an empty mapping. Unknown and repeated keys are errors.
template <std::size_t N, class Fn>
void for_each_key(const YAML::Node& map, const std::string& path, const std::array<std::string_view, N>& allowed,
                  Fn&& fn) {
  if (map.IsNull()) return;
  if (!map.IsMap()) {
    fail_at(path.empty() ? "top level" : path, "expected a mapping (" + join(allowed) + "), got " + describe(map), map);
  }
  std::set<std::string, std::less<>> seen;
  for (const auto& entry : map) {
    const std::string& key = scalar(entry.first, path.empty() ? "top level" : path, "string keys");
    const std::string key_path = path.empty() ? key : path + "." + key;
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      fail_at(key_path, "unknown key (allowed: " + join(allowed) + ")", entry.first);
    }
    if (!seen.insert(key).second) fail_at(key_path, "given twice", entry.first);
    fn(std::string_view(key), entry.second, key_path);
  }
}

void read_tls(const YAML::Node& n, const std::string& path, tls_config& t) {
  static constexpr std::array<std::string_view, 6> keys{"listen",         "cert_file",   "key_file",
                                                        "client_ca_file", "client_auth", "min_version"};
  if (n.IsNull()) return;
  t.enabled = true;
  for_each_key(n, path, keys, [&](std::string_view key, const YAML::Node& v, const std::string& p) {
    if (key == "listen") t.listen = read_string(v, p);
    else if (key == "cert_file") t.cert_file = read_string(v, p);
    else if (key == "key_file") t.key_file = read_string(v, p);
    else if (key == "client_ca_file") t.client_ca_file = read_string(v, p);
    else if (key == "client_auth") t.client_auth = read_string(v, p);
    else t.min_version = read_string(v, p);
  });
}

void read_http2(const YAML::Node& n, const std::string& path, http2_config& h) {
  static constexpr std::array<std::string_view, 9> keys{
      "enabled",     "connection_window", "stream_window",       "max_concurrent_streams", "max_header_list_size",
      "reset_burst", "reset_rate",        "control_frame_burst", "control_frame_rate"};
  for_each_key(n, path, keys, [&](std::string_view key, const YAML::Node& v, const std::string& p) {
    if (key == "enabled") h.enabled = read_bool(v, p);
    else if (key == "connection_window") h.connection_window = read_size(v, p);
    else if (key == "stream_window") h.stream_window = read_size(v, p);
    else if (key == "max_concurrent_streams") h.max_concurrent_streams = read_count<std::uint32_t>(v, p);
    else if (key == "max_header_list_size") h.max_header_list_size = read_size(v, p);
    else if (key == "reset_burst") h.reset_burst = read_count<std::uint32_t>(v, p);
    else if (key == "reset_rate") h.reset_rate = read_count<std::uint32_t>(v, p);
    else if (key == "control_frame_burst") h.control_frame_burst = read_count<std::uint32_t>(v, p);
    else h.control_frame_rate = read_count<std::uint32_t>(v, p);
  });
}

// "auto" (unset) or a whole number.
std::optional<unsigned> read_hashing_threads(const YAML::Node& n, const std::string& path) {
  const auto& text = scalar(n, path, "auto or a whole number");
  if (text == "auto") return std::nullopt;
  if (text.empty() || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    fail_at(path, quote(text) + " is not allowed (auto, or a whole number of threads: 0 hashes on the I/O thread)", n);
  return read_count<unsigned>(n, path);
}

void read_server(const YAML::Node& n, const std::string& path, server_config& s) {
  static constexpr std::array<std::string_view, 12> keys{
      "listen",          "max_header_bytes", "idle_timeout",   "header_timeout", "read_timeout",
      "write_timeout",   "max_connections",  "shutdown_grace", "threads",        "hashing_threads",
      "tls",             "http2"};
  bool listen_given = false;
  for_each_key(n, path, keys, [&](std::string_view key, const YAML::Node& v, const std::string& p) {
    if (key == "listen") {
      s.listen = read_string(v, p);
      listen_given = true;
    } else if (key == "tls") read_tls(v, p, s.tls);
    else if (key == "http2") read_http2(v, p, s.http2);
    else if (key == "max_header_bytes") s.max_header_bytes = read_size(v, p);
    else if (key == "idle_timeout") s.idle_timeout = read_duration(v, p);
    else if (key == "header_timeout") s.header_timeout = read_duration(v, p);
    else if (key == "read_timeout") s.read_timeout = read_duration(v, p);
    else if (key == "write_timeout") s.write_timeout = read_duration(v, p);
    else if (key == "max_connections") s.max_connections = read_count<std::size_t>(v, p);
    else if (key == "shutdown_grace") s.shutdown_grace = read_duration(v, p);
    else if (key == "hashing_threads") s.hashing_threads = read_hashing_threads(v, p);
    else s.threads = read_count<unsigned>(v, p);
  });
  // Only TLS is wanted: no plain listener unless one is asked for.
  if (s.tls.enabled && !listen_given) s.listen.clear();
}

void read_storage(const YAML::Node& n, const std::string& path, storage_config& s) {
  static constexpr std::array<std::string_view, 8> keys{"root",          "quota",   "min_free",
                                                        "high_watermark", "low_watermark", "min_age",
                                                        "max_unused_age", "eviction_interval"};
  for_each_key(n, path, keys, [&](std::string_view key, const YAML::Node& v, const std::string& p) {
    if (key == "root") s.root = read_string(v, p);
    else if (key == "quota") s.quota = read_quota(v, p);
    else if (key == "min_free") s.min_free = read_min_free(v, p);
    else if (key == "high_watermark") s.high_watermark = read_percent(v, p);
    else if (key == "low_watermark") s.low_watermark = read_percent(v, p);
    else if (key == "min_age") s.min_age = read_duration(v, p);
    else if (key == "max_unused_age") s.max_unused_age = read_duration(v, p);
    else s.eviction_interval = read_duration(v, p);
  });
}

void read_upstream(const YAML::Node& n, const std::string& path, upstream_config& u) {
  static constexpr std::array<std::string_view, 24> keys{
      "name",          "url",          "aliases",         "username",        "password_file",
      "password_env",  "ca_file",      "client_cert_file", "client_key_file", "insecure_skip_verify",
      "insecure_http", "tag_ttl",      "max_stale",       "on_tag_not_found", "connect_timeout",
      "read_timeout",  "max_connections", "send_ns",      "h2c",             "offline",         "min_transfer_rate",
      "min_transfer_window", "allow_repositories", "deny_repositories"};
  if (n.IsNull()) fail_at(path, "expected a mapping (" + join(keys) + "), got nothing", n);
  for_each_key(n, path, keys, [&](std::string_view key, const YAML::Node& v, const std::string& p) {
    if (key == "name") u.name = read_string(v, p);
    else if (key == "url") u.url = read_string(v, p);
    else if (key == "aliases") u.aliases = read_string_list(v, p);
    else if (key == "username") u.username = read_string(v, p);
    else if (key == "password_file") u.password_file = read_string(v, p);
    else if (key == "password_env") u.password_env = read_string(v, p);
    else if (key == "ca_file") u.ca_file = read_string(v, p);
    else if (key == "client_cert_file") u.client_cert_file = read_string(v, p);
    else if (key == "client_key_file") u.client_key_file = read_string(v, p);
    else if (key == "insecure_skip_verify") u.insecure_skip_verify = read_bool(v, p);
    else if (key == "insecure_http") u.insecure_http = read_bool(v, p);
    else if (key == "tag_ttl") u.tag_ttl = read_duration(v, p);
    else if (key == "max_stale") u.max_stale = read_duration(v, p);
    else if (key == "on_tag_not_found") u.on_tag_not_found = read_string(v, p);
    else if (key == "connect_timeout") u.connect_timeout = read_duration(v, p);
    else if (key == "read_timeout") u.read_timeout = read_duration(v, p);
    else if (key == "send_ns") u.send_ns = read_bool(v, p);
    else if (key == "h2c") u.h2c = read_bool(v, p);
    else if (key == "offline") u.offline = read_bool(v, p);
    else if (key == "min_transfer_rate") u.min_transfer_rate = read_size(v, p);
    else if (key == "min_transfer_window") u.min_transfer_window = read_duration(v, p);
    else if (key == "allow_repositories") {
      u.allow_repositories = read_string_list(v, p);
      // Left out allows every repository; an empty list would read as both.
      if (u.allow_repositories.empty())
        fail_at(p, "an empty list allows no repository: list patterns (e.g. [\"library/**\"]), or leave the key "
                   "out to allow every repository",
                v);
    } else if (key == "deny_repositories") u.deny_repositories = read_string_list(v, p);
    else u.max_connections = read_count<std::size_t>(v, p);
  });
}

void read_upstreams(const YAML::Node& n, const std::string& path, std::vector<upstream_config>& out) {
  out.clear();
  if (n.IsNull()) return;
  if (!n.IsSequence()) fail_at(path, "expected a list of upstreams (- name: ..., url: ...), got " + describe(n), n);
  for (std::size_t i = 0; i < n.size(); ++i) {
    read_upstream(n[i], path + "[" + std::to_string(i) + "]", out.emplace_back());
  }
}

void read_log(const YAML::Node& n, const std::string& path, log_config& l) {
  static constexpr std::array<std::string_view, 3> keys{"level", "format", "access_log"};
  for_each_key(n, path, keys, [&](std::string_view key, const YAML::Node& v, const std::string& p) {
    if (key == "level") l.level = read_string(v, p);
    else if (key == "format") l.format = read_string(v, p);
    else l.access_log = read_bool(v, p);
  });
}

void read_metrics(const YAML::Node& n, const std::string& path, metrics_config& m) {
  static constexpr std::array<std::string_view, 2> keys{"enabled", "path"};
  for_each_key(n, path, keys, [&](std::string_view key, const YAML::Node& v, const std::string& p) {
    if (key == "enabled") m.enabled = read_bool(v, p);
    else m.path = read_string(v, p);
  });
}

void read_admin(const YAML::Node& n, const std::string& path, admin_config& a) {
  static constexpr std::array<std::string_view, 3> keys{"enabled", "listen", "token_file"};
  for_each_key(n, path, keys, [&](std::string_view key, const YAML::Node& v, const std::string& p) {
    if (key == "enabled") a.enabled = read_bool(v, p);
    else if (key == "token_file") a.token_file = read_string(v, p);
    else a.listen = read_string(v, p);
  });
}

void read_prefetch(const YAML::Node& n, const std::string& path, prefetch_config& pf) {
  static constexpr std::array<std::string_view, 1> keys{"parallelism"};
  for_each_key(n, path, keys, [&](std::string_view, const YAML::Node& v, const std::string& p) {
    pf.parallelism = read_count<std::size_t>(v, p);
  });
}

void read_scan(const YAML::Node& n, const std::string& path, scan_config& sc) {
  sc.enabled = true;
  static constexpr std::array<std::string_view, 6> keys{"command", "webhook", "mode", "block_until_scanned",
                                                        "parallelism", "timeout"};
  for_each_key(n, path, keys, [&](std::string_view key, const YAML::Node& v, const std::string& p) {
    if (key == "command") sc.command = read_string_list(v, p);
    else if (key == "webhook") sc.webhook = read_string(v, p);
    else if (key == "mode") sc.mode = read_string(v, p);
    else if (key == "block_until_scanned") sc.block_until_scanned = read_bool(v, p);
    else if (key == "parallelism") sc.parallelism = read_count<std::size_t>(v, p);
    else sc.timeout = read_duration(v, p);
  });
}

void read_auth(const YAML::Node& n, const std::string& path, auth_config& a) {
  static constexpr std::array<std::string_view, 5> keys{"htpasswd_file", "tokens_file", "groups", "cache_ttl",
                                                        "cache_entries"};
  for_each_key(n, path, keys, [&](std::string_view key, const YAML::Node& v, const std::string& p) {
    if (key == "htpasswd_file") a.htpasswd_file = read_string(v, p);
    else if (key == "tokens_file") a.tokens_file = read_string(v, p);
    else if (key == "cache_ttl") a.cache_ttl = read_duration(v, p);
    else if (key == "cache_entries") a.cache_entries = read_count<std::size_t>(v, p);
    else {
      if (!v.IsNull() && !v.IsMap()) fail_at(p, "expected a mapping of group names to lists of identities, got " + describe(v), v);
      for (const auto& group : v) {
        const auto& name = scalar(group.first, p, "a group name");
        a.groups.emplace_back(name, read_string_list(group.second, p + "." + name));
      }
    }
  });
}

void read_access_rule(const YAML::Node& n, const std::string& path, access_rule_config& r) {
  static constexpr std::array<std::string_view, 4> keys{"upstream", "repositories", "allow", "deny"};
  if (n.IsNull()) fail_at(path, "expected a mapping (" + join(keys) + "), got nothing", n);
  for_each_key(n, path, keys, [&](std::string_view key, const YAML::Node& v, const std::string& p) {
    if (key == "upstream") r.upstream = read_string(v, p);
    else if (key == "repositories") r.repositories = read_string_list(v, p);
    else if (key == "allow") {
      r.allow = read_string_list(v, p);
      r.has_allow = true;
    } else {
      r.deny = read_string_list(v, p);
      r.has_deny = true;
    }
  });
}

void read_access(const YAML::Node& n, const std::string& path, std::vector<access_rule_config>& out) {
  if (n.IsNull()) return;
  if (!n.IsSequence())
    fail_at(path, "expected a list of rules (- {upstream: ..., repositories: [...], allow: [...]}), got " + describe(n), n);
  for (std::size_t i = 0; i < n.size(); ++i)
    read_access_rule(n[i], path + "[" + std::to_string(i) + "]", out.emplace_back());
}

void read_verify_rule(const YAML::Node& n, const std::string& path, verify_rule_config& r) {
  static constexpr std::array<std::string_view, 7> keys{"upstream",       "repositories",         "mode",
                                                        "cosign_keys",    "notation_trust_store", "check_identity",
                                                        "gate_blobs"};
  if (n.IsNull()) fail_at(path, "expected a mapping (" + join(keys) + "), got nothing", n);
  for_each_key(n, path, keys, [&](std::string_view key, const YAML::Node& v, const std::string& p) {
    if (key == "upstream") r.upstream = read_string(v, p);
    else if (key == "repositories") r.repositories = read_string_list(v, p);
    else if (key == "mode") r.mode = read_string(v, p);
    else if (key == "cosign_keys") r.cosign_keys = read_string_list(v, p);
    else if (key == "notation_trust_store") r.notation_trust_store = read_string(v, p);
    else if (key == "check_identity") r.check_identity = read_bool(v, p);
    else r.gate_blobs = read_bool(v, p);
  });
}

void read_verify(const YAML::Node& n, const std::string& path, std::vector<verify_rule_config>& out) {
  if (n.IsNull()) return;
  if (!n.IsSequence())
    fail_at(path,
            "expected a list of rules (- {upstream: ..., repositories: [...], mode: enforce, cosign_keys: [...]}), "
            "got " + describe(n),
            n);
  for (std::size_t i = 0; i < n.size(); ++i)
    read_verify_rule(n[i], path + "[" + std::to_string(i) + "]", out.emplace_back());
}

// ---------------------------------------------------------------- validation

void check_positive(const std::string& path, std::chrono::milliseconds value, std::chrono::milliseconds fallback) {
  if (value.count() <= 0) {
    fail(path, format_duration(value) + " is not allowed (must be greater than 0, default " +
                   format_duration(fallback) + ")");
  }
}

void check_at_least_one(const std::string& path, std::size_t value, std::size_t fallback) {
  if (value < 1) {
    fail(path, std::to_string(value) + " is not allowed (must be at least 1, default " + std::to_string(fallback) + ")");
  }
}

bool is_wildcard(std::string_view host) { return host == "0.0.0.0" || host == "::"; }

// Two listeners on the same host (or a wildcard) and port; two on port 0 get distinct free ports.
bool listeners_overlap(const std::pair<std::string, std::uint16_t>& a, const std::pair<std::string, std::uint16_t>& b) {
  const bool same_host = a.first == b.first || is_wildcard(a.first) || is_wildcard(b.first);
  return same_host && a.second == b.second && a.second != 0;
}

void validate_tls(const tls_config& t, const server_config& s) {
  static constexpr std::array<std::string_view, 3> client_auths{"none", "optional", "require"};
  static constexpr std::array<std::string_view, 2> versions{"1.2", "1.3"};
  if (t.listen.empty()) fail("server.tls.listen", "required when server.tls is given (host:port, e.g. 0.0.0.0:5443)");
  std::pair<std::string, std::uint16_t> listen;
  if (auto problem = listen_problem(t.listen, listen)) fail("server.tls.listen", *problem);
  std::pair<std::string, std::uint16_t> plain;
  if (!s.listen.empty() && !listen_problem(s.listen, plain) && listeners_overlap(listen, plain)) {
    fail("server.tls.listen", quote(t.listen) + " overlaps server.listen " + quote(s.listen) +
                                  " (use another port, e.g. 0.0.0.0:5443)");
  }
  if (t.cert_file.empty()) fail("server.tls.cert_file", "required (PEM: the certificate, then its chain)");
  if (t.key_file.empty()) fail("server.tls.key_file", "required (PEM private key of cert_file)");
  if (std::find(client_auths.begin(), client_auths.end(), t.client_auth) == client_auths.end()) {
    fail("server.tls.client_auth", quote(t.client_auth) + " is not allowed (allowed: " + join(client_auths) + ")");
  }
  if (t.client_auth != "none" && t.client_ca_file.empty()) {
    fail("server.tls.client_ca_file", "required when server.tls.client_auth is " + t.client_auth +
                                          " (PEM CAs that sign client certificates)");
  }
  if (t.client_auth == "none" && !t.client_ca_file.empty()) {
    fail("server.tls.client_ca_file", "given but server.tls.client_auth is none, so no client certificate is asked "
                                      "for (set client_auth: optional or require, or remove client_ca_file)");
  }
  if (std::find(versions.begin(), versions.end(), t.min_version) == versions.end()) {
    fail("server.tls.min_version", quote(t.min_version) + " is not allowed (allowed: " + join(versions) + ")");
  }
}

void validate_http2(const http2_config& h) {
  const http2_config defaults;
  // RFC 9113 6.9.1: a flow-control window is at most 2^31-1 bytes; below
  // the protocol's initial 65535 a window would slow every client down.
  constexpr std::uint64_t min_window = 65535, max_window = 2147483647;
  const auto check_window = [&](const std::string& path, std::uint64_t value, std::uint64_t fallback) {
    if (value < min_window || value > max_window) {
      fail(path, std::to_string(value) + " is not allowed (must be between 65535 and 2147483647 bytes, default " +
                     core::format_bytes(fallback) + ")");
    }
  };
  check_window("server.http2.connection_window", h.connection_window, defaults.connection_window);
  check_window("server.http2.stream_window", h.stream_window, defaults.stream_window);
  check_at_least_one("server.http2.max_concurrent_streams", h.max_concurrent_streams, defaults.max_concurrent_streams);
  if (h.max_header_list_size < 1024 || h.max_header_list_size > 1024 * 1024) {
    fail("server.http2.max_header_list_size", std::to_string(h.max_header_list_size) +
                                                  " is not allowed (must be between 1KiB and 1MiB, default 32KiB)");
  }
  check_at_least_one("server.http2.reset_burst", h.reset_burst, defaults.reset_burst);
  check_at_least_one("server.http2.reset_rate", h.reset_rate, defaults.reset_rate);
  check_at_least_one("server.http2.control_frame_burst", h.control_frame_burst, defaults.control_frame_burst);
  check_at_least_one("server.http2.control_frame_rate", h.control_frame_rate, defaults.control_frame_rate);
}

void validate_server(const server_config& s) {
  const server_config defaults;
  if (s.tls.enabled) validate_tls(s.tls, s);
  std::pair<std::string, std::uint16_t> listen;
  if (s.listen.empty()) {
    if (!s.tls.enabled) fail("server.listen", "required unless server.tls gives a TLS listener (e.g. 127.0.0.1:5000)");
  } else if (auto problem = listen_problem(s.listen, listen)) {
    fail("server.listen", *problem);
  }
  if (s.max_header_bytes < 1024 || s.max_header_bytes > 1024 * 1024) {
    fail("server.max_header_bytes", std::to_string(s.max_header_bytes) +
                                        " is not allowed (must be between 1KiB and 1MiB, default 16KiB)");
  }
  check_positive("server.idle_timeout", s.idle_timeout, defaults.idle_timeout);
  check_positive("server.header_timeout", s.header_timeout, defaults.header_timeout);
  check_positive("server.read_timeout", s.read_timeout, defaults.read_timeout);
  check_positive("server.write_timeout", s.write_timeout, defaults.write_timeout);
  check_at_least_one("server.max_connections", s.max_connections, defaults.max_connections);
  check_positive("server.shutdown_grace", s.shutdown_grace, defaults.shutdown_grace);
  validate_http2(s.http2);
}

void validate_upstream(const upstream_config& u, const std::string& path,
                       std::map<std::string, std::string, std::less<>>& hosts_seen) {
  const upstream_config defaults;
  const auto claim = [&hosts_seen](const std::string& host, const std::string& host_path) {
    if (auto problem = registry_host_problem(host)) fail(host_path, *problem);
    const auto [it, inserted] = hosts_seen.emplace(host, host_path);
    if (!inserted) {
      fail(host_path, quote(host) + " is already used by " + it->second + " (names and aliases must be unique)");
    }
  };
  claim(u.name, path + ".name");
  for (std::size_t i = 0; i < u.aliases.size(); ++i) {
    claim(u.aliases[i], path + ".aliases[" + std::to_string(i) + "]");
  }
  if (auto problem = url_problem(u.url)) fail(path + ".url", *problem);
  if (u.url.starts_with("http://") && !u.insecure_http) {
    fail(path + ".url", quote(u.url) + " is plain HTTP: set insecure_http: true to allow it (credentials and "
                                       "content then travel unencrypted)");
  }
  if (u.h2c && u.url.starts_with("https://")) {
    fail(path + ".h2c", "needs an http:// url: h2c is HTTP/2 in cleartext; over https regcache speaks HTTP/1.1 "
                        "to upstreams (set h2c: false, or use the tier's plain http:// listener)");
  }
  if (u.client_cert_file.empty() != u.client_key_file.empty()) {
    fail(path + (u.client_cert_file.empty() ? ".client_cert_file" : ".client_key_file"),
         "must be set together with " + std::string(u.client_cert_file.empty() ? "client_key_file" : "client_cert_file"));
  }
  static constexpr std::array<std::string_view, 2> not_found_policies{"follow", "serve_cached"};
  if (std::find(not_found_policies.begin(), not_found_policies.end(), u.on_tag_not_found) ==
      not_found_policies.end()) {
    fail(path + ".on_tag_not_found",
         quote(u.on_tag_not_found) + " is not a policy (allowed: " + join(not_found_policies) + ")");
  }
  if (u.max_stale.count() < 0) {
    fail(path + ".max_stale", format_duration(u.max_stale) + " is not allowed (must be 0 or more; 0 = no bound)");
  }
  // The password settings are only ever named here, never echoed: an operator
  // may have pasted the password itself into them.
  if (!u.password_file.empty() && !u.password_env.empty()) {
    fail(path, "set only one of password_file and password_env");
  }
  if ((!u.password_file.empty() || !u.password_env.empty()) && u.username.empty()) {
    fail(path + ".username", "must be set when password_file or password_env is");
  }
  if (!u.password_env.empty() && !is_env_name(u.password_env)) {
    fail(path + ".password_env",
         "is not an environment variable name (letters, digits and _, not starting with a digit)");
  }
  if (u.tag_ttl.count() < 0) {
    fail(path + ".tag_ttl", format_duration(u.tag_ttl) +
                                " is not allowed (must be 0 or more; 0 revalidates a tag on every request)");
  }
  const auto check_globs = [&path](const std::vector<std::string>& patterns, const std::string& key) {
    for (std::size_t i = 0; i < patterns.size(); ++i) {
      if (oci::repository_glob::parse(patterns[i])) continue;
      fail(path + "." + key + "[" + std::to_string(i) + "]",
           quote(patterns[i]) +
               " is not a repository pattern (/-separated segments of a-z 0-9 . _ - where * matches within one "
               "segment, or a whole segment ** for any number of segments; e.g. library/*, team-a/**)");
    }
  };
  check_globs(u.allow_repositories, "allow_repositories");
  check_globs(u.deny_repositories, "deny_repositories");
  check_positive(path + ".connect_timeout", u.connect_timeout, defaults.connect_timeout);
  check_positive(path + ".read_timeout", u.read_timeout, defaults.read_timeout);
  check_at_least_one(path + ".max_connections", u.max_connections, defaults.max_connections);
  check_positive(path + ".min_transfer_window", u.min_transfer_window, defaults.min_transfer_window);
}

// 0.955 → "95.5%".
std::string format_percent(double fraction) {
  std::ostringstream out;
  out << fraction * 100 << '%';
  return out.str();
}

void check_not_negative(const std::string& path, std::chrono::milliseconds value, std::string_view meaning) {
  if (value.count() < 0) {
    fail(path, format_duration(value) + " is not allowed (must be 0 or more" + std::string(meaning) + ")");
  }
}

void validate_storage(const storage_config& s) {
  const storage_config defaults;
  if (s.root.empty()) fail("storage.root", "must not be empty (default ./data)");
  if (s.quota.bytes == 0 && !(s.quota.filesystem_share > 0 && s.quota.filesystem_share <= 1)) {
    fail("storage.quota", format_percent(s.quota.filesystem_share) +
                              " is not allowed (a size of more than 0 bytes, or more than 0% up to 100%; "
                              "default 80%)");
  }
  if (s.min_free.bytes == 0 && !(s.min_free.filesystem_share >= 0 && s.min_free.filesystem_share < 1)) {
    fail("storage.min_free", format_percent(s.min_free.filesystem_share) +
                                 " is not allowed (a size, 0 to turn it off, or more than 0% and below 100%; "
                                 "default 10%)");
  }
  if (!(s.high_watermark > 0 && s.high_watermark <= 1)) {
    fail("storage.high_watermark", format_percent(s.high_watermark) +
                                       " is not allowed (more than 0% up to 100% of the quota, default 90%)");
  }
  if (!(s.low_watermark > 0 && s.low_watermark < s.high_watermark)) {
    fail("storage.low_watermark", format_percent(s.low_watermark) +
                                      " is not allowed (more than 0% and below storage.high_watermark, " +
                                      format_percent(s.high_watermark) + "; default 80%)");
  }
  check_not_negative("storage.min_age", s.min_age, "; 0 lets just-used content go, default 10m");
  check_not_negative("storage.max_unused_age", s.max_unused_age, "; 0 = never");
  check_positive("storage.eviction_interval", s.eviction_interval, defaults.eviction_interval);
}

void validate_admin(const admin_config& a, const server_config& server) {
  std::pair<std::string, std::uint16_t> admin_address;
  if (auto problem = listen_problem(a.listen, admin_address)) fail("admin.listen", *problem);
  if (!a.enabled) return;
  // The admin API purges, pins and prefetches: beyond this machine, only
  // with a token.
  if (a.token_file.empty() && !is_loopback_host(admin_address.first)) {
    fail("admin.token_file", "must be set when admin.listen " + quote(a.listen) +
                                 " is not a loopback address (127.0.0.1, [::1], localhost): the admin API would "
                                 "let anyone who reaches it purge, pin and prefetch. Put a token in a file and "
                                 "name it here, or listen on 127.0.0.1");
  }
  // A bad server.listen or server.tls.listen is reported by validate_server.
  std::pair<std::string, std::uint16_t> server_address;
  if (!listen_problem(server.listen, server_address) && listeners_overlap(admin_address, server_address)) {
    fail("admin.listen", quote(a.listen) + " overlaps server.listen " + quote(server.listen) +
                             " (use another port, e.g. 127.0.0.1:5001)");
  }
  if (server.tls.enabled && !listen_problem(server.tls.listen, server_address) &&
      listeners_overlap(admin_address, server_address)) {
    fail("admin.listen", quote(a.listen) + " overlaps server.tls.listen " + quote(server.tls.listen) +
                             " (use another port, e.g. 127.0.0.1:5001)");
  }
}

void validate_default_upstream(const config& cfg) {
  std::vector<std::string> names;
  for (const auto& u : cfg.upstreams) names.push_back(u.name);
  if (names.empty()) {
    if (!cfg.default_upstream.empty()) {
      fail("default_upstream", quote(cfg.default_upstream) +
                                   " names no upstream: none are configured (add one under upstreams, or leave "
                                   "default_upstream empty)");
    }
    return;
  }
  if (cfg.default_upstream.empty()) {
    if (names.size() > 1) fail("default_upstream", "must be set when there are several upstreams (allowed: " + join(names) + ")");
    return;
  }
  if (std::find(names.begin(), names.end(), cfg.default_upstream) == names.end()) {
    fail("default_upstream", quote(cfg.default_upstream) + " is not an upstream's name (allowed: " + join(names) + ")");
  }
}

void validate_log(const log_config& l) {
  static constexpr std::array<std::string_view, 6> levels{"trace", "debug", "info", "warn", "error", "off"};
  static constexpr std::array<std::string_view, 2> formats{"text", "json"};
  if (std::find(levels.begin(), levels.end(), l.level) == levels.end()) {
    fail("log.level", quote(l.level) + " is not a log level (allowed: " + join(levels) + ")");
  }
  if (std::find(formats.begin(), formats.end(), l.format) == formats.end()) {
    fail("log.format", quote(l.format) + " is not a log format (allowed: " + join(formats) + ")");
  }
}

void validate_metrics(const metrics_config& m) {
  if (!m.path.starts_with('/')) fail("metrics.path", quote(m.path) + " must start with '/' (e.g. /metrics)");
  if (m.path.find_first_of("?# \t\r\n") != std::string::npos) {
    fail("metrics.path", quote(m.path) + " must be a plain path, without spaces, '?' or '#' (e.g. /metrics)");
  }
  if (m.path == "/v2" || m.path.starts_with("/v2/")) {
    fail("metrics.path", quote(m.path) + " is inside the registry API under /v2 (use e.g. /metrics)");
  }
}

// A name of auth.groups: what "group:<name>" refers to.
bool is_group_name(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || is_digit(c) || c == '.' || c == '_' || c == '-';
  });
}

// An identity as htpasswd users, token identities and certificate names are
// written: no ':' (htpasswd's separator), no whitespace, no '*'.
bool is_identity_name(std::string_view s) {
  return !s.empty() && std::none_of(s.begin(), s.end(), [](char c) {
    return c == ':' || c == '*' || static_cast<unsigned char>(c) <= ' ' || c == 0x7f;
  });
}

// Why `glob` is not a repository glob, or nullopt.
std::optional<std::string> glob_problem(std::string_view glob) {
  if (oci::repository_glob::parse(glob)) return std::nullopt;
  return quote(glob) +
         " is not a repository glob (/-separated segments of a-z 0-9 . _ - and *, or a whole ** segment; e.g. "
         "library/*, team-a/**, **)";
}

void validate_auth(const auth_config& a) {
  std::set<std::string, std::less<>> names;
  for (const auto& [name, members] : a.groups) {
    const auto path = "auth.groups." + name;
    if (!is_group_name(name)) fail(path, quote(name) + " is not a group name (a-z 0-9 . _ -, e.g. team-a)");
    if (!names.insert(name).second) fail(path, "given twice");
    for (std::size_t i = 0; i < members.size(); ++i)
      if (!is_identity_name(members[i]))
        fail(path + "[" + std::to_string(i) + "]",
             quote(members[i]) + " is not an identity (a user or token name: no spaces, ':' or '*')");
  }
  check_not_negative("auth.cache_ttl", a.cache_ttl, "; 0 checks the password on every request, default 5m");
  check_at_least_one("auth.cache_entries", a.cache_entries, auth_config{}.cache_entries);
}

void validate_subject(const std::string& subject, const std::string& path, const config& cfg) {
  if (subject == "anonymous" || subject == "*") return;
  if (subject.starts_with("group:")) {
    const auto group = std::string_view(subject).substr(6);
    std::vector<std::string> groups;
    if (cfg.auth)
      for (const auto& g : cfg.auth->groups) groups.push_back(g.first);
    if (std::find(groups.begin(), groups.end(), group) == groups.end())
      fail(path, quote(subject) + " names no group of auth.groups (allowed: " +
                     (groups.empty() ? std::string("none are defined") : join(groups)) + ")");
    return;
  }
  if (!is_identity_name(subject))
    fail(path, quote(subject) + " is not a subject (allowed: an identity, group:<name>, *, anonymous)");
}

// What access and verify rules share: the upstream is "*" or a configured
// upstream's name, and the repositories are at least one valid glob.
void validate_rule_scope(const std::string& path, const std::string& upstream,
                         const std::vector<std::string>& repositories, const config& cfg) {
  std::vector<std::string> upstreams{"*"};
  for (const auto& u : cfg.upstreams) upstreams.push_back(u.name);
  if (std::find(upstreams.begin(), upstreams.end(), upstream) == upstreams.end())
    fail(path + ".upstream", quote(upstream) + " is not an upstream's name (allowed: " + join(upstreams) + ")");
  if (repositories.empty())
    fail(path + ".repositories", "must list at least one repository glob (e.g. [\"library/*\"], [\"**\"])");
  for (std::size_t j = 0; j < repositories.size(); ++j)
    if (auto problem = glob_problem(repositories[j])) fail(path + ".repositories[" + std::to_string(j) + "]", *problem);
}

void validate_access(const std::vector<access_rule_config>& rules, const config& cfg) {
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const auto& rule = rules[i];
    const auto path = "access[" + std::to_string(i) + "]";
    validate_rule_scope(path, rule.upstream, rule.repositories, cfg);
    if (rule.has_allow == rule.has_deny) fail(path, "set exactly one of allow and deny");
    const auto& subjects = rule.has_allow ? rule.allow : rule.deny;
    const auto key = path + (rule.has_allow ? ".allow" : ".deny");
    if (subjects.empty())
      fail(key, "must list at least one subject (an identity, group:<name>, *, anonymous)");
    for (std::size_t j = 0; j < subjects.size(); ++j)
      validate_subject(subjects[j], key + "[" + std::to_string(j) + "]", cfg);
  }
}

void validate_scan(const scan_config& sc) {
  static constexpr std::array<std::string_view, 3> modes{"enforce", "warn", "off"};
  if (std::find(modes.begin(), modes.end(), sc.mode) == modes.end())
    fail("scan.mode", quote(sc.mode) + " is not allowed (allowed: " + join(modes) + ")");
  check_at_least_one("scan.parallelism", sc.parallelism, scan_config{}.parallelism);
  check_positive("scan.timeout", sc.timeout, scan_config{}.timeout);
  if (!sc.enabled || sc.mode == "off") return;
  if (sc.command.empty() == sc.webhook.empty())
    fail("scan", "set exactly one of command (a list: the scanner's path and arguments) and webhook (a URL)");
  if (!sc.command.empty()) {
    const std::filesystem::path program = sc.command.front();
    if (!program.is_absolute())
      fail("scan.command[0]", quote(sc.command.front()) + " is not an absolute path (e.g. /usr/local/bin/scan-image)");
    std::error_code ec;
    if (!std::filesystem::is_regular_file(program, ec) || ::access(program.c_str(), X_OK) != 0)
      fail("scan.command[0]", quote(sc.command.front()) + " is not an executable file");
  }
  if (!sc.webhook.empty()) {
    if (auto problem = url_problem(sc.webhook)) fail("scan.webhook", *problem);
  }
}

void validate_verify(const std::vector<verify_rule_config>& rules, const config& cfg) {
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const auto& rule = rules[i];
    const auto path = "verify[" + std::to_string(i) + "]";
    validate_rule_scope(path, rule.upstream, rule.repositories, cfg);
    if (rule.mode != "enforce" && rule.mode != "warn" && rule.mode != "off")
      fail(path + ".mode", quote(rule.mode) + " is not allowed (allowed: enforce, warn, off; default enforce)");
    if (rule.mode != "off" && rule.cosign_keys.empty() && rule.notation_trust_store.empty())
      fail(path, "mode " + rule.mode + " needs something to verify with: cosign_keys (PEM public key files) or "
                 "notation_trust_store (a PEM file of root certificates)");
    for (std::size_t j = 0; j < rule.cosign_keys.size(); ++j)
      if (rule.cosign_keys[j].empty())
        fail(path + ".cosign_keys[" + std::to_string(j) + "]", "must not be empty (a PEM public key file)");
  }
}

void validate_default_access(const std::string& value) {
  if (!value.empty() && value != "allow" && value != "deny")
    fail("default_access", quote(value) + " is not allowed (allowed: allow, deny; default deny)");
}

}  // namespace

bool access_control_enabled(const config& cfg) noexcept {
  return cfg.auth.has_value() || cfg.access.has_value() || !cfg.default_access.empty();
}

config parse_yaml(std::string_view text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    std::string where;
    if (!e.mark.is_null()) {
      where = " (line " + std::to_string(e.mark.line + 1) + ", column " + std::to_string(e.mark.column + 1) + ")";
    }
    throw config_error("YAML syntax error: " + e.msg + where);
  }

  config cfg;
  static constexpr std::array<std::string_view, 13> keys{
      "server",   "storage",  "upstreams", "default_upstream", "log",  "metrics", "admin",
      "prefetch", "auth",     "access",    "default_access",   "scan", "verify"};
  for_each_key(root, "", keys, [&](std::string_view key, const YAML::Node& v, const std::string& p) {
    if (key == "server") read_server(v, p, cfg.server);
    else if (key == "storage") read_storage(v, p, cfg.storage);
    else if (key == "upstreams") read_upstreams(v, p, cfg.upstreams);
    else if (key == "default_upstream") cfg.default_upstream = v.IsNull() ? std::string() : read_string(v, p);
    else if (key == "log") read_log(v, p, cfg.log);
    else if (key == "metrics") read_metrics(v, p, cfg.metrics);
    else if (key == "admin") read_admin(v, p, cfg.admin);
    else if (key == "auth") read_auth(v, p, cfg.auth.emplace());
    else if (key == "access") read_access(v, p, cfg.access.emplace());
    else if (key == "default_access") cfg.default_access = read_string(v, p);
    else if (key == "scan") read_scan(v, p, cfg.scan);
    else if (key == "verify") read_verify(v, p, cfg.verify);
    else read_prefetch(v, p, cfg.prefetch);
  });
  return cfg;
}

config load_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw config_error(path.string() + ": is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw config_error(path.string() + ": cannot open: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw config_error(path.string() + ": cannot read: " + std::strerror(errno));
  try {
    return parse_yaml(text.str());
  } catch (const config_error& e) {
    throw config_error(path.string() + ": " + e.what());
  }
}

void validate(const config& cfg) {
  validate_server(cfg.server);
  validate_storage(cfg.storage);
  std::map<std::string, std::string, std::less<>> hosts_seen;
  for (std::size_t i = 0; i < cfg.upstreams.size(); ++i) {
    validate_upstream(cfg.upstreams[i], "upstreams[" + std::to_string(i) + "]", hosts_seen);
  }
  validate_default_upstream(cfg);
  validate_log(cfg.log);
  validate_metrics(cfg.metrics);
  validate_admin(cfg.admin, cfg.server);
  check_at_least_one("prefetch.parallelism", cfg.prefetch.parallelism, prefetch_config{}.parallelism);
  if (cfg.auth) validate_auth(*cfg.auth);
  if (cfg.access) validate_access(*cfg.access, cfg);
  validate_default_access(cfg.default_access);
  validate_scan(cfg.scan);
  validate_verify(cfg.verify, cfg);
}

namespace {

// `share` of the size of the filesystem holding `root`, for the key `key`.
std::uint64_t share_of_filesystem(const std::filesystem::path& root, double share, std::string_view key) {
  std::error_code ec;
  const auto space = std::filesystem::space(root, ec);
  if (ec) {
    throw config_error(std::string(key) + ": cannot measure the filesystem holding " + root.string() + ": " +
                       ec.message());
  }
  return static_cast<std::uint64_t>(static_cast<long double>(space.capacity) * share);
}

}  // namespace

std::uint64_t resolve_quota(const storage_config& storage, const std::filesystem::path& root) {
  if (storage.quota.bytes > 0) return storage.quota.bytes;
  return share_of_filesystem(root, storage.quota.filesystem_share, "storage.quota");
}

std::uint64_t resolve_min_free(const storage_config& storage, const std::filesystem::path& root) {
  if (storage.min_free.bytes > 0 || storage.min_free.filesystem_share == 0) return storage.min_free.bytes;
  return share_of_filesystem(root, storage.min_free.filesystem_share, "storage.min_free");
}

void resolve_defaults(config& cfg) {
  if (cfg.default_upstream.empty() && cfg.upstreams.size() == 1) cfg.default_upstream = cfg.upstreams.front().name;
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost") return true;
  const std::string text(host);
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, text.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

std::pair<std::string, std::uint16_t> split_listen(std::string_view listen) {
  std::pair<std::string, std::uint16_t> out;
  if (auto problem = listen_problem(listen, out)) throw config_error("listen address " + *problem);
  return out;
}

}  // namespace regcache::config

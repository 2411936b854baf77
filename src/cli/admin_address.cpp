#include "regcache/cli/admin_address.hpp"

#include "regcache/config/config.hpp"

#include <charconv>

namespace regcache::cli {
namespace {

std::uint16_t parse_port(std::string_view text, std::string_view whole) {
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || port == 0 || port > 65535)
    throw usage_error("\"" + std::string(whole) + "\": the port must be a number from 1 to 65535");
  return static_cast<std::uint16_t>(port);
}

}  // namespace

std::string admin_endpoint::url() const {
  const bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

admin_endpoint parse_admin_url(std::string_view url) {
  const std::string whole(url);
  constexpr std::string_view scheme = "http://";
  if (!url.starts_with(scheme))
    throw usage_error("--admin \"" + whole + "\": expected http://HOST:PORT (the admin API speaks plain HTTP)");
  url.remove_prefix(scheme.size());
  if (url.ends_with('/')) url.remove_suffix(1);
  admin_endpoint ep;
  std::string_view port;
  if (url.starts_with('[')) {
    const auto close = url.find(']');
    if (close == std::string_view::npos || close + 1 >= url.size() || url[close + 1] != ':')
      throw usage_error("--admin \"" + whole + "\": expected http://[IPv6]:PORT");
    ep.host = std::string(url.substr(1, close - 1));
    port = url.substr(close + 2);
  } else {
    const auto colon = url.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || url.find('/') != std::string_view::npos)
      throw usage_error("--admin \"" + whole + "\": expected http://HOST:PORT");
    ep.host = std::string(url.substr(0, colon));
    port = url.substr(colon + 1);
  }
  ep.port = parse_port(port, whole);
  return ep;
}

admin_endpoint endpoint_from_listen(std::string_view listen) {
  std::pair<std::string, std::uint16_t> address;
  try {
    address = config::split_listen(listen);
  } catch (const config::config_error& e) {
    throw usage_error(std::string("admin.listen: ") + e.what());
  }
  auto& [host, port] = address;
  if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
  if (host == "::") host = "::1";
  return {host, port};
}

cli_settings read_settings(const std::string& config_file) {
  cli_settings settings;
  const bool named = !config_file.empty();
  const std::filesystem::path path = named ? config_file : std::string(default_config_file);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (named) throw usage_error("--config " + config_file + ": no such file");
    return settings;
  }
  try {
    auto cfg = config::load_file(path);
    settings.admin_listen = cfg.admin.listen;
    settings.admin_enabled = cfg.admin.enabled;
    settings.admin_token_file = cfg.admin.token_file;
    settings.storage_root = cfg.storage.root;
  } catch (const config::config_error& e) {
    throw usage_error(std::string("configuration error: ") + e.what());
  }
  return settings;
}

admin_endpoint resolve_admin(const std::string& admin_flag, const cli_settings& settings) {
  if (!admin_flag.empty()) return parse_admin_url(admin_flag);
  return endpoint_from_listen(settings.admin_listen);
}

}  // namespace regcache::cli

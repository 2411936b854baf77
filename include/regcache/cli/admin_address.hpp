#pragma once
// Where the operator commands find the running server: --admin URL, else
// admin.listen of the config file (--config, default conf/regcache.yaml;
// without a file, the default 127.0.0.1:5001). A wildcard listen address
// means "this host": 0.0.0.0 is reached at 127.0.0.1, [::] at [::1].
//
// Usage and configuration problems throw usage_error (exit code 2); this is
// the command line's edge, where exceptions are the error model.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace regcache::cli {

class usage_error : public std::runtime_error {
 public:
  using runtime_error::runtime_error;
};

inline constexpr std::string_view default_config_file = "conf/regcache.yaml";

struct admin_endpoint {
  std::string host;  // an address or name to connect to; IPv6 without brackets
  std::uint16_t port = 0;

  // "http://127.0.0.1:5001", "http://[::1]:5001"
  [[nodiscard]] std::string url() const;
};

// "http://HOST:PORT" with an optional trailing '/'; HOST may be [IPv6].
[[nodiscard]] admin_endpoint parse_admin_url(std::string_view url);
// admin.listen as the server binds it → the address to connect to.
[[nodiscard]] admin_endpoint endpoint_from_listen(std::string_view listen);

// What the operator commands take from the config file.
struct cli_settings {
  std::string admin_listen = "127.0.0.1:5001";
  bool admin_enabled = true;
  // admin.token_file, when a config file was read.
  std::string admin_token_file;
  // storage.root, only when a config file was read (for an offline fsck).
  std::optional<std::filesystem::path> storage_root;
};

// Reads `config_file` (a missing default file gives the defaults; a missing
// file the operator named is a usage_error, as is a config error).
[[nodiscard]] cli_settings read_settings(const std::string& config_file);

// --admin when given, else the settings' admin.listen.
[[nodiscard]] admin_endpoint resolve_admin(const std::string& admin_flag, const cli_settings& settings);

}  // namespace regcache::cli

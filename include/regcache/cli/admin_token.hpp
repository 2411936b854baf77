#pragma once
// The admin API's bearer token for the operator commands, from the first of:
//   --admin-token-file <file>        a file as admin.token_file holds it
//   REGCACHE_ADMIN_TOKEN             the token itself
//   admin.token_file of the config   when the config file was read (no --admin)
// None of them: no token is sent (a server on loopback without token_file).
//
// The token follows admin::parse_token's rules (one line, a trailing newline
// ignored); one that breaks them is a usage_error naming where it came
// from and the rule, never the token.
#include "regcache/cli/admin_address.hpp"

#include <string>
#include <string_view>

namespace regcache::cli {

inline constexpr std::string_view admin_token_variable = "REGCACHE_ADMIN_TOKEN";

// `from_environment`: the variable's value, null when it is not set.
[[nodiscard]] std::string resolve_admin_token(const std::string& token_file_flag, const char* from_environment,
                                              const cli_settings& settings);

}  // namespace regcache::cli

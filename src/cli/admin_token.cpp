#include "regcache/cli/admin_token.hpp"

#include "regcache/admin/bearer_token.hpp"

namespace regcache::cli {
namespace {

std::string token_or_throw(const admin::token_read& read, const std::string& source) {
  if (!read.problem.empty()) throw usage_error(source + ": " + read.problem);
  return read.token;
}

}  // namespace

std::string resolve_admin_token(const std::string& token_file_flag, const char* from_environment,
                                const cli_settings& settings) {
  if (!token_file_flag.empty())
    return token_or_throw(admin::read_token_file(token_file_flag), "--admin-token-file " + token_file_flag);
  if (from_environment)
    return token_or_throw(admin::parse_token(from_environment), std::string(admin_token_variable));
  if (!settings.admin_token_file.empty())
    return token_or_throw(admin::read_token_file(settings.admin_token_file),
                          "admin.token_file " + settings.admin_token_file +
                              " (or pass --admin-token-file, or set " + std::string(admin_token_variable) + ")");
  return {};
}

}  // namespace regcache::cli

#pragma once
// Credentials for one upstream registry, loaded once at startup from a file or
// an environment variable. The password is never logged: use redacted() in
// log lines and error messages.
#include "regcache/core/result.hpp"

#include <string>
#include <string_view>

namespace regcache::upstream {

struct credentials {
  std::string username;
  std::string password;
};

// Reads the password from password_file (one trailing "\n" or "\r\n" removed)
// or from the environment variable password_env; exactly one of the two
// should be set. Errors: errc::credentials_unavailable when the file cannot
// be read or the variable is not set.
[[nodiscard]] result<credentials> load_credentials(std::string username, std::string password_file,
                                                   std::string password_env);

// "user (password redacted)": what a log line may show of credentials.
std::string redacted(const credentials& c);

// The value of an Authorization header for HTTP Basic: "Basic base64(user:password)".
std::string basic_authorization(const credentials& c);

}  // namespace regcache::upstream

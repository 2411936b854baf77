#include "regcache/upstream/credentials.hpp"

#include "regcache/core/base64.hpp"
#include "regcache/upstream/errc.hpp"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

namespace regcache::upstream {

result<credentials> load_credentials(std::string username, std::string password_file, std::string password_env) {
  credentials out{std::move(username), {}};
  if (!password_file.empty()) {
    std::ifstream in(password_file, std::ios::binary);
    if (!in) return errc::credentials_unavailable;
    std::ostringstream content;
    content << in.rdbuf();
    if (in.bad()) return errc::credentials_unavailable;
    out.password = std::move(content).str();
    if (out.password.ends_with('\n')) out.password.pop_back();
    if (out.password.ends_with('\r')) out.password.pop_back();
  } else if (!password_env.empty()) {
    const char* value = std::getenv(password_env.c_str());
    if (!value) return errc::credentials_unavailable;
    out.password = value;
  }
  return out;
}

std::string redacted(const credentials& c) { return c.username + " (password redacted)"; }

std::string basic_authorization(const credentials& c) { return "Basic " + core::base64_encode(c.username + ":" + c.password); }

}  // namespace regcache::upstream

// parse_authorization on arbitrary Authorization header values: a Basic
// answer's user never holds the ':' that separated it from the password, and
// a Bearer token is never empty nor padded with spaces.
#include "regcache/auth/secrets.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace regcache::auth;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  const auto parsed = parse_authorization(value);
  if (!parsed) return 0;
  if (parsed->kind == presented_credentials::scheme::basic) {
    if (parsed->user.find(':') != std::string::npos) std::abort();
  } else {
    const auto& token = parsed->secret;
    if (token.empty() || token.front() == ' ' || token.back() == ' ') std::abort();
  }
  return 0;
}

#include "regcache/auth/secrets.hpp"

#include "regcache/core/base64.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cctype>

namespace regcache::auth {

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_secret() {
  std::string bytes(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(bytes.size())) != 1)
    throw std::runtime_error("the random number generator failed");
  return bytes;
}

namespace {

bool starts_with_scheme(std::string_view value, std::string_view scheme) {
  if (value.size() <= scheme.size() || value[scheme.size()] != ' ') return false;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(value[i])) != scheme[i]) return false;
  return true;
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<presented_credentials> parse_authorization(std::string_view value) {
  value = trimmed(value);
  if (starts_with_scheme(value, "basic")) {
    auto decoded = core::base64_decode(trimmed(value.substr(6)));
    if (!decoded) return std::nullopt;
    const auto colon = decoded->find(':');
    if (colon == std::string::npos) return std::nullopt;
    presented_credentials c;
    c.user = decoded->substr(0, colon);
    c.secret = decoded->substr(colon + 1);
    return c;
  }
  if (starts_with_scheme(value, "bearer")) {
    const auto token = trimmed(value.substr(7));
    if (token.empty()) return std::nullopt;
    presented_credentials c;
    c.kind = presented_credentials::scheme::bearer;
    c.secret = std::string(token);
    return c;
  }
  return std::nullopt;
}

}  // namespace regcache::auth

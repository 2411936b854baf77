#pragma once
// What every comparison and hash of a secret goes through, so none is
// compared with an early exit or hashed ad hoc. Pure functions, thread-safe.
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace regcache::auth {

// A credential file (htpasswd_file, tokens_file) that cannot be used; the
// message names the file, the line and the user, never a secret.
class file_error : public std::runtime_error {
 public:
  using runtime_error::runtime_error;
};

// True when a and b are the same bytes, in time that depends only on their
// lengths (OpenSSL's CRYPTO_memcmp).
[[nodiscard]] bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

// 32 random bytes from OpenSSL's CSPRNG; throws std::runtime_error when it fails.
[[nodiscard]] std::string random_secret();

// "Basic" / "Bearer" credentials of an Authorization header.
struct presented_credentials {
  enum class scheme { basic, bearer } kind = scheme::basic;
  std::string user;    // Basic only
  std::string secret;  // the password or the token
};

// Parses an Authorization header value; nullopt for another scheme, a
// malformed Base64 payload or a Basic payload without ':'. The scheme name
// is case-insensitive (RFC 9110).
[[nodiscard]] std::optional<presented_credentials> parse_authorization(std::string_view value);

}  // namespace regcache::auth

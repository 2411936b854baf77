#pragma once
// Base64 (RFC 4648 section 4) and its URL-safe alphabet (section 5), as HTTP
// Basic credentials, cosign signatures and JWS envelopes use them.
#include <optional>
#include <string>
#include <string_view>

namespace regcache::core {

std::string base64_encode(std::string_view bytes);
// Standard alphabet, padding optional; nullopt on any other character.
std::optional<std::string> base64_decode(std::string_view text);
// URL-safe alphabet ('-' and '_'), padding optional, as JWS (RFC 7515) writes it.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace regcache::core

#include "regcache/auth/token_table.hpp"

#include "regcache/auth/secrets.hpp"
#include "credential_lines.hpp"

#include <algorithm>

namespace regcache::auth {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::optional<std::string> decode_sha256(std::string_view text) {
  if (!text.starts_with("sha256:") || text.size() != 7 + 64) return std::nullopt;
  std::string raw;
  for (std::size_t i = 7; i < text.size(); i += 2) {
    const int high = hex_value(text[i]);
    const int low = hex_value(text[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    raw.push_back(static_cast<char>(high * 16 + low));
  }
  return raw;
}

}  // namespace

token_table token_table::parse(std::string_view text, const std::string& file_name) {
  token_table out;
  for_each_entry(text, file_name, [&out](std::string_view line, const std::string& where) {
    const auto space = line.find(' ');
    const auto identity = line.substr(0, space);
    const auto hash_text = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
    auto hash = decode_sha256(hash_text);
    if (identity.empty() || identity.find(':') != std::string_view::npos || !hash)
      throw file_error(where + ": expected <identity> sha256:<64 lowercase hex digits> (the SHA-256 of the token)");
    const bool repeated = std::any_of(out.entries_.begin(), out.entries_.end(),
                                      [&hash](const auto& entry) { return entry.second == *hash; });
    if (repeated) throw file_error(where + ": identity \"" + std::string(identity) + "\" repeats a token hash");
    out.entries_.emplace_back(std::string(identity), std::move(*hash));
  });
  return out;
}

std::optional<std::string> token_table::identity_of(std::string_view token) const {
  const auto hash = sha256(token);
  std::optional<std::string> found;
  for (const auto& [identity, expected] : entries_)
    if (constant_time_equal(hash, expected) && !found) found = identity;
  return found;
}

}  // namespace regcache::auth

#include "regcache/auth/token_table.hpp"

#include "regcache/auth/secrets.hpp"
#include "regcache/core/digest.hpp"
#include "regcache/core/hasher.hpp"
#include "credential_lines.hpp"

#include <algorithm>

namespace regcache::auth {
token_table token_table::parse(std::string_view text, const std::string& file_name) {
  token_table out;
  for_each_entry(text, file_name, [&out](std::string_view line, const std::string& where) {
    const auto space = line.find(' ');
    const auto identity = line.substr(0, space);
    const auto hash_text = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
    auto hash = core::digest::parse(hash_text);
    if (identity.empty() || identity.find(':') != std::string_view::npos || !hash ||
        hash->alg() != core::digest::algorithm::sha256)
      throw file_error(where + ": expected <identity> sha256:<64 lowercase hex digits> (the SHA-256 of the token)");
    const bool repeated = std::any_of(out.entries_.begin(), out.entries_.end(),
                                      [&hash](const auto& entry) { return entry.second == hash->str(); });
    if (repeated) throw file_error(where + ": identity \"" + std::string(identity) + "\" repeats a token hash");
    out.entries_.emplace_back(std::string(identity), hash->str());
  });
  return out;
}

std::optional<std::string> token_table::identity_of(std::string_view token) const {
  const auto hash = core::hasher::of(token).str();
  std::optional<std::string> found;
  for (const auto& [identity, expected] : entries_)
    if (constant_time_equal(hash, expected) && !found) found = identity;
  return found;
}

}  // namespace regcache::auth

#pragma once
// Static tokens for robots and CI, from auth.tokens_file: one
//   <identity> sha256:<64 lowercase hex digits>
// per line, the SHA-256 of the token (`printf %s "$TOKEN" | sha256sum`);
// blank lines and lines starting with '#' are skipped. The file holds no
// token itself. An identity may have several tokens (rotation).
//
// Immutable after parse(); safe to read from any thread.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace regcache::auth {

class token_table {
 public:
  // Throws file_error naming `file_name` and the line for a malformed line
  // or a hash given twice.
  [[nodiscard]] static token_table parse(std::string_view text, const std::string& file_name);

  // The identity whose token is `token`. Compares the token's hash with
  // every entry in constant time, whichever matches.
  [[nodiscard]] std::optional<std::string> identity_of(std::string_view token) const;
  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;  // identity, "sha256:<hex>" of its token
};

}  // namespace regcache::auth

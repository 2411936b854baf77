#pragma once
// The users of auth.htpasswd_file and their bcrypt hashes, as `htpasswd -B`
// writes them ("alice:$2y$05$<53 characters>"). Blank lines and lines
// starting with '#' are skipped. Every other hash type (MD5 "$apr1$", SHA
// "{SHA}", crypt, plain text, "$2a$") is refused: they are fast to brute
// force or ambiguous.
//
// Immutable after parse(); safe to read from any thread.
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

namespace regcache::auth {

class htpasswd {
 public:
  // Throws file_error naming `file_name`, the line and the user for a line
  // that is not user:hash, a user given twice, or a hash that is not
  // bcrypt $2y$ / $2b$ with a cost from 04 to 31.
  [[nodiscard]] static htpasswd parse(std::string_view text, const std::string& file_name);

  // The hash of `user`; nullptr when there is no such user.
  [[nodiscard]] const std::string* hash_of(const std::string& user) const;
  // Some user's hash (nullptr when there are none): checked for a user the
  // file does not have, so that a wrong user costs what a wrong password
  // costs and the answer's timing names no user.
  [[nodiscard]] const std::string* stand_in_hash() const;
  [[nodiscard]] std::size_t size() const noexcept { return hashes_.size(); }

 private:
  std::unordered_map<std::string, std::string> hashes_;
};

// True when bcrypt of `password` with `hash`'s salt and cost is `hash`
// (libcrypt's crypt_rn; compared in constant time). Takes milliseconds by
// design: run it on the blocking pool, never on an I/O thread. A password
// with a NUL byte never matches.
[[nodiscard]] bool bcrypt_matches(std::string_view password, const std::string& hash);

}  // namespace regcache::auth

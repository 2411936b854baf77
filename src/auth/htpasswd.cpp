#include "regcache/auth/htpasswd.hpp"

#include "regcache/auth/secrets.hpp"
#include "credential_lines.hpp"

#include <crypt.h>

#include <algorithm>
#include <memory>

namespace regcache::auth {
namespace {

bool is_bcrypt_character(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '/';
}

// "$2y$NN$" + 22 characters of salt + 31 of hash.
bool is_bcrypt(std::string_view hash) {
  if (hash.size() != 60 || !(hash.starts_with("$2y$") || hash.starts_with("$2b$")) || hash[6] != '$') return false;
  if (hash[4] < '0' || hash[4] > '3' || hash[5] < '0' || hash[5] > '9') return false;
  const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (cost < 4 || cost > 31) return false;
  return std::all_of(hash.begin() + 7, hash.end(), is_bcrypt_character);
}

std::string_view kind_of(std::string_view hash) {
  if (hash.starts_with("$apr1$")) return "MD5 ($apr1$, htpasswd -m)";
  if (hash.starts_with("{SHA}")) return "SHA-1 ({SHA}, htpasswd -s)";
  if (hash.starts_with("$2a$")) return "bcrypt $2a$ (ambiguous; regenerate with htpasswd -B)";
  if (hash.starts_with("$2")) return "malformed bcrypt";
  if (hash.starts_with("$5$") || hash.starts_with("$6$")) return "SHA-crypt";
  return "crypt or plain text";
}

}  // namespace

htpasswd htpasswd::parse(std::string_view text, const std::string& file_name) {
  htpasswd out;
  for_each_entry(text, file_name, [&out](std::string_view line, const std::string& where) {
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0)
      throw file_error(where + ": expected user:hash (as htpasswd -B writes it)");
    const std::string user(line.substr(0, colon));
    const auto hash = line.substr(colon + 1);
    if (!is_bcrypt(hash))
      throw file_error(where + ": user \"" + user + "\" has a " + std::string(kind_of(hash)) +
                       " hash; only bcrypt ($2y$ or $2b$, htpasswd -B) is accepted");
    if (!out.hashes_.emplace(user, std::string(hash)).second)
      throw file_error(where + ": user \"" + user + "\" is given twice");
  });
  return out;
}

const std::string* htpasswd::hash_of(const std::string& user) const {
  const auto it = hashes_.find(user);
  return it == hashes_.end() ? nullptr : &it->second;
}

const std::string* htpasswd::stand_in_hash() const {
  return hashes_.empty() ? nullptr : &hashes_.begin()->second;
}

bool bcrypt_matches(std::string_view password, const std::string& hash) {
  if (password.find('\0') != std::string_view::npos) return false;
  const std::string phrase(password);
  // crypt_data is 32 KiB: too large for a coroutine's or pool thread's stack habits.
  auto data = std::make_unique<crypt_data>();
  const char* computed = crypt_rn(phrase.c_str(), hash.c_str(), data.get(), sizeof(crypt_data));
  if (!computed || computed[0] == '*') return false;
  return constant_time_equal(computed, hash);
}

}  // namespace regcache::auth

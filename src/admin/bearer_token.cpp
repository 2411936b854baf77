#include "regcache/admin/bearer_token.hpp"

#include "regcache/auth/secrets.hpp"
#include "regcache/core/hasher.hpp"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace regcache::admin {
namespace {

bool is_token_char(char c) noexcept { return c > ' ' && c < 0x7f; }

std::string hash_of(std::string_view token) { return core::hasher::of(token).str(); }

}  // namespace

token_read parse_token(std::string_view text) {
  if (text.ends_with("\r\n")) text.remove_suffix(2);
  else if (text.ends_with('\n')) text.remove_suffix(1);
  if (text.empty()) return {{}, "the file is empty: put one token in it (e.g. openssl rand -hex 32)"};
  for (char c : text) {
    if (!is_token_char(c))
      return {{}, "the token holds a space, a line break or a control or non-ASCII byte: one line of printable "
                  "ASCII without spaces is allowed"};
  }
  if (text.size() < min_token_length)
    return {{}, "the token is shorter than " + std::to_string(min_token_length) +
                    " characters: use a long random one (e.g. openssl rand -hex 32)"};
  if (text.size() > max_token_length)
    return {{}, "the token is longer than " + std::to_string(max_token_length) + " characters"};
  return {std::string(text), {}};
}

token_read read_token_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {{}, "cannot read " + path.string() + ": " + std::strerror(errno)};
  // Larger than any valid token: read a bounded amount, and let
  // parse_token reject what is too long.
  std::string text(max_token_length + 3, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return {{}, "cannot read " + path.string() + ": " + std::strerror(errno)};
  text.resize(static_cast<std::size_t>(in.gcount()));
  return parse_token(text);
}

// Identified before reading: a change made while reading shows at the next check.
bearer_token::bearer_token(std::filesystem::path path) : path_(std::move(path)), read_(core::stamp_of(path_)) {
  auto read = read_token_file(path_);
  if (!read.problem.empty()) throw std::runtime_error(read.problem);
  token_hash_ = hash_of(read.token);
}

std::string bearer_token::current_hash() {
  const auto now = core::stamp_of(path_);
  std::lock_guard lock(mutex_);
  if (now == read_) return token_hash_;
  read_ = now;
  auto read = read_token_file(path_);
  if (!read.problem.empty()) {
    token_hash_.clear();
    spdlog::error("admin.token_file {}: {}; the admin API refuses every request until the file holds a valid token",
                  path_.string(), read.problem);
  } else {
    token_hash_ = hash_of(read.token);
    spdlog::info("admin.token_file {}: changed, the token it holds now is required", path_.string());
  }
  return token_hash_;
}

bool bearer_token::accepts(std::span<const std::string_view> authorization) {
  if (authorization.size() != 1) return false;
  const auto presented = auth::parse_authorization(authorization.front());
  if (!presented || presented->kind != auth::presented_credentials::scheme::bearer) return false;
  const auto expected = current_hash();
  return !expected.empty() && auth::constant_time_equal(hash_of(presented->secret), expected);
}

}  // namespace regcache::admin

#pragma once
// The admin API's authentication: a bearer token kept in a file
// (admin.token_file), so that it can live in a Kubernetes Secret and rotate.
//
// A token file holds one token: 16 to 4096 printable ASCII characters
// without spaces, optionally followed by one line break ("\n" or "\r\n").
// Its content never appears in a message or a log line.
#include "regcache/core/file_stamp.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace regcache::admin {

inline constexpr std::size_t min_token_length = 16;
inline constexpr std::size_t max_token_length = 4096;

// A token read from a token file, or why there is none (a message naming the
// rule the content breaks, never the content). Exactly one is non-empty.
struct token_read {
  std::string token;
  std::string problem;
};

[[nodiscard]] token_read parse_token(std::string_view text);
// parse_token of the file's content; a file that cannot be read is a problem
// naming the system's reason.
[[nodiscard]] token_read read_token_file(const std::filesystem::path& path);

// Checks a request's Authorization headers against the token in a file.
//
// Rotation: every check first stat()s the file (core::stamp_of, following
// the ..data symlink swap of a Kubernetes Secret volume) and reads it again
// when it changed, so a new token
// is required from the next request on and the old one is refused. While the
// file cannot be read or holds no valid token, every request is refused
// (fail closed), and that is logged once per change of the file.
//
// Only a SHA-256 of the token is kept; a presented token is hashed and the
// two hashes are compared in constant time (auth::constant_time_equal), so the time a check takes
// tells nothing about how much of a guess was right.
//
// Thread-safe: checks may run on every I/O thread at once (a mutex guards
// the refresh; the admin API's rate makes its stat() negligible).
class bearer_token {
 public:
  // Reads the file now. Throws std::runtime_error with the problem when it
  // holds no valid token, so that startup stops.
  explicit bearer_token(std::filesystem::path path);

  // Whether `authorization` (every Authorization header of a request) is
  // exactly one "Bearer <token>" (scheme case-insensitive) naming the
  // file's current token.
  [[nodiscard]] bool accepts(std::span<const std::string_view> authorization);

  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  // The hash of the current token ("" when there is none), re-reading the
  // file first when it changed.
  std::string current_hash();

  const std::filesystem::path path_;
  std::mutex mutex_;
  std::optional<core::file_stamp> read_;  // the file as it was when last read; nullopt: could not stat it
  std::string token_hash_;
};

}  // namespace regcache::admin

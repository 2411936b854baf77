#include "regcache/upstream/credentials.hpp"

#include "regcache/upstream/errc.hpp"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

namespace regcache::upstream {

result<credentials> load_credentials(std::string username, std::string password_file, std::string password_env) {
  credentials out{std::move(username), {}};
  if (!password_file.empty()) {
    std::ifstream in(password_file, std::ios::binary);
    if (!in) return errc::credentials_unavailable;
    std::ostringstream content;
    content << in.rdbuf();
    if (in.bad()) return errc::credentials_unavailable;
    out.password = std::move(content).str();
    if (out.password.ends_with('\n')) out.password.pop_back();
    if (out.password.ends_with('\r')) out.password.pop_back();
  } else if (!password_env.empty()) {
    const char* value = std::getenv(password_env.c_str());
    if (!value) return errc::credentials_unavailable;
    out.password = value;
  }
  return out;
}

std::string redacted(const credentials& c) { return c.username + " (password redacted)"; }

std::string base64_encode(std::string_view bytes) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string basic_authorization(const credentials& c) { return "Basic " + base64_encode(c.username + ":" + c.password); }

}  // namespace regcache::upstream

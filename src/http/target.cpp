#include "regcache/http/target.hpp"

#include "regcache/http/errc.hpp"

namespace regcache::http {
namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded decoding of one key or value.
bool decode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (in.size() - i < 3) return false;
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += c;
    }
  }
  return true;
}

}  // namespace

std::optional<std::string_view> target::query_value(std::string_view key) const {
  for (const auto& [k, v] : query)
    if (k == key) return std::string_view(v);
  return std::nullopt;
}

std::vector<std::string_view> target::query_values(std::string_view key) const {
  std::vector<std::string_view> out;
  for (const auto& [k, v] : query)
    if (k == key) out.emplace_back(v);
  return out;
}

result<target> parse_target(std::string_view request_target) {
  if (request_target.empty() || request_target.size() > max_target_length || request_target.front() != '/')
    return errc::invalid_target;
  // Beast already refuses most of these; checking here keeps the contract
  // independent of the server in front and of fuzzed input.
  for (char c : request_target) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '#') return errc::invalid_target;
  }

  const auto question = request_target.find('?');
  target out;
  out.path = std::string(request_target.substr(0, question));
  if (question == std::string_view::npos) return out;

  auto query = request_target.substr(question + 1);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    std::string key, value;
    if (!decode(pair.substr(0, eq), key)) return errc::invalid_target;
    if (eq != std::string_view::npos && !decode(pair.substr(eq + 1), value)) return errc::invalid_target;
    out.query.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

}  // namespace regcache::http

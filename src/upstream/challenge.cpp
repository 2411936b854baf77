#include "regcache/upstream/challenge.hpp"

#include <algorithm>

namespace regcache::upstream {
namespace {

bool is_tchar(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token68_char(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowered(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

bool iequal(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

class cursor {
 public:
  explicit cursor(std::string_view s) : s_(s) {}
  bool done() const noexcept { return at_ >= s_.size(); }
  char peek() const noexcept { return done() ? '\0' : s_[at_]; }
  void advance() noexcept {
    if (!done()) ++at_;
  }
  void skip_ows() noexcept {
    while (!done() && (s_[at_] == ' ' || s_[at_] == '\t')) ++at_;
  }
  void skip_separators() noexcept {
    while (!done() && (s_[at_] == ' ' || s_[at_] == '\t' || s_[at_] == ',')) ++at_;
  }
  std::string_view token() noexcept {
    const auto start = at_;
    while (!done() && is_tchar(s_[at_])) ++at_;
    return s_.substr(start, at_ - start);
  }
  // A token68 ending at the next comma or the end (with optional trailing OWS);
  // nothing consumed when what follows is not one.
  std::optional<std::string_view> token68() noexcept {
    auto end = at_;
    while (end < s_.size() && is_token68_char(s_[end])) ++end;
    if (end == at_) return std::nullopt;
    while (end < s_.size() && s_[end] == '=') ++end;
    auto after = end;
    while (after < s_.size() && (s_[after] == ' ' || s_[after] == '\t')) ++after;
    if (after < s_.size() && s_[after] != ',') return std::nullopt;
    const auto out = s_.substr(at_, end - at_);
    at_ = after;
    return out;
  }
  // After the opening quote: the unescaped content, or nullopt when unterminated.
  std::optional<std::string> quoted() {
    std::string out;
    ++at_;
    while (!done()) {
      const char c = s_[at_++];
      if (c == '"') return out;
      if (c == '\\') {
        if (done()) return std::nullopt;
        out.push_back(s_[at_++]);
      } else {
        out.push_back(c);
      }
    }
    return std::nullopt;
  }
  // Skips to just past the next comma outside a quoted string (resynchronising after garbage).
  void skip_element() noexcept {
    bool in_quotes = false;
    while (!done()) {
      const char c = s_[at_++];
      if (in_quotes && c == '\\' && !done()) {
        ++at_;
      } else if (c == '"') {
        in_quotes = !in_quotes;
      } else if (c == ',' && !in_quotes) {
        return;
      }
    }
  }

 private:
  std::string_view s_;
  std::size_t at_ = 0;
};

// Parses one header value, appending to out; false once max_challenges is reached.
bool parse_value(std::string_view value, std::vector<challenge>& out) {
  cursor in(value);
  challenge* current = nullptr;  // the challenge auth-params attach to, if any
  for (;;) {
    in.skip_separators();
    if (in.done()) return true;
    const auto name = in.token();
    if (name.empty()) {
      // Not a token here: garbage up to the next list element.
      in.skip_element();
      current = nullptr;
      continue;
    }
    in.skip_ows();
    if (in.peek() == '=') {
      // auth-param: name BWS "=" BWS ( token / quoted-string )
      in.advance();
      in.skip_ows();
      std::optional<std::string> v;
      if (in.peek() == '"') {
        v = in.quoted();
        if (!v) return true;  // unterminated: nothing after it can be trusted
      } else {
        v = std::string(in.token());
      }
      if (current && current->params.size() < max_params) current->params.emplace_back(lowered(name), std::move(*v));
      in.skip_ows();
      if (!in.done() && in.peek() != ',') {
        in.skip_element();
      }
      continue;
    }
    // A new challenge: auth-scheme [ 1*SP ( token68 / #auth-param ) ]
    if (out.size() >= max_challenges) return false;
    out.push_back(challenge{lowered(name), {}, {}});
    current = &out.back();
    if (auto t68 = in.token68()) {
      // token68 and auth-params exclude each other: later params belong to no challenge.
      current->token68 = std::string(*t68);
      current = nullptr;
    }
  }
}

}  // namespace

std::optional<std::string_view> challenge::param(std::string_view name) const {
  for (const auto& [n, v] : params)
    if (iequal(n, name)) return std::string_view(v);
  return std::nullopt;
}

std::vector<challenge> parse_challenges(std::span<const std::string_view> header_values) {
  std::vector<challenge> out;
  for (const auto value : header_values) {
    if (value.size() > max_header_bytes) continue;
    if (!parse_value(value, out)) break;
  }
  return out;
}

}  // namespace regcache::upstream

#pragma once
// The line structure htpasswd_file and tokens_file share: one entry a line,
// blank lines and '#' comments skipped, CRLF tolerated.
#include <algorithm>
#include <string>
#include <string_view>

namespace regcache::auth {

// Calls fn(line, where) for each entry; `where` is "<file> line <n>".
template <class Fn>
void for_each_entry(std::string_view text, const std::string& file_name, Fn&& fn) {
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const auto end = std::min(text.find('\n'), text.size());
    auto line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    fn(line, file_name + " line " + std::to_string(line_number));
  }
}

}  // namespace regcache::auth

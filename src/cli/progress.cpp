#include "regcache/cli/progress.hpp"

#include "regcache/cli/format.hpp"

#include <string>

namespace regcache::cli {

void progress_reporter::update(std::uint64_t done, std::uint64_t total, std::string_view detail, bool last) {
  const auto now = clock::now();
  const auto period = terminal_ ? std::chrono::milliseconds(100) : std::chrono::milliseconds(1000);
  if (!last && shown_ != clock::time_point{} && now - shown_ < period) return;
  shown_ = now;
  auto line = progress_line(done, total, std::chrono::duration_cast<std::chrono::milliseconds>(now - started_), detail);
  if (terminal_) {
    // Blanks over what is left of a longer previous line.
    const auto length = line.size();
    if (length < width_) line.append(width_ - length, ' ');
    width_ = length;
    std::fprintf(out_, "\r%s", line.c_str());
    drawn_ = true;
  } else {
    std::fprintf(out_, "%s\n", line.c_str());
  }
  std::fflush(out_);
}

void progress_reporter::end() {
  if (!drawn_) return;
  std::fputc('\n', out_);
  std::fflush(out_);
  drawn_ = false;
  width_ = 0;
}

}  // namespace regcache::cli

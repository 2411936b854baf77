#pragma once
// Progress of one long operation (a prefetch of an image, a verification)
// for a person watching: on a terminal one line redrawn in place with '\r'
// (at most 10 times a second); into a pipe or a log, a plain line at most
// once a second. Not thread-safe; one per operation.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string_view>

namespace regcache::cli {

class progress_reporter {
 public:
  using clock = std::chrono::steady_clock;

  progress_reporter(std::FILE* out, bool terminal) : out_(out), terminal_(terminal), started_(clock::now()) {}
  ~progress_reporter() { end(); }
  progress_reporter(const progress_reporter&) = delete;
  progress_reporter& operator=(const progress_reporter&) = delete;

  // Shown unless the last line was shown too recently (`last` forces it).
  void update(std::uint64_t done, std::uint64_t total, std::string_view detail, bool last = false);
  // Ends the redrawn line, so that what is printed next starts on its own.
  void end();

 private:
  std::FILE* out_;
  bool terminal_;
  clock::time_point started_;
  clock::time_point shown_{};
  bool drawn_ = false;
  std::size_t width_ = 0;
};

}  // namespace regcache::cli

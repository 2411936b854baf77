#pragma once
// Runs the scanner command (scan.command) for one image and turns how it
// ended into a verdict:
//
//   exit 0                 → pass
//   exit 1                 → fail; the first line of stdout is the summary
//   any other exit, a signal, no exec, or `timeout` passed
//                          → error; the summary says which (and the last
//                            line of stderr, when there is one)
//
// A stdout line "report: <reference>" names the scanner's full report (a URL
// or a path), kept with the verdict.
//
// The child is started with posix_spawn in a process group of its own, with
// regcache's environment plus `env` (overriding), stdin from /dev/null and no
// other descriptor of regcache open. When it exits, or when the timeout or
// `stop` ends it, the whole process group gets SIGKILL: nothing a scanner
// started outlives its scan. At most 64 KiB of each output stream are read.
//
// Blocks the calling thread for up to `timeout` (the scanner's own pool
// calls it, never an I/O thread); `stop` is checked every 50 ms.
#include "regcache/store/index.hpp"

#include <atomic>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace regcache::scan {

struct scan_outcome {
  store::scan_verdict verdict = store::scan_verdict::error;
  std::string summary;
  std::string report;
};

using environment = std::vector<std::pair<std::string, std::string>>;

[[nodiscard]] scan_outcome run_command(const std::vector<std::string>& argv, const environment& env,
                                       std::chrono::milliseconds timeout, const std::atomic<bool>& stop);

}  // namespace regcache::scan

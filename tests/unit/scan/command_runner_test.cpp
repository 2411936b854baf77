#include "regcache/scan/command_runner.hpp"
#include "unit/core/temp_dir.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <thread>

namespace regcache::scan {
namespace {

using namespace std::chrono_literals;
using store::scan_verdict;

const std::atomic<bool> keep_running{false};

scan_outcome sh(const std::string& script, const environment& env = {}, std::chrono::milliseconds timeout = 10s) {
  return run_command({"/bin/sh", "-c", script}, env, timeout, keep_running);
}

// Whether a process is gone (or a zombie nobody reaped yet: it runs no more).
bool process_gone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  const auto close = line.rfind(')');
  return close != std::string::npos && line.size() > close + 2 && line[close + 2] == 'Z';
}

TEST(command_runner, exit_zero_passes_and_keeps_the_summary_and_report) {
  const auto out = sh("echo 'no vulnerabilities'; echo 'report: https://scanner/r/1'; exit 0");
  EXPECT_EQ(out.verdict, scan_verdict::pass);
  EXPECT_EQ(out.summary, "no vulnerabilities");
  EXPECT_EQ(out.report, "https://scanner/r/1");
}

TEST(command_runner, exit_one_fails_with_the_first_line_of_stdout) {
  const auto out = sh("echo 'CVE-2024-0001 critical'; echo second line; echo noise >&2; exit 1");
  EXPECT_EQ(out.verdict, scan_verdict::fail);
  EXPECT_EQ(out.summary, "CVE-2024-0001 critical");
  EXPECT_EQ(out.report, "");
}

TEST(command_runner, other_exits_and_signals_are_errors_naming_stderr) {
  auto out = sh("echo partial; echo 'first' >&2; echo 'database unavailable' >&2; exit 3");
  EXPECT_EQ(out.verdict, scan_verdict::error);
  EXPECT_EQ(out.summary, "the scanner exited with status 3: database unavailable");
  out = sh("kill -TERM $$");
  EXPECT_EQ(out.verdict, scan_verdict::error);
  EXPECT_EQ(out.summary, "the scanner was killed by signal 15");
}

TEST(command_runner, a_command_that_cannot_start_is_an_error) {
  const auto out = run_command({"/nonexistent/scanner"}, {}, 10s, keep_running);
  EXPECT_EQ(out.verdict, scan_verdict::error);
  EXPECT_EQ(out.summary, "cannot start /nonexistent/scanner: No such file or directory");
}

TEST(command_runner, the_environment_is_regcaches_with_the_scan_variables_over_it) {
  ::setenv("REGCACHE_TEST_INHERITED", "kept", 1);
  ::setenv("REGCACHE_DIGEST", "overridden", 1);
  const auto out = sh("echo \"$REGCACHE_IMAGE|$REGCACHE_DIGEST|$REGCACHE_PULL_URL|$REGCACHE_TEST_INHERITED\"",
                      {{"REGCACHE_IMAGE", "docker.io/library/alpine@sha256:ab"},
                       {"REGCACHE_DIGEST", "sha256:ab"},
                       {"REGCACHE_PULL_URL", "127.0.0.1:5000/regcache-scan-x/library/alpine@sha256:ab"}});
  ::unsetenv("REGCACHE_TEST_INHERITED");
  ::unsetenv("REGCACHE_DIGEST");
  EXPECT_EQ(out.verdict, scan_verdict::pass);
  EXPECT_EQ(out.summary,
            "docker.io/library/alpine@sha256:ab|sha256:ab|127.0.0.1:5000/regcache-scan-x/library/alpine@sha256:ab|kept");
}

TEST(command_runner, stdin_is_empty_and_no_descriptor_of_regcache_leaks) {
  regcache::testing::temp_dir dir;
  const auto leaked = ::open((dir.path() / "leak").c_str(), O_CREAT | O_WRONLY, 0600);  // no O_CLOEXEC
  ASSERT_GE(leaked, 3);
  const auto out = sh("read line; echo \"[$line]\"; if [ -e /proc/$$/fd/" + std::to_string(leaked) +
                      " ]; then exit 1; fi");
  ::close(leaked);
  EXPECT_EQ(out.verdict, scan_verdict::pass);
  EXPECT_EQ(out.summary, "[]");
}

TEST(command_runner, a_hanging_scanner_is_killed_with_its_process_group_after_the_timeout) {
  regcache::testing::temp_dir dir;
  const auto pid_file = dir.path() / "child.pid";
  const auto started = std::chrono::steady_clock::now();
  const auto out = sh("sleep 60 & echo $! > " + pid_file.string() + "; sleep 60", {}, 300ms);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_EQ(out.verdict, scan_verdict::error);
  EXPECT_EQ(out.summary, "timed out after 0 s; its process group was killed");
  std::ifstream in(pid_file);
  pid_t child = 0;
  ASSERT_TRUE(in >> child);
  for (int i = 0; i < 100 && !process_gone(child); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(process_gone(child));
}

TEST(command_runner, what_a_finished_scanner_left_running_is_killed_too) {
  regcache::testing::temp_dir dir;
  const auto pid_file = dir.path() / "child.pid";
  const auto out = sh("sleep 60 >/dev/null 2>&1 & echo $! > " + pid_file.string() + "; echo clean; exit 0");
  EXPECT_EQ(out.verdict, scan_verdict::pass);
  std::ifstream in(pid_file);
  pid_t child = 0;
  ASSERT_TRUE(in >> child);
  for (int i = 0; i < 100 && !process_gone(child); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(process_gone(child));
}

TEST(command_runner, stop_ends_a_running_scan) {
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(100ms);
    stop = true;
  });
  const auto started = std::chrono::steady_clock::now();
  const auto out = run_command({"/bin/sh", "-c", "sleep 60"}, {}, 60s, stop);
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_EQ(out.verdict, scan_verdict::error);
  EXPECT_EQ(out.summary, "stopped: regcache is shutting down");
}

}  // namespace
}  // namespace regcache::scan

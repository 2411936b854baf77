#include "regcache/scan/command_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <set>
#include <string_view>

extern char** environ;

namespace regcache::scan {
namespace {

using std::chrono::steady_clock;

constexpr std::size_t max_output = 64 * 1024;
constexpr std::size_t max_summary = 1024;
constexpr int poll_interval_ms = 50;

// regcache's environment with `env` laid over it, as NAME=value strings.
std::vector<std::string> environment_of(const environment& env) {
  std::set<std::string_view> overridden;
  for (const auto& [name, value] : env) overridden.insert(name);
  std::vector<std::string> out;
  for (char** entry = environ; entry && *entry; ++entry) {
    const std::string_view text(*entry);
    if (!overridden.contains(text.substr(0, text.find('=')))) out.emplace_back(text);
  }
  for (const auto& [name, value] : env) out.push_back(name + "=" + value);
  return out;
}

std::vector<char*> pointers_to(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

struct pipe_fds {
  int read = -1;
  int write = -1;
  pipe_fds() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) == 0) {
      read = fds[0];
      write = fds[1];
    }
  }
  ~pipe_fds() {
    close_read();
    close_write();
  }
  pipe_fds(const pipe_fds&) = delete;
  pipe_fds& operator=(const pipe_fds&) = delete;
  bool ok() const { return read >= 0; }
  void close_read() {
    if (read >= 0) ::close(read);
    read = -1;
  }
  void close_write() {
    if (write >= 0) ::close(write);
    write = -1;
  }
};

// Reads what is there; closes the descriptor at EOF. Keeps at most max_output bytes.
void read_available(pipe_fds& p, std::string& into) {
  std::array<char, 8192> buf;
  const auto n = ::read(p.read, buf.data(), buf.size());
  if (n > 0) {
    into.append(buf.data(), std::min<std::size_t>(static_cast<std::size_t>(n), max_output - std::min(max_output, into.size())));
  } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
    p.close_read();
  }
}

// Polls both streams for up to `wait_ms` and reads what arrived.
void pump(pipe_fds& out, pipe_fds& err, std::string& out_text, std::string& err_text, int wait_ms) {
  std::array<pollfd, 2> fds{pollfd{out.read, POLLIN, 0}, pollfd{err.read, POLLIN, 0}};
  if (out.read < 0 && err.read < 0) {
    ::poll(nullptr, 0, wait_ms);
    return;
  }
  if (::poll(fds.data(), fds.size(), wait_ms) <= 0) return;
  if (out.read >= 0 && fds[0].revents) read_available(out, out_text);
  if (err.read >= 0 && fds[1].revents) read_available(err, err_text);
}

std::string first_line(std::string_view text) {
  auto line = text.substr(0, text.find('\n'));
  if (line.ends_with('\r')) line.remove_suffix(1);
  return std::string(line.substr(0, max_summary));
}

std::string last_line(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  const auto start = text.rfind('\n');
  return first_line(start == std::string_view::npos ? text : text.substr(start + 1));
}

std::string report_of(std::string_view text) {
  constexpr std::string_view marker = "report: ";
  while (!text.empty()) {
    const auto end = text.find('\n');
    const auto line = text.substr(0, end);
    if (line.starts_with(marker)) return first_line(line.substr(marker.size()));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return {};
}

void kill_group(pid_t group) { ::kill(-group, SIGKILL); }

pid_t wait_child(pid_t pid, int& status, int options) {
  for (;;) {
    const auto r = ::waitpid(pid, &status, options);
    if (r >= 0 || errno != EINTR) return r;
  }
}

}  // namespace

scan_outcome run_command(const std::vector<std::string>& argv, const environment& env,
                         std::chrono::milliseconds timeout, const std::atomic<bool>& stop) {
  if (argv.empty()) return {store::scan_verdict::error, "no scanner command is configured", {}};
  auto env_strings = environment_of(env);
  auto envp = pointers_to(env_strings);
  std::vector<std::string> args(argv);
  auto argp = pointers_to(args);

  pipe_fds out, err;
  if (!out.ok() || !err.ok())
    return {store::scan_verdict::error, std::string("cannot make pipes for the scanner: ") + std::strerror(errno), {}};

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out.write, 1);
  posix_spawn_file_actions_adddup2(&actions, err.write, 2);
  // Sockets and files of regcache (some without O_CLOEXEC) stay here.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // Its own process group, so a timeout kills whatever it started; default
  // signal handling and an empty mask (regcache ignores SIGPIPE, which exec keeps).
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&attributes, 0);
  posix_spawnattr_setsigdefault(&attributes, &all);
  posix_spawnattr_setsigmask(&attributes, &none);
  pid_t pid = -1;
  const int spawned = ::posix_spawn(&pid, argp.front(), &actions, &attributes, argp.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  out.close_write();
  err.close_write();
  if (spawned != 0)
    return {store::scan_verdict::error, "cannot start " + argv.front() + ": " + std::strerror(spawned), {}};

  std::string out_text, err_text;
  const auto deadline = steady_clock::now() + timeout;
  int status = 0;
  bool ended = false;
  bool timed_out = false;
  while (!ended) {
    pump(out, err, out_text, err_text, poll_interval_ms);
    ended = wait_child(pid, status, WNOHANG) == pid;
    if (!ended && (stop.load() || steady_clock::now() >= deadline)) {
      timed_out = true;
      kill_group(pid);
      ended = wait_child(pid, status, 0) == pid;
      break;
    }
  }
  // Whatever it left running goes with it; then its output ends (a
  // descendant that left the group may keep a pipe open: not waited for).
  kill_group(pid);
  for (int i = 0; i < 4 && (out.read >= 0 || err.read >= 0); ++i) pump(out, err, out_text, err_text, poll_interval_ms);

  if (timed_out) {
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout).count();
    const char* why = stop.load() ? "stopped: regcache is shutting down" : nullptr;
    return {store::scan_verdict::error,
            why ? std::string(why) : "timed out after " + std::to_string(seconds) + " s; its process group was killed",
            {}};
  }
  if (!ended) return {store::scan_verdict::error, std::string("waiting for the scanner failed: ") + std::strerror(errno), {}};
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {store::scan_verdict::pass, first_line(out_text), report_of(out_text)};
  if (WIFEXITED(status) && WEXITSTATUS(status) == 1) return {store::scan_verdict::fail, first_line(out_text), report_of(out_text)};
  std::string summary = WIFEXITED(status) ? "the scanner exited with status " + std::to_string(WEXITSTATUS(status))
                                          : "the scanner was killed by signal " + std::to_string(WTERMSIG(status));
  if (const auto detail = last_line(err_text); !detail.empty()) summary += ": " + detail;
  return {store::scan_verdict::error, std::move(summary), report_of(out_text)};
}

}  // namespace regcache::scan

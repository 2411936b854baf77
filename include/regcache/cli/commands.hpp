#pragma once
// The operator's commands: ls, stats, pin, unpin, prefetch, purge, gc,
// fsck and scan. All but an offline fsck talk to the running server's admin API
// (admin_client), found through --admin or the config file's admin.listen
// (admin_address.hpp). Tables for people by default, --json for scripts.
//
// Exit codes: 0 ok; 1 the operation failed (server unreachable, an image
// failed to prefetch, fsck found problems, the server refused); 2 usage or
// configuration errors (including a 400 from the server: a bad image name).
//
// main.cpp:
//   cli::operator_commands operator_cmds(app);
//   CLI11_PARSE(app, argc, argv);
//   if (auto code = operator_cmds.run()) return *code;
#include <CLI/CLI.hpp>

#include <memory>
#include <optional>

namespace regcache::cli {

class operator_commands {
 public:
  // Adds the subcommands to `app`; `app` must outlive this object.
  explicit operator_commands(CLI::App& app);
  ~operator_commands();
  operator_commands(operator_commands&&) noexcept;
  operator_commands& operator=(operator_commands&&) noexcept;

  // Runs the subcommand that was parsed, if it is one of these, and returns
  // its exit code; nullopt when another subcommand was parsed.
  [[nodiscard]] std::optional<int> run() const;

 private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace regcache::cli

// regcache command line: `serve` runs the cache (app::serve), `version`
// prints the version, the operator commands talk to a running cache's admin
// API. This is the only code the tests do not link: it parses the command
// line and calls the modules, nothing else.
#include "regcache/app/app.hpp"
#include "regcache/app/flags.hpp"
#include "regcache/cli/commands.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>

using namespace regcache;

int main(int argc, char** argv) {
  CLI::App command_line{"regcache: a pull-through caching proxy for OCI and Docker registries"};
  command_line.require_subcommand(1);
  app::serve_flags flags;
  auto* serve_cmd = command_line.add_subcommand("serve", "Run the cache server");
  serve_cmd->add_option("-c,--config", flags.config_file, "YAML config file (documented in conf/regcache.yaml)")
      ->check(CLI::ExistingFile);
  serve_cmd->add_option("--listen", flags.listen, "HOST:PORT to listen on (overrides server.listen)");
  serve_cmd->add_option("--data", flags.data, "Cache directory (overrides storage.root)");
  serve_cmd->add_option("--upstream", flags.upstream,
                        "Upstream registry URL, made the default upstream, e.g. https://registry-1.docker.io "
                        "(http:// is allowed for local testing)");
  serve_cmd->add_option("--log-level", flags.log_level, "trace, debug, info, warn, error or off (overrides log.level)");
  serve_cmd->add_option("--admin-listen", flags.admin_listen, "HOST:PORT of the admin API (overrides admin.listen)");
  serve_cmd->add_flag("--offline", flags.offline,
                      "Serve only from the cache; never contact an upstream (sets upstreams[].offline)");
  auto* version_cmd = command_line.add_subcommand("version", "Print the version and exit");
  cli::operator_commands operator_cmds(command_line);
  try {
    command_line.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and version print and succeed; every usage error exits 2.
    return command_line.exit(e) == 0 ? 0 : 2;
  }
  if (auto code = operator_cmds.run()) return *code;

  if (version_cmd->parsed()) {
#ifdef REGCACHE_FAULT_INJECTION
    std::printf("regcache %s (test build: fault injection)\n", REGCACHE_VERSION);
#else
    std::printf("regcache %s\n", REGCACHE_VERSION);
#endif
    return 0;
  }
  return app::serve(flags);
}

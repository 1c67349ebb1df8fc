// The subcommands of `attend`. Each adds itself to the app with its own options, which live as
// long as the returned runner; main() calls the runner of the subcommand that was parsed.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace attend::cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;  // returns the process exit code
};

Command add_list_command(CLI::App& parent);
Command add_explain_command(CLI::App& parent);
Command add_run_command(CLI::App& parent);
Command add_bench_command(CLI::App& parent);
Command add_check_command(CLI::App& parent);

}  // namespace attend::cli

// The `attend` command. Exit codes: 0 success, 1 the library refused or a check failed,
// 2 bad usage (unknown flags, malformed or out-of-range values).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "attend/error.hpp"
#include "attend/version.hpp"
#include "commands.hpp"
#include "usage_error.hpp"

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

int usage_failure(const std::string& message) {
  fmt::print(stderr, "attend: {}\nRun with --help for more information.\n", message);
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace attend::cli;
  CLI::App app{
      "attend: one attention call, many implementations, a dispatcher that explains "
      "itself."};
  app.name("attend");
  app.set_version_flag("--version", std::string("attend ") + ATTEND_VERSION_STRING);
  app.require_subcommand(1);
  app.footer("Exit codes: 0 ok, 1 the library refused the problem or a check failed, 2 bad usage.");

  std::vector<Command> commands;
  try {
    commands = {add_list_command(app), add_explain_command(app), add_run_command(app),
                add_bench_command(app), add_check_command(app)};
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);  // prints CLI11's message and hint on stderr
    return kExitUsage;
  }

  try {
    for (const Command& c : commands) {
      if (c.app->parsed()) return c.run();
    }
    return usage_failure("no subcommand");
  } catch (const UsageError& e) {
    return usage_failure(e.what());
  } catch (const attend::NoBackendError& e) {
    fmt::print(stderr, "{}", e.what());  // already the backend | what | expected | got table
    return kExitFailure;
  } catch (const attend::Error& e) {
    const std::string_view message = e.what();
    fmt::print(stderr, "{}{} [{}]\n", message.starts_with("attend") ? "" : "attend: ", message,
               attend::code_name(e.code()));
    return kExitFailure;
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "attend: out of memory\n");
    return kExitFailure;
  } catch (const std::exception& e) {
    fmt::print(stderr, "attend: {}\n", e.what());
    return kExitFailure;
  }
}

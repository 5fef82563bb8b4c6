#include <unistd.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "adapters/console/console_adapter.hpp"
#include "bot/clock.hpp"
#include "bot/config.hpp"
#include "bot/export_json.hpp"
#include "bot/incident_service.hpp"
#include "bot/postmortem.hpp"
#include "commands/router.hpp"
#include "storage/sqlite_store.hpp"

namespace {

using namespace incident;

constexpr const char* k_usage =
    "incident-bot " INCIDENT_BOT_VERSION
    ": incident response from Slack, Mattermost or a local console\n"
    "\n"
    "usage:\n"
    "  incident-bot [--db PATH]                 run the bot (the console when no chat platform\n"
    "                                           is configured)\n"
    "  incident-bot console [--db PATH]         a local chat console on stdin/stdout\n"
    "  incident-bot export INC-<n> [--format md|json] [--db PATH]\n"
    "                                           print a post-mortem draft (md) or an incident\n"
    "  incident-bot --help | --version\n"
    "\n"
    "Configuration comes from the environment: INCIDENT_BOT_DB, INCIDENT_BOT_LISTEN,\n"
    "INCIDENT_BOT_PUBLIC_URL, INCIDENT_BOT_ANNOUNCE_CHANNEL, INCIDENT_BOT_CA_FILE,\n"
    "SLACK_BOT_TOKEN, SLACK_APP_TOKEN, SLACK_SIGNING_SECRET, SLACK_API_URL, MATTERMOST_URL,\n"
    "MATTERMOST_TOKEN, MATTERMOST_TEAM, MATTERMOST_COMMAND_TOKEN (see README.md).\n";

struct Options {
    std::string command;  // "", "console", "export"
    std::string incident;
    std::string format = "md";
    std::optional<std::string> db;
};

// Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
int usage_error(const std::string& message) {
    std::cerr << "incident-bot: " << message << "\nRun `incident-bot --help` for usage.\n";
    return 2;
}

std::optional<Options> parse_options(const std::vector<std::string>& args, std::string& error) {
    Options o;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        const auto value = [&](const char* name) -> std::optional<std::string> {
            if (i + 1 >= args.size()) {
                error = std::string(name) + " needs a value";
                return std::nullopt;
            }
            return args[++i];
        };
        if (a == "--db") {
            if (!(o.db = value("--db"))) return std::nullopt;
        } else if (a == "--format") {
            const auto f = value("--format");
            if (!f) return std::nullopt;
            if (*f != "md" && *f != "json") {
                error = "--format must be md or json, not `" + *f + "`";
                return std::nullopt;
            }
            o.format = *f;
        } else if (o.command.empty() && (a == "console" || a == "export")) {
            o.command = a;
        } else if (o.command == "export" && o.incident.empty() && !a.starts_with("-")) {
            o.incident = a;
        } else {
            error = "unexpected argument `" + a + "`";
            return std::nullopt;
        }
    }
    return o;
}

std::string session_id() {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    return "s" + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()) +
           "-" + std::to_string(::getpid());
}

int run_export(const Options& o, Store& store, const Clock& clock) {
    const auto number = parse_incident_key(o.incident);
    if (!number) return usage_error("export needs an incident id such as INC-7");
    IncidentService service(store, clock);
    const auto found = service.find(*number);
    if (!found) {
        std::cerr << "incident-bot: " << incident_key(*number) << " does not exist in this "
                  << "database.\n";
        return 1;
    }
    const IncidentSnapshot snap = service.snapshot(*number);
    if (o.format == "json") {
        std::cout << to_json(snap).dump(2) << "\n";
    } else {
        std::cout << render_postmortem(snap);
    }
    return 0;
}

int run_console(const Config& config, Store& store, const Clock& clock) {
    IncidentService service(store, clock, ServiceOptions{config.public_url});
    commands::CommandRouter router(service);
    commands::register_builtin_commands(router);
    ConsoleAdapter console(service, router, std::cout, config.announce_channel, session_id());
    console.run(std::cin, ::isatty(STDIN_FILENO) != 0);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    for (const auto& a : args) {
        if (a == "--help" || a == "-h" || a == "help") {
            std::cout << k_usage;
            return 0;
        }
        if (a == "--version") {
            std::cout << "incident-bot " << INCIDENT_BOT_VERSION << "\n";
            return 0;
        }
    }
    spdlog::set_default_logger(spdlog::stderr_color_mt("incident-bot"));

    std::string error;
    const auto options = parse_options(args, error);
    if (!options) return usage_error(error);

    ConfigResult loaded = load_config(process_environment());
    if (options->db) loaded.config.db_path = *options->db;
    if (!loaded.errors.empty()) {
        for (const auto& e : loaded.errors) std::cerr << "incident-bot: configuration: " << e << "\n";
        return 2;
    }
    const Config& config = loaded.config;

    try {
        SqliteStore store(config.db_path);
        SystemClock clock;
        if (options->command == "export") return run_export(*options, store, clock);
        if (options->command == "console" || config.console_only()) {
            return run_console(config, store, clock);
        }
        std::cerr << "incident-bot: chat platforms are configured, but this build has no Slack or "
                     "Mattermost adapter yet; run `incident-bot console` to use the console.\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "incident-bot: " << e.what() << "\n";
        return 1;
    }
}

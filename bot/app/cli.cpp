#include "bot/app/cli.hpp"

#include <iostream>

#include "bot/config.hpp"

namespace incident::app {

namespace {

constexpr const char* k_usage =
    "incident-bot " INCIDENT_BOT_VERSION
    ": incident response from Slack, Mattermost or a local console\n"
    "\n"
    "usage:\n"
    "  incident-bot [OPTIONS]                   run the bot (the console when no chat platform\n"
    "                                           is configured)\n"
    "  incident-bot console [OPTIONS]           a local chat console on stdin/stdout\n"
    "  incident-bot export INC-<n> [--format md|json|bundle] [OPTIONS]\n"
    "                                           print a post-mortem draft (md), an incident\n"
    "                                           (json), or both with its files (bundle: a\n"
    "                                           .tar.gz, e.g. > inc.tar.gz)\n"
    "  incident-bot doctor [--format text|json] [OPTIONS]\n"
    "                                           check the configuration and everything it\n"
    "                                           points at; exit status 1 on any error\n"
    "  incident-bot backup PATH [OPTIONS]       copy the database to the new file PATH (safe\n"
    "                                           while the bot runs)\n"
    "  incident-bot restore PATH [OPTIONS]      replace the database with the backup PATH\n"
    "                                           (stop the bot first; the old one is kept)\n"
    "  incident-bot healthcheck [OPTIONS]       exit 0 when the running bot's /healthz is ok\n"
    "  incident-bot --help | --version\n"
    "\n"
    "options:\n"
    "  --config FILE        KEY=value settings (the keys of the environment variables); the\n"
    "                       environment wins over the file\n"
    "  --db PATH            the SQLite database (overrides INCIDENT_BOT_DB)\n"
    "  --log-format F       text (default), or json: one {\"ts\",\"level\",\"msg\"} per line\n"
    "\n"
    "SIGTERM or SIGINT stops the bot gracefully: no new events, what is in flight is stored\n"
    "and acknowledged, queued messages get up to 5 s, and it exits within 10 s.\n";

bool is_command(const std::string& a) {
    return a == "console" || a == "export" || a == "doctor" || a == "backup" || a == "restore" ||
           a == "healthcheck";
}

}  // namespace

// Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
int usage_error(const std::string& message) {
    std::cerr << "incident-bot: " << message << "\nRun `incident-bot --help` for usage.\n";
    return 2;
}

std::string usage() {
    return std::string(k_usage) +
           "\nSettings, from the environment or --config (README.md and "
           "deploy/incident-bot.conf.example say more):\n" +
           settings_help();
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
        } else if (a == "--config") {
            if (!(o.config = value("--config"))) return std::nullopt;
        } else if (a == "--log-format") {
            if (!(o.log_format = value("--log-format"))) return std::nullopt;
            if (*o.log_format != "text" && *o.log_format != "json") {
                error = "--log-format must be text or json, not `" + *o.log_format + "`";
                return std::nullopt;
            }
        } else if (a == "--format") {
            if (!(o.format = value("--format"))) return std::nullopt;
        } else if (o.command.empty() && is_command(a)) {
            o.command = a;
        } else if (o.command == "export" && o.incident.empty() && !a.starts_with("-")) {
            o.incident = a;
        } else if ((o.command == "backup" || o.command == "restore") && o.path.empty() &&
                   !a.starts_with("-")) {
            o.path = a;
        } else {
            error = "unexpected argument `" + a + "`";
            return std::nullopt;
        }
    }
    const std::string format = o.format.value_or("");
    if (o.command == "doctor" && !format.empty() && format != "text" && format != "json") {
        error = "--format must be text or json, not `" + format + "`";
        return std::nullopt;
    }
    if (o.command != "doctor" && !format.empty() && format != "md" && format != "json" &&
        format != "bundle") {
        error = "--format must be md, json or bundle, not `" + format + "`";
        return std::nullopt;
    }
    if ((o.command == "backup" || o.command == "restore") && o.path.empty()) {
        error = o.command + " needs a file: incident-bot " + o.command + " PATH";
        return std::nullopt;
    }
    return o;
}

}  // namespace incident::app

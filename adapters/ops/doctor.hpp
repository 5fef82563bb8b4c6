#pragma once

#include <chrono>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "adapters/net/tls_context.hpp"
#include "bot/config.hpp"

namespace incident::ops {

enum class Level { ok, warning, error };
std::string_view to_string(Level level);

// One finding of `incident-bot doctor`. Messages and fixes never contain a secret.
struct Check {
    Level level = Level::ok;
    std::string name;     // "slack.scopes"
    std::string message;  // what was found
    std::string fix;      // what to do about it, in plain words; empty when ok
};

struct DoctorOptions {
    // The checks the running bot makes of itself: no listen address check (it holds the
    // address), no "is a bot running" probe, no apps.connections.open (its own Socket Mode
    // connection shows whether the app token works).
    bool inside_bot = false;
    // Each network call (HTTP request, TCP connect) at most this long.
    std::chrono::milliseconds timeout{5000};
    std::string config_file;  // --config, for the permission check
};

// A scope the bot token needs (deploy/slack-app-manifest.yml) and what for.
struct SlackScope {
    std::string_view name;
    std::string_view why;
};
std::span<const SlackScope> slack_required_scopes();

// The configuration itself: errors, which platforms are on and why, exposure.
std::vector<Check> check_configuration(const ConfigResult& loaded, const DoctorOptions& options);
// Opens the database without creating or migrating it.
std::vector<Check> check_database(const std::string& path, bool inside_bot);

// Every check, in order: configuration, platforms, Slack, Mattermost, database, email,
// webhook, listen address. Never throws.
boost::asio::awaitable<std::vector<Check>> run_doctor(boost::asio::any_io_executor executor,
                                                      net::TlsContext tls, ConfigResult loaded,
                                                      DoctorOptions options);

bool has_errors(const std::vector<Check>& checks);
// "error   slack.auth                Slack rejected SLACK_BOT_TOKEN (invalid_auth); fix: ..."
std::string format_check(const Check& check);
// {"ok": no errors, "errors": n, "warnings": n, "checks": [{"level","name","message","fix"}]}
nlohmann::json to_json(const std::vector<Check>& checks);

}  // namespace incident::ops

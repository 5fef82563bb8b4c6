#pragma once

#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bot/reminders.hpp"

namespace incident {

struct Config {
    std::string db_path = "./incident-bot.db";
    // A libpq connection string (postgresql://... or key=value ...): when set, the bot
    // stores everything in PostgreSQL instead of the SQLite file at db_path.
    std::string database_url;
    std::string listen = "127.0.0.1:8080";
    std::string public_url;
    std::string announce_channel = "incidents";
    std::string ca_file;
    std::string dashboard_token;
    std::string slack_bot_token;
    std::string slack_app_token;
    std::string slack_signing_secret;
    std::string slack_api_url = "https://slack.com/api/";
    std::string mattermost_url;
    std::string mattermost_token;
    std::string mattermost_team;
    std::string mattermost_command_token;
    // Key of the signed contexts of the summary's buttons and of the dialogs' states; empty:
    // derived from mattermost_token.
    std::string mattermost_action_secret;
    // Slack Socket Mode and the Mattermost WebSocket: a connection that shows nothing (no
    // frame, no pong) for this long is dead and replaced; it is pinged after 2/5 of it.
    int socket_dead_after_seconds = 5;
    // The outbox (bot/outbox.hpp): an effect that keeps failing transiently is retried this
    // long after it was written, then kept as failed; delivered effects and processed event
    // ids are kept this long (longer than any platform redelivers an event), then pruned.
    Timestamp outbox_retry_ms = 24LL * 3'600'000;
    Timestamp retention_ms = 7LL * 24 * 3'600'000;

    // Stakeholders outside chat (adapters/notify).
    std::string webhook_url;
    std::string webhook_secret;
    std::string smtp_url;  // smtp://host:port (STARTTLS when offered) or smtps://host:port
    std::string smtp_user;
    std::string smtp_password;
    std::string smtp_from;  // "bot@example.com" or "Incident Bot <bot@example.com>"
    // STARTTLS on smtp:// is required, not merely tried. On by default with a user, so a
    // password never crosses the network in clear text.
    bool smtp_require_tls = false;
    std::string smtp_starttls;  // try, required, or empty: required with a user
    std::vector<std::string> stakeholder_emails;
    ReminderPolicy reminders;

    // Alert sources (adapters/alerts): the bearer token of /alerts/alertmanager, and whether
    // an incident resolves itself when every alert of its group is resolved.
    std::string alerts_token;
    bool alerts_auto_resolve = false;
    // INCIDENT_BOT_ALERT_RULES as written (bot/alert_rules.hpp), checked when loaded.
    std::string alert_rules;
    // The signing secret of /alerts/pagerduty (PagerDuty v3 webhooks).
    std::string pagerduty_webhook_secret;
    // PagerDuty's REST API, for the PagerDuty incidents linked to incidents to follow them:
    // a REST API token, the email of the PagerDuty user the changes are made as, the base URL.
    std::string pagerduty_api_token;
    std::string pagerduty_from;
    std::string pagerduty_api_url = "https://api.pagerduty.com";

    // The public status page (/status): its title and components, in the order shown.
    std::string status_title = "Service status";
    std::vector<std::string> status_components;
    // An Atlassian Statuspage the same publications go to: its page id, API key and base URL,
    // and which of its component ids each component of ours is (our name -> their id).
    std::string statuspage_page_id;
    std::string statuspage_api_key;
    std::string statuspage_api_url = "https://api.statuspage.io/v1/";
    std::map<std::string, std::string> statuspage_components;

    // Evidence files (bot/evidence.hpp): larger ones are recorded, not downloaded.
    std::int64_t file_max_bytes = 25 * 1024 * 1024;

    std::string log_format = "text";  // text | json
    std::string log_level;            // empty: info, or SPDLOG_LEVEL

    bool postgres() const { return !database_url.empty(); }
    bool slack_enabled() const { return !slack_bot_token.empty(); }
    bool mattermost_enabled() const { return !mattermost_url.empty(); }
    bool console_only() const { return !slack_enabled() && !mattermost_enabled(); }
    bool webhook_enabled() const { return !webhook_url.empty(); }
    bool email_enabled() const { return !smtp_url.empty(); }
    bool alerts_enabled() const { return !alerts_token.empty(); }
    bool pagerduty_api_enabled() const { return !pagerduty_api_token.empty(); }
    bool statuspage_enabled() const {
        return !statuspage_page_id.empty() && !statuspage_api_key.empty();
    }
    // One line per setting, with secrets shown only as "set"/"not set".
    std::string describe() const;
    // Every secret that is set: what logs must never show.
    std::vector<std::string> secrets() const;
};

// scheme://host[:port]: what may be shown of a URL whose userinfo, path or query could hold a
// secret (a webhook token, a password).
std::string url_origin(const std::string& url);

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_environment();

// One problem with the settings. `keys` are the settings it is about, the first one the
// one to change; `file` and `line` say where that key was set when it was in a file.
struct ConfigError {
    std::vector<std::string> keys;
    std::string file;
    int line = 0;
    std::string message;  // a sentence naming its keys, never their secret values

    // "FILE:LINE: message", or the message alone.
    std::string text() const;
};

// Reads every setting of PRODUCT.md. Bad values are collected, each naming its variable
// and what is expected; an empty list means the configuration is usable.
struct ConfigResult {
    Config config;
    std::vector<ConfigError> errors;
    // Where each key that is set came from: "the environment" or "FILE line N".
    std::map<std::string, std::string> origins;

    // "SLACK_BOT_TOKEN (set in the environment)"; just the key when it is not set.
    std::string where(const std::string& key) const;
};
ConfigResult load_config(const EnvLookup& env);

// One row of the settings table: everything the settings file, the environment, --help,
// the secrets list and the example file know about a key.
struct Setting {
    std::string_view key;
    std::string_view owner;        // the part it configures: core, slack, mattermost, ...
    std::string_view fallback;     // its default as documented; empty: none
    std::string_view description;  // one line, for --help
    bool secret = false;
    // A text setting: the field its trimmed value is stored in.
    std::string Config::*text = nullptr;
    // Any other stores the trimmed value (possibly empty) here; a text setting is checked
    // here after it is stored. Returns why the value is not acceptable, as the rest of a
    // sentence that starts with the key, or nothing.
    std::string (*parse)(Config&, std::string_view value) = nullptr;
};

// Every setting, in the order of deploy/incident-bot.conf.example.
std::span<const Setting> settings_table();
// Every key load_config reads, in the same order.
std::vector<std::string_view> config_keys();
// The settings for --help: each key with its description and default, grouped by owner.
std::string settings_help();
// The same as the Markdown table of README.md's "Configuration" (a test compares them).
std::string settings_markdown();

// A configuration file (--config): KEY=value lines with the keys of the environment, blank
// lines and whole-line # comments; a value may be wrapped in matching quotes. The format of
// systemd's EnvironmentFile=, so one file serves both.
struct ConfigFile {
    std::string path;
    struct Value {
        std::string text;
        int line = 0;
    };
    std::map<std::string, Value> values;
    // Syntax errors, unknown and repeated keys, each with its line.
    std::vector<ConfigError> errors;
};
ConfigFile parse_config_file(std::string_view text, std::string path);
// Reads and parses the file; an unreadable file is one error.
ConfigFile read_config_file(const std::string& path);

// The environment first, then the file. Errors about a value that came from the file carry
// its path and line, and the file's own errors come first.
ConfigResult load_config(const EnvLookup& env, const ConfigFile& file);

}  // namespace incident

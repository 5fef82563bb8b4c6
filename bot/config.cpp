#include "bot/config.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

#include "bot/alert_rules.hpp"
#include "bot/spelling.hpp"
#include "bot/text.hpp"

namespace incident {

namespace {

bool valid_listen(const std::string& value) {
    const auto colon = value.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 >= value.size()) return false;
    const std::string port = value.substr(colon + 1);
    if (port.size() > 5) return false;
    for (const char c : port) {
        if (c < '0' || c > '9') return false;
    }
    return std::stoi(port) <= 65535;
}

bool is_http_url(const std::string& value) {
    return value.starts_with("http://") || value.starts_with("https://");
}

std::string secret_state(const std::string& value) {
    return value.empty() ? "not set" : "set";
}

constexpr std::int64_t k_max_seconds = 366LL * 24 * 3600;

std::optional<std::int64_t> parse_seconds(std::string_view text) {
    if (text.empty() || text.size() > 9) return std::nullopt;
    std::int64_t value = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + (c - '0');
    }
    if (value > k_max_seconds) return std::nullopt;
    return value;
}

// A bare address: no display name, no spaces, one @ with something on both sides.
bool valid_address(std::string_view address) {
    const auto at = address.find('@');
    if (at == std::string_view::npos || at == 0 || at + 1 >= address.size()) return false;
    if (address.find('@', at + 1) != std::string_view::npos) return false;
    for (const unsigned char c : address) {
        if (c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == ',' || c == ';' || c == '"' ||
            c == '(' || c == ')' || c == '\\') {
            return false;
        }
    }
    return true;
}

// "Name <addr>" or "addr"; it becomes a mail header, so no line breaks either.
bool valid_from(std::string_view from) {
    if (from.find_first_of("\r\n") != std::string_view::npos) return false;
    const auto open = from.rfind('<');
    if (open == std::string_view::npos) return valid_address(from);
    if (!from.ends_with('>')) return false;
    return valid_address(from.substr(open + 1, from.size() - open - 2));
}

// The password written in a libpq connection string, as written: the userinfo of a
// postgresql:// URI, its password= query parameter, or a password=... keyword.
std::string database_password(const std::string& url) {
    const auto value_after = [&](std::size_t at, const char* ends) {
        std::size_t end = url.find_first_of(ends, at);
        if (end == std::string::npos) end = url.size();
        return url.substr(at, end - at);
    };
    if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
        const std::size_t authority = url.find("://") + 3;
        const std::size_t authority_end = url.find_first_of("/?#", authority);
        const std::size_t at = url.rfind('@', authority_end);
        if (at != std::string::npos && at >= authority) {
            const std::size_t colon = url.find(':', authority);
            if (colon != std::string::npos && colon < at) {
                return url.substr(colon + 1, at - colon - 1);
            }
        }
        for (const char* key : {"?password=", "&password="}) {
            const std::size_t found = url.find(key);
            if (found != std::string::npos) return value_after(found + 10, "&#");
        }
        return std::string();
    }
    for (std::size_t at = url.find("password"); at != std::string::npos;
         at = url.find("password", at + 1)) {
        if (at > 0 && url[at - 1] != ' ' && url[at - 1] != '\t') continue;
        std::size_t value = url.find_first_not_of(" \t", at + 8);
        if (value == std::string::npos || url[value] != '=') continue;
        value = url.find_first_not_of(" \t", value + 1);
        if (value == std::string::npos) return std::string();
        if (url[value] == '\'') {
            const std::size_t close = url.find('\'', value + 1);
            return url.substr(value + 1,
                              close == std::string::npos ? std::string::npos : close - value - 1);
        }
        return value_after(value, " \t");
    }
    return std::string();
}

std::optional<bool> parse_bool(std::string_view text) {
    const std::string value = to_lower(trim(text));
    if (value == "true" || value == "1" || value == "yes" || value == "on") return true;
    if (value == "false" || value == "0" || value == "no" || value == "off") return false;
    return std::nullopt;
}

std::string seconds_text(Timestamp ms) {
    return ms <= 0 ? std::string("off") : std::to_string(ms / k_second_ms) + "s";
}

// The readers of the table's typed settings. Each gets the trimmed value, which may be
// empty, and answers why it is not acceptable as the rest of a sentence after the key.
using Problem = std::string;

Problem seconds_into(std::string_view value, Timestamp& field, bool may_be_off) {
    const std::string lower = to_lower(value);
    if (lower.empty()) return {};
    const auto parsed = lower == "off" ? std::optional<std::int64_t>(0) : parse_seconds(lower);
    if (!parsed || (!may_be_off && *parsed == 0)) {
        return "must be a number of seconds up to " + std::to_string(k_max_seconds) +
               (may_be_off ? " (0 or off turns it off)" : ", at least 1") + ", not `" +
               std::string(value) + "`.";
    }
    field = *parsed * k_second_ms;
    return {};
}

template <Timestamp ReminderPolicy::*Field, bool MayBeOff = true>
Problem reminder(Config& c, std::string_view value) {
    return seconds_into(value, c.reminders.*Field, MayBeOff);
}

template <std::size_t Severity>
Problem status_reminder(Config& c, std::string_view value) {
    return seconds_into(value, c.reminders.status_update[Severity - 1], true);
}

Problem digest_hour(Config& c, std::string_view value) {
    const std::string lower = to_lower(value);
    const auto hour = parse_seconds(lower);
    if (lower == "off") {
        c.reminders.digest_hour.reset();
    } else if (hour && *hour <= 23) {
        c.reminders.digest_hour = static_cast<int>(*hour);
    } else if (!lower.empty()) {
        return "must be an hour of the day in UTC (0 to 23) or off, not `" + std::string(value) +
               "`.";
    }
    return {};
}

Problem socket_dead_after(Config& c, std::string_view value) {
    const auto seconds = parse_seconds(value);
    if (seconds && *seconds >= 2 && *seconds <= 600) {
        c.socket_dead_after_seconds = static_cast<int>(*seconds);
    } else if (!value.empty()) {
        return "must be a number of seconds from 2 to 600, not `" + std::string(value) + "`.";
    }
    return {};
}

// A platform delivers an event again for minutes (Slack retries for about 5), and the
// Mattermost catch-up after a restart re-reads from the last change stored, however long the
// bot was down: processed event ids kept a day cover that with room (a bot down overnight).
constexpr std::int64_t k_min_retention_seconds = 24 * 3600;

Problem outbox_retry(Config& c, std::string_view value) {
    if (value.empty()) return {};
    const auto seconds = parse_seconds(value);
    if (!seconds || *seconds == 0) {
        return "must be a number of seconds from 1 to " + std::to_string(k_max_seconds) +
               " (how long an effect the platform keeps refusing for now is tried again), not `" +
               std::string(value.substr(0, 40)) + "`.";
    }
    c.outbox_retry_ms = *seconds * k_second_ms;
    return {};
}

Problem retention(Config& c, std::string_view value) {
    if (value.empty()) return {};
    const auto seconds = parse_seconds(value);
    if (!seconds || *seconds < k_min_retention_seconds) {
        return "must be a number of seconds from " + std::to_string(k_min_retention_seconds) +
               " (a day) to " + std::to_string(k_max_seconds) + ", not `" +
               std::string(value.substr(0, 40)) +
               "`: processed event ids are kept this long so that an event a platform delivers "
               "again is recognised (Slack retries for minutes; the Mattermost catch-up after a "
               "restart re-reads the minute before the bot stopped).";
    }
    c.retention_ms = *seconds * k_second_ms;
    return {};
}

// Checks of text settings, whose value the loader has stored already (also when it is wrong,
// so that the settings that go with it are not reported missing).
Problem http_url(Config&, std::string_view value) {
    if (!value.empty() && !is_http_url(std::string(value))) {
        return "must start with http:// or https://.";
    }
    return {};
}

// An http(s) URL with a default that an empty value keeps, ending in / when `slash`.
template <std::string Config::*Field, bool Slash>
Problem base_url(Config& c, std::string_view value) {
    if (value.empty()) return {};
    if (!is_http_url(std::string(value))) return "must start with http:// or https://.";
    c.*Field = std::string(value);
    if (Slash && !(c.*Field).ends_with('/')) c.*Field += '/';
    return {};
}

Problem database_path(Config&, std::string_view value) {
    return value.empty() ? "is empty: give a file path." : Problem();
}

Problem listen_address(Config&, std::string_view value) {
    return valid_listen(std::string(value)) ? Problem() : "must be host:port, e.g. 127.0.0.1:8080.";
}

Problem announce_channel(Config& c, std::string_view value) {
    if (value.starts_with('#')) value.remove_prefix(1);
    c.announce_channel = std::string(value);
    return value.empty() ? "is empty: name a channel." : Problem();
}

// Tokens are never echoed back: a wrong one pasted into an error would leak into logs.
Problem slack_bot_token(Config&, std::string_view value) {
    if (value.empty() || value.starts_with("xoxb-")) return {};
    return "must be a bot token starting with xoxb-.";
}

Problem slack_app_token(Config&, std::string_view value) {
    if (value.empty() || value.starts_with("xapp-")) return {};
    return "must be an app-level token starting with xapp-.";
}

Problem smtp_url(Config&, std::string_view value) {
    if (value.empty()) return {};
    const bool smtp = value.starts_with("smtp://");
    if (!smtp && !value.starts_with("smtps://")) {
        return "must be smtp://host:port or smtps://host:port.";
    }
    const std::string_view rest = value.substr(smtp ? 7 : 8);
    const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    // Never echo it: the URL holds a password.
    if (authority.find('@') != std::string_view::npos) {
        return "must not hold credentials: put them in INCIDENT_BOT_SMTP_USER and "
               "INCIDENT_BOT_SMTP_PASSWORD.";
    }
    if (authority.empty() || authority.starts_with(':'))
        return "has no host: write smtp://host:port.";
    return {};
}

Problem smtp_starttls(Config& c, std::string_view value) {
    c.smtp_starttls = to_lower(value);
    if (c.smtp_starttls.empty() || c.smtp_starttls == "try" || c.smtp_starttls == "required") {
        return {};
    }
    return "must be try or required, not `" + std::string(value) + "`.";
}

Problem stakeholder_emails(Config& c, std::string_view value) {
    c.stakeholder_emails = split_list(value);
    for (const auto& address : c.stakeholder_emails) {
        if (!valid_address(address)) {
            return ": `" + address +
                   "` is not an email address (write a@example.com, comma-separated).";
        }
    }
    return {};
}

Problem alerts_token(Config&, std::string_view value) {
    // Never echoed: a pasted token must not reach a log line.
    if (value.find_first_of(" \t") == std::string_view::npos) return {};
    return "must not contain spaces: it is sent as \"Authorization: Bearer <token>\".";
}

Problem alerts_auto_resolve(Config& c, std::string_view value) {
    if (value.empty()) return {};
    const auto parsed = parse_bool(value);
    if (!parsed) return "must be true or false, not `" + std::string(value.substr(0, 40)) + "`.";
    c.alerts_auto_resolve = *parsed;
    return {};
}

Problem alert_rules(Config&, std::string_view value) {
    return parse_alert_rules(value).error;
}

Problem status_title(Config& c, std::string_view value) {
    if (value.empty()) return {};
    c.status_title = std::string(value);
    if (value.size() <= 120 && is_valid_utf8(value)) return {};
    return "must be UTF-8 text of at most 120 bytes.";
}

Problem status_components(Config& c, std::string_view value) {
    for (const std::string& name : split_list(value)) {
        const bool repeated = std::any_of(
            c.status_components.begin(), c.status_components.end(),
            [&](const std::string& known) { return to_lower(known) == to_lower(name); });
        if (repeated) return "names `" + name.substr(0, 60) + "` twice.";
        if (name.size() > 60 || !is_valid_utf8(name)) {
            return ": each component is UTF-8 text of at most 60 bytes.";
        }
        c.status_components.push_back(name);
    }
    return {};
}

Problem log_format(Config& c, std::string_view value) {
    const std::string lower = to_lower(value);
    if (lower == "text" || lower == "json") {
        c.log_format = lower;
    } else if (!lower.empty()) {
        return "must be text or json, not `" + std::string(value) + "`.";
    }
    return {};
}

Problem log_level(Config& c, std::string_view value) {
    const std::string lower = to_lower(value);
    constexpr std::array<std::string_view, 7> k_levels{"trace", "debug",    "info", "warn",
                                                       "error", "critical", "off"};
    if (std::find(k_levels.begin(), k_levels.end(), lower) != k_levels.end()) {
        c.log_level = lower;
    } else if (!lower.empty()) {
        return "must be one of trace, debug, info, warn, error, critical, off, not `" +
               std::string(value) + "`.";
    }
    return {};
}

// Statuspage ids are short alphanumeric words; anything else would change the request path.
bool statuspage_id(std::string_view id) {
    return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) != 0;
    });
}

Problem statuspage_page_id(Config&, std::string_view value) {
    if (value.empty() || statuspage_id(value)) return {};
    return "must be the page's id (letters and digits, as in its manage.statuspage.io address).";
}

Problem statuspage_api_key(Config&, std::string_view value) {
    // Never echoed: a pasted key must not reach a log line.
    if (value.find_first_of(" \t\r\n") == std::string_view::npos) return {};
    return "must not contain spaces: it is sent as \"Authorization: OAuth <key>\".";
}

// After INCIDENT_BOT_STATUS_COMPONENTS in the table: the map names our components.
Problem statuspage_components(Config& c, std::string_view value) {
    for (const std::string& pair : split_list(value)) {
        const auto eq = pair.find('=');
        const std::string name(trim(std::string_view(pair).substr(0, eq)));
        const std::string id =
            eq == std::string::npos ? std::string() : std::string(trim(pair.substr(eq + 1)));
        const auto known =
            std::find_if(c.status_components.begin(), c.status_components.end(),
                         [&](const std::string& ours) { return to_lower(ours) == to_lower(name); });
        if (eq == std::string::npos || !statuspage_id(id)) {
            return ": write each as <component>=<Statuspage component id>, e.g. "
                   "\"API=8kbf7d35c070\", not `" +
                   truncate_utf8(pair, 60) + "`.";
        }
        if (known == c.status_components.end()) {
            return "names `" + truncate_utf8(name, 60) +
                   "`, which is not in INCIDENT_BOT_STATUS_COMPONENTS.";
        }
        if (!c.statuspage_components.emplace(*known, id).second) {
            return "names `" + *known + "` twice.";
        }
    }
    return {};
}

// Bytes, or with a unit (KB, MB, GB: powers of 1024); at least 1 byte, at most 2 GB, since the
// whole file is held in memory while it is stored.
Problem file_max_bytes(Config& c, std::string_view raw) {
    if (raw.empty()) return {};
    std::string value = to_lower(raw);
    std::int64_t unit = 1;
    for (const auto& [suffix, factor] : {std::pair<std::string_view, std::int64_t>{"kb", 1024},
                                         {"mb", 1024 * 1024},
                                         {"gb", 1024 * 1024 * 1024}}) {
        if (value.ends_with(suffix)) {
            unit = factor;
            value = std::string(trim(std::string_view(value).substr(0, value.size() - 2)));
            break;
        }
    }
    std::int64_t number = 0;
    bool ok = !value.empty() && value.size() <= 10;
    for (const char ch : value) {
        ok = ok && ch >= '0' && ch <= '9';
        if (ok) number = number * 10 + (ch - '0');
    }
    constexpr std::int64_t k_max_file_bytes = 2LL * 1024 * 1024 * 1024;
    if (!ok || number == 0 || number > k_max_file_bytes / unit) {
        return "must be a size from 1 byte to 2 GB (e.g. 26214400 or 25MB), not `" +
               std::string(raw.substr(0, 40)) + "`.";
    }
    c.file_max_bytes = number * unit;
    return {};
}

constexpr Setting text(std::string_view key, std::string_view owner, std::string Config::*field,
                       std::string_view fallback, std::string_view description) {
    return Setting{key, owner, fallback, description, false, field, nullptr};
}

constexpr Setting secret(std::string_view key, std::string_view owner, std::string Config::*field,
                         std::string_view description,
                         Problem (*parse)(Config&, std::string_view) = nullptr) {
    return Setting{key, owner, "", description, true, field, parse};
}

constexpr Setting checked(std::string_view key, std::string_view owner, std::string Config::*field,
                          Problem (*check)(Config&, std::string_view), std::string_view fallback,
                          std::string_view description) {
    return Setting{key, owner, fallback, description, false, field, check};
}

constexpr Setting typed(std::string_view key, std::string_view owner,
                        Problem (*parse)(Config&, std::string_view), std::string_view fallback,
                        std::string_view description) {
    return Setting{key, owner, fallback, description, false, nullptr, parse};
}

// The one list of settings. A new setting is one row here (plus its field in Config and
// its lines in deploy/incident-bot.conf.example, which a test compares with this table).
const Setting k_settings[] = {
    checked("INCIDENT_BOT_DB", "core", &Config::db_path, database_path, "./incident-bot.db",
            "the SQLite database file (--db overrides it)"),
    secret("INCIDENT_BOT_DATABASE_URL", "core", &Config::database_url,
           "a libpq connection string: PostgreSQL instead of SQLite, for several replicas"),
    checked("INCIDENT_BOT_LISTEN", "core", &Config::listen, listen_address, "127.0.0.1:8080",
            "host:port of the dashboard, the API, /healthz, /metrics and the HTTP endpoints"),
    checked("INCIDENT_BOT_PUBLIC_URL", "core", &Config::public_url, http_url, "",
            "the bot's public base URL, used in links"),
    typed("INCIDENT_BOT_ANNOUNCE_CHANNEL", "core", announce_channel, "incidents",
          "the stakeholder channel: found, joined or created as needed"),
    text("INCIDENT_BOT_CA_FILE", "core", &Config::ca_file, "",
         "an extra PEM bundle of CAs trusted for TLS"),
    secret("INCIDENT_BOT_DASHBOARD_TOKEN", "web", &Config::dashboard_token,
           "the bearer token (or /login) the dashboard, the API and /metrics require"),
    typed("INCIDENT_BOT_LOG_FORMAT", "logs", log_format, "text",
          "text or json (one object per line); --log-format overrides it"),
    typed("INCIDENT_BOT_LOG_LEVEL", "logs", log_level, "info",
          "trace, debug, info, warn, error, critical or off; SPDLOG_LEVEL overrides it"),
    secret("SLACK_BOT_TOKEN", "slack", &Config::slack_bot_token,
           "the Bot User OAuth Token (xoxb-...): turns Slack on", slack_bot_token),
    secret("SLACK_APP_TOKEN", "slack", &Config::slack_app_token,
           "an app-level token (xapp-...) with connections:write, for Socket Mode",
           slack_app_token),
    secret("SLACK_SIGNING_SECRET", "slack", &Config::slack_signing_secret,
           "the signing secret of the HTTP endpoints (Events API, commands, interactivity)"),
    typed("SLACK_API_URL", "slack", base_url<&Config::slack_api_url, true>,
          "https://slack.com/api/", "the Web API base URL (tests point it at a fake Slack)"),
    checked("MATTERMOST_URL", "mattermost", &Config::mattermost_url, http_url, "",
            "the Mattermost server's base URL: turns Mattermost on"),
    secret("MATTERMOST_TOKEN", "mattermost", &Config::mattermost_token,
           "the access token of the bot account"),
    text("MATTERMOST_TEAM", "mattermost", &Config::mattermost_team, "",
         "the team name or id (may be empty when the bot is in one team)"),
    secret("MATTERMOST_COMMAND_TOKEN", "mattermost", &Config::mattermost_command_token,
           "the token of a /incident command created by hand; empty: the bot registers it"),
    secret("MATTERMOST_ACTION_SECRET", "mattermost", &Config::mattermost_action_secret,
           "the key of the buttons' signed contexts; empty: derived from MATTERMOST_TOKEN"),
    typed("INCIDENT_BOT_SOCKET_DEAD_AFTER_SECONDS", "chat", socket_dead_after, "5",
          "a Socket Mode or Mattermost WebSocket silent this long is replaced (2 to 600)"),
    typed("INCIDENT_BOT_OUTBOX_RETRY_SECONDS", "outbox", outbox_retry, "86400",
          "an effect refused for now (5xx, 429, no answer) is retried this long, then failed"),
    typed("INCIDENT_BOT_RETENTION_SECONDS", "outbox", retention, "604800",
          "delivered effects and processed event ids are kept this long (at least 86400)"),
    checked("INCIDENT_BOT_WEBHOOK_URL", "notify", &Config::webhook_url, http_url, "",
            "where a signed JSON POST goes for every incident event"),
    secret("INCIDENT_BOT_WEBHOOK_SECRET", "notify", &Config::webhook_secret,
           "the HMAC-SHA256 key of the X-Incident-Bot-Signature header"),
    checked("INCIDENT_BOT_SMTP_URL", "notify", &Config::smtp_url, smtp_url, "",
            "smtp://host:587 (STARTTLS) or smtps://host:465, without credentials"),
    text("INCIDENT_BOT_SMTP_USER", "notify", &Config::smtp_user, "", "the SMTP user"),
    secret("INCIDENT_BOT_SMTP_PASSWORD", "notify", &Config::smtp_password,
           "the SMTP user's password"),
    text("INCIDENT_BOT_SMTP_FROM", "notify", &Config::smtp_from, "",
         "the sender: bot@example.com or \"Incident Bot <bot@example.com>\""),
    typed("INCIDENT_BOT_SMTP_STARTTLS", "notify", smtp_starttls, "required with a user",
          "try (STARTTLS when offered) or required"),
    typed("INCIDENT_BOT_STAKEHOLDER_EMAILS", "notify", stakeholder_emails, "",
          "who gets the emails, comma-separated"),
    secret("INCIDENT_BOT_ALERTS_TOKEN", "alerts", &Config::alerts_token,
           "the bearer token of /alerts/alertmanager and /alerts/grafana; empty: off",
           alerts_token),
    typed("INCIDENT_BOT_ALERTS_AUTO_RESOLVE", "alerts", alerts_auto_resolve, "false",
          "true: an incident resolves itself when all its alerts are resolved"),
    checked("INCIDENT_BOT_ALERT_RULES", "alerts", &Config::alert_rules, alert_rules, "",
            "rules tried on each alert first: ignore, announce, or open at a severity"),
    secret("INCIDENT_BOT_PAGERDUTY_WEBHOOK_SECRET", "alerts", &Config::pagerduty_webhook_secret,
           "the signing secret of /alerts/pagerduty (PagerDuty v3 webhooks); empty: off"),
    secret("INCIDENT_BOT_PAGERDUTY_API_TOKEN", "alerts", &Config::pagerduty_api_token,
           "a PagerDuty REST API token, to follow linked PagerDuty incidents; empty: off"),
    text("INCIDENT_BOT_PAGERDUTY_FROM", "alerts", &Config::pagerduty_from, "",
         "the email of the PagerDuty user the changes are made as"),
    typed("INCIDENT_BOT_PAGERDUTY_API_URL", "alerts", base_url<&Config::pagerduty_api_url, false>,
          "https://api.pagerduty.com", "PagerDuty's REST API base URL"),
    typed("INCIDENT_BOT_STATUS_TITLE", "status", status_title, "Service status",
          "the public status page's title"),
    typed("INCIDENT_BOT_STATUS_COMPONENTS", "status", status_components, "",
          "the status page's components, comma-separated, in the order shown"),
    checked("INCIDENT_BOT_STATUSPAGE_PAGE_ID", "status", &Config::statuspage_page_id,
            statuspage_page_id, "",
            "an Atlassian Statuspage the publications also go to: its page id (with the key)"),
    secret("INCIDENT_BOT_STATUSPAGE_API_KEY", "status", &Config::statuspage_api_key,
           "that Statuspage's API key", statuspage_api_key),
    typed("INCIDENT_BOT_STATUSPAGE_API_URL", "status", base_url<&Config::statuspage_api_url, true>,
          "https://api.statuspage.io/v1/", "Statuspage's REST API base URL"),
    typed("INCIDENT_BOT_STATUSPAGE_COMPONENTS", "status", statuspage_components, "",
          "Statuspage component ids of our components: name=id, comma-separated"),
    typed("INCIDENT_BOT_FILE_MAX_BYTES", "evidence", file_max_bytes, "25MB",
          "files shared in incident channels up to this size are kept (bytes, KB, MB or GB)"),
    typed("INCIDENT_BOT_REMIND_STATUS_SEV1_SECONDS", "reminders", status_reminder<1>, "1800",
          "no status update for this long at SEV1: a nudge"),
    typed("INCIDENT_BOT_REMIND_STATUS_SEV2_SECONDS", "reminders", status_reminder<2>, "3600",
          "the same at SEV2"),
    typed("INCIDENT_BOT_REMIND_STATUS_SEV3_SECONDS", "reminders", status_reminder<3>, "14400",
          "the same at SEV3"),
    typed("INCIDENT_BOT_REMIND_STATUS_SEV4_SECONDS", "reminders", status_reminder<4>, "86400",
          "the same at SEV4"),
    typed("INCIDENT_BOT_REMIND_STATUS_SEV5_SECONDS", "reminders", status_reminder<5>, "off",
          "the same at SEV5"),
    typed("INCIDENT_BOT_REMIND_NO_COMMANDER_SECONDS", "reminders",
          reminder<&ReminderPolicy::no_commander_after>, "600",
          "no commander this long after the declaration: a nudge"),
    typed("INCIDENT_BOT_REMIND_NO_COMMANDER_REPEAT_SECONDS", "reminders",
          reminder<&ReminderPolicy::no_commander_repeat>, "600", "and how often it is repeated"),
    typed("INCIDENT_BOT_REMIND_POSTMORTEM_BEFORE_SECONDS", "reminders",
          reminder<&ReminderPolicy::postmortem_before>, "172800",
          "the post-mortem owner is reminded this long before the due date"),
    typed("INCIDENT_BOT_REMIND_POSTMORTEM_REPEAT_SECONDS", "reminders",
          reminder<&ReminderPolicy::postmortem_repeat>, "86400",
          "and this often once it is overdue"),
    typed("INCIDENT_BOT_REMIND_TICK_SECONDS", "reminders", reminder<&ReminderPolicy::tick, false>,
          "30", "how often reminders are looked for (at least 1)"),
    typed("INCIDENT_BOT_REMIND_DIGEST_HOUR", "reminders", digest_hour, "9",
          "the daily digest's hour in UTC (0 to 23), or off"),
};

// What the settings mean together, once each has been read on its own.
struct Combinations {
    const Config& c;
    std::vector<ConfigError>& errors;

    void add(std::vector<std::string> keys, std::string message) {
        errors.push_back(ConfigError{std::move(keys), {}, 0, std::move(message)});
    }

    void check() {
        if (c.slack_enabled() && c.slack_app_token.empty() && c.slack_signing_secret.empty()) {
            add({"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"},
                "SLACK_BOT_TOKEN is set but Slack cannot reach the bot: set SLACK_APP_TOKEN "
                "(Socket Mode) or SLACK_SIGNING_SECRET (HTTP Events API).");
        }
        if (c.mattermost_enabled() && c.mattermost_token.empty()) {
            add({"MATTERMOST_URL", "MATTERMOST_TOKEN"},
                "MATTERMOST_URL is set but MATTERMOST_TOKEN is not: create a bot account and "
                "give its access token.");
        }
        if (c.mattermost_enabled() && c.mattermost_team.empty()) {
            add({"MATTERMOST_URL", "MATTERMOST_TEAM"},
                "MATTERMOST_URL is set but MATTERMOST_TEAM is not: give the team name or id.");
        }
        if (!c.webhook_url.empty() && c.webhook_secret.empty()) {
            add({"INCIDENT_BOT_WEBHOOK_URL", "INCIDENT_BOT_WEBHOOK_SECRET"},
                "INCIDENT_BOT_WEBHOOK_URL is set but INCIDENT_BOT_WEBHOOK_SECRET is not: "
                "receivers need it to verify the X-Incident-Bot-Signature header.");
        }
        if (c.webhook_url.empty() && !c.webhook_secret.empty()) {
            add({"INCIDENT_BOT_WEBHOOK_SECRET", "INCIDENT_BOT_WEBHOOK_URL"},
                "INCIDENT_BOT_WEBHOOK_SECRET is set but INCIDENT_BOT_WEBHOOK_URL is not: say "
                "where to send the webhook.");
        }
        email();
        if (c.statuspage_page_id.empty() != c.statuspage_api_key.empty()) {
            add({"INCIDENT_BOT_STATUSPAGE_PAGE_ID", "INCIDENT_BOT_STATUSPAGE_API_KEY"},
                "INCIDENT_BOT_STATUSPAGE_PAGE_ID and INCIDENT_BOT_STATUSPAGE_API_KEY go together: "
                "set both to publish to Statuspage, or neither.");
        }
        if (c.pagerduty_api_enabled() && c.pagerduty_from.find('@') == std::string::npos) {
            add({"INCIDENT_BOT_PAGERDUTY_FROM", "INCIDENT_BOT_PAGERDUTY_API_TOKEN"},
                "INCIDENT_BOT_PAGERDUTY_FROM must be the email address of a PagerDuty user: "
                "PagerDuty's REST API records changes as made by that user.");
        }
    }

    void email() {
        if (c.smtp_url.empty()) {
            if (!c.stakeholder_emails.empty() || !c.smtp_from.empty() || !c.smtp_user.empty()) {
                add({"INCIDENT_BOT_SMTP_URL", "INCIDENT_BOT_STAKEHOLDER_EMAILS",
                     "INCIDENT_BOT_SMTP_FROM", "INCIDENT_BOT_SMTP_USER"},
                    "INCIDENT_BOT_SMTP_URL is not set, so no email can be sent: set it "
                    "(smtp://host:587 or smtps://host:465) or unset the other "
                    "INCIDENT_BOT_SMTP_* and INCIDENT_BOT_STAKEHOLDER_EMAILS.");
            }
            return;
        }
        if (c.smtp_from.empty()) {
            add({"INCIDENT_BOT_SMTP_URL", "INCIDENT_BOT_SMTP_FROM"},
                "INCIDENT_BOT_SMTP_URL is set but INCIDENT_BOT_SMTP_FROM is not: give the "
                "sender address, e.g. incident-bot@example.com.");
        } else if (!valid_from(c.smtp_from)) {
            add({"INCIDENT_BOT_SMTP_FROM"},
                "INCIDENT_BOT_SMTP_FROM must be an address (bot@example.com) or "
                "Name <bot@example.com>.");
        }
        if (c.stakeholder_emails.empty()) {
            add({"INCIDENT_BOT_SMTP_URL", "INCIDENT_BOT_STAKEHOLDER_EMAILS"},
                "INCIDENT_BOT_SMTP_URL is set but INCIDENT_BOT_STAKEHOLDER_EMAILS is empty: "
                "list who gets the emails, comma-separated.");
        }
        if (!c.smtp_user.empty() && c.smtp_password.empty()) {
            add({"INCIDENT_BOT_SMTP_USER", "INCIDENT_BOT_SMTP_PASSWORD"},
                "INCIDENT_BOT_SMTP_USER is set but INCIDENT_BOT_SMTP_PASSWORD is not.");
        }
        if (c.smtp_user.empty() && !c.smtp_password.empty()) {
            add({"INCIDENT_BOT_SMTP_PASSWORD", "INCIDENT_BOT_SMTP_USER"},
                "INCIDENT_BOT_SMTP_PASSWORD is set but INCIDENT_BOT_SMTP_USER is not.");
        }
    }
};

const Setting* find_setting(std::string_view key) {
    for (const Setting& setting : k_settings) {
        if (setting.key == key) return &setting;
    }
    return nullptr;
}

bool valid_key_name(std::string_view key) {
    if (key.empty()) return false;
    return std::all_of(key.begin(), key.end(), [](char ch) {
        return (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
    });
}

// A likely typo's intended key, or empty.
// " (did you mean X?)". A key of a known family (INCIDENT_BOT_REMIND_...) is matched within
// that family only: a guess from another family only misleads.
std::string key_hint(std::string_view key) {
    const auto last = key.rfind('_');
    const std::string_view family = last == std::string_view::npos ? "" : key.substr(0, last + 1);
    const bool family_known =
        !family.empty() && std::any_of(std::begin(k_settings), std::end(k_settings),
                                       [&](const Setting& s) { return s.key.starts_with(family); });
    std::string_view best;
    // A forgotten word (INCIDENT_BOT_DIGEST_HOUR) is a longer distance than a typo.
    std::size_t best_distance = std::max<std::size_t>(4, key.size() / 3 + 1);
    for (const Setting& setting : k_settings) {
        const std::string_view known = setting.key;
        if (family_known && !known.starts_with(family)) continue;
        const std::size_t d = edit_distance(key, known);
        if (d < best_distance) {
            best = known;
            best_distance = d;
        }
    }
    if (!best.empty()) return " (did you mean " + std::string(best) + "?)";
    if (family_known && family != "INCIDENT_BOT_") {
        return " (the " + std::string(family) +
               "* keys are listed in deploy/incident-bot.conf.example)";
    }
    return std::string();
}

}  // namespace

EnvLookup process_environment() {
    return [](const std::string& name) -> std::optional<std::string> {
        const char* value = std::getenv(name.c_str());
        if (value == nullptr) return std::nullopt;
        return std::string(value);
    };
}

namespace {

ConfigResult load_values(const EnvLookup& env) {
    ConfigResult result;
    Config& c = result.config;
    for (const Setting& setting : k_settings) {
        const auto raw = env(std::string(setting.key));
        if (!raw) continue;
        const std::string_view value = trim(*raw);
        if (setting.text != nullptr) c.*setting.text = std::string(value);
        if (setting.parse == nullptr) continue;
        if (const Problem problem = setting.parse(c, value); !problem.empty()) {
            result.errors.push_back(ConfigError{
                {std::string(setting.key)},
                {},
                0,
                std::string(setting.key) + (problem.starts_with(':') ? "" : " ") + problem});
        }
    }
    c.smtp_require_tls =
        c.smtp_starttls == "required" || (c.smtp_starttls.empty() && !c.smtp_user.empty());
    Combinations{c, result.errors}.check();
    return result;
}

}  // namespace

ConfigResult load_config(const EnvLookup& env) {
    return load_config(env, ConfigFile{});
}

ConfigResult load_config(const EnvLookup& env, const ConfigFile& file) {
    std::map<std::string, std::string> origins;
    const EnvLookup layered = [&](const std::string& key) -> std::optional<std::string> {
        if (auto value = env(key)) {
            origins[key] = "the environment";
            return value;
        }
        if (const auto it = file.values.find(key); it != file.values.end()) {
            origins[key] = file.path + " line " + std::to_string(it->second.line);
            return it->second.text;
        }
        return std::nullopt;
    };
    ConfigResult result = load_values(layered);
    result.origins = std::move(origins);
    // An error about several keys points at the first of them that the file set.
    for (ConfigError& error : result.errors) {
        for (const std::string& key : error.keys) {
            const auto origin = result.origins.find(key);
            if (origin == result.origins.end() || origin->second == "the environment") continue;
            error.file = file.path;
            error.line = file.values.at(key).line;
            break;
        }
    }
    result.errors.insert(result.errors.begin(), file.errors.begin(), file.errors.end());
    return result;
}

std::string url_origin(const std::string& url) {
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string::npos) return "(not a URL)";
    std::string authority = url.substr(scheme_end + 3);
    authority = authority.substr(0, authority.find_first_of("/?#"));
    if (const auto at = authority.rfind('@'); at != std::string::npos) authority.erase(0, at + 1);
    return url.substr(0, scheme_end + 3) + authority;
}

std::string ConfigError::text() const {
    if (file.empty() || line == 0) return message;
    return file + ":" + std::to_string(line) + ": " + message;
}

std::string ConfigResult::where(const std::string& key) const {
    const auto it = origins.find(key);
    if (it == origins.end()) return key;
    return key + " (set in " + it->second + ")";
}

std::string settings_markdown() {
    std::string out = "| variable | default | meaning |\n|---|---|---|\n";
    // Secrets have no default, and are never printed.
    for (const Setting& setting : k_settings) {
        const std::string_view fallback = setting.fallback;
        const bool literal = fallback.find(' ') == std::string_view::npos;
        out += "| `" + std::string(setting.key) + "` | " +
               (literal && !fallback.empty() ? "`" + std::string(fallback) + "`"
                                             : std::string(fallback)) +
               " | " + std::string(setting.description) + " |\n";
    }
    return out;
}

std::span<const Setting> settings_table() {
    return k_settings;
}

std::vector<std::string_view> config_keys() {
    std::vector<std::string_view> keys;
    for (const Setting& setting : k_settings) keys.push_back(setting.key);
    return keys;
}

std::string settings_help() {
    std::string out;
    std::string_view owner;
    for (const Setting& setting : k_settings) {
        if (setting.owner != owner) {
            owner = setting.owner;
            out += "\n" + std::string(owner) + ":\n";
        }
        out += "  " + std::string(setting.key) + "\n      " + std::string(setting.description);
        if (setting.secret) {
            out += " (secret)";
        } else if (!setting.fallback.empty()) {
            out += " (default: " + std::string(setting.fallback) + ")";
        }
        out += "\n";
    }
    return out;
}

ConfigFile parse_config_file(std::string_view text, std::string path) {
    ConfigFile file;
    file.path = std::move(path);
    int number = 0;
    std::size_t start = 0;
    while (start < text.size()) {
        const auto end = text.find('\n', start);
        const std::size_t length = end == std::string_view::npos ? end : end - start;
        const std::string_view line = text.substr(start, length);
        start = end == std::string_view::npos ? text.size() : end + 1;
        ++number;
        const std::string_view body = trim(line);
        if (body.empty() || body.front() == '#') continue;
        const auto fail = [&](std::vector<std::string> keys, std::string message) {
            file.errors.push_back(
                ConfigError{std::move(keys), file.path, number, std::move(message)});
        };
        const auto equals = body.find('=');
        if (equals == std::string_view::npos) {
            // Not echoed: a line without '=' may well be a pasted token.
            fail({}, "expected KEY=value (comments are lines starting with #)");
            continue;
        }
        const std::string key(trim(body.substr(0, equals)));
        std::string_view value = trim(body.substr(equals + 1));
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
            value.back() == value.front()) {
            value = value.substr(1, value.size() - 2);
        }
        if (!valid_key_name(key)) {
            fail({}, "`" + key.substr(0, 40) +
                         "` is not a key: write KEY=value with an upper-case key");
            continue;
        }
        if (find_setting(key) == nullptr) {
            fail({key}, "unknown key " + key + key_hint(key));
            continue;
        }
        if (const auto it = file.values.find(key); it != file.values.end()) {
            fail({key},
                 key + " is set twice (first on line " + std::to_string(it->second.line) + ")");
            continue;
        }
        file.values[key] = ConfigFile::Value{std::string(value), number};
    }
    return file;
}

ConfigFile read_config_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        ConfigFile file;
        file.path = path;
        file.errors.push_back(ConfigError{
            {}, {}, 0, "cannot read the configuration file " + path + ": " + std::strerror(errno)});
        return file;
    }
    std::ostringstream text;
    text << in.rdbuf();
    return parse_config_file(text.str(), path);
}

std::vector<std::string> Config::secrets() const {
    std::vector<std::string> out;
    for (const Setting& setting : k_settings) {
        if (setting.secret && setting.text != nullptr && !(this->*setting.text).empty()) {
            out.push_back(this->*setting.text);
        }
    }
    // The whole connection string (a secret row), and its password alone wherever libpq or
    // a person quotes the rest of it.
    if (const std::string password = database_password(database_url); !password.empty()) {
        out.push_back(password);
    }
    return out;
}

std::string Config::describe() const {
    std::string out;
    out += "database: " +
           (postgres() ? "PostgreSQL (INCIDENT_BOT_DATABASE_URL " + secret_state(database_url) + ")"
                       : db_path) +
           "\n";
    out += "listen: " + listen + "\n";
    out += "public url: " + (public_url.empty() ? std::string("not set") : public_url) + "\n";
    out += "announcement channel: #" + announce_channel + "\n";
    out += "dashboard token: " + secret_state(dashboard_token) + "\n";
    out += "slack: " + std::string(slack_enabled() ? "enabled" : "disabled") + " (bot token " +
           secret_state(slack_bot_token) + ", app token " + secret_state(slack_app_token) +
           ", signing secret " + secret_state(slack_signing_secret) + ")\n";
    out += "mattermost: " + std::string(mattermost_enabled() ? "enabled" : "disabled") +
           " (token " + secret_state(mattermost_token) + ", command token " +
           secret_state(mattermost_command_token) + ", action secret " +
           (mattermost_action_secret.empty() ? std::string("derived from the token")
                                             : std::string("set")) +
           ")\n";
    out += "webhook: " +
           (webhook_enabled()
                ? url_origin(webhook_url) + " (secret " + secret_state(webhook_secret) + ")"
                : std::string("disabled")) +
           "\n";
    out += "email: " +
           (email_enabled() ? url_origin(smtp_url) + " from " + smtp_from + " to " +
                                  std::to_string(stakeholder_emails.size()) + " stakeholder(s), " +
                                  (smtp_require_tls ? "TLS required" : "STARTTLS when offered") +
                                  ", password " + secret_state(smtp_password)
                            : std::string("disabled")) +
           "\n";
    out += "socket liveness: dead after " + std::to_string(socket_dead_after_seconds) +
           "s of silence\n";
    out += "outbox: effects refused for now retried for " + seconds_text(outbox_retry_ms) +
           ", delivered ones and event ids kept " + seconds_text(retention_ms) + "\n";
    out += "alerts: " +
           (alerts_enabled() ? std::string("/alerts/alertmanager and /alerts/grafana (token set)")
                             : std::string("Alertmanager and Grafana disabled (no token)")) +
           ", PagerDuty " +
           (pagerduty_webhook_secret.empty() ? std::string("disabled")
                                             : std::string("/alerts/pagerduty (secret set)")) +
           ", auto-resolve " + (alerts_auto_resolve ? "on" : "off") + ", " +
           std::to_string(parse_alert_rules(alert_rules).rules.size()) + " rule(s)\n";
    out +=
        "pagerduty follow-up: " +
        (pagerduty_api_enabled() ? url_origin(pagerduty_api_url) + " as " + pagerduty_from +
                                       " (token " + secret_state(pagerduty_api_token) + ")"
                                 : std::string("disabled (no INCIDENT_BOT_PAGERDUTY_API_TOKEN)")) +
        "\n";
    out +=
        "status page: /status \"" + status_title + "\", " +
        (status_components.empty() ? std::string("no components")
                                   : std::to_string(status_components.size()) + " component(s)") +
        "\n";
    out += "statuspage: " +
           (statuspage_enabled()
                ? url_origin(statuspage_api_url) + " page " + statuspage_page_id + " (key " +
                      secret_state(statuspage_api_key) + ", " +
                      std::to_string(statuspage_components.size()) + " component id(s))"
                : std::string("disabled (no INCIDENT_BOT_STATUSPAGE_PAGE_ID and _API_KEY)")) +
           "\n";
    out += "evidence files: kept up to " + std::to_string(file_max_bytes) + " bytes each\n";
    out +=
        "logs: " + log_format + (log_level.empty() ? std::string() : ", level " + log_level) + "\n";
    out += "reminders: status updates SEV1-5 ";
    for (std::size_t i = 0; i < reminders.status_update.size(); ++i) {
        out += (i ? "/" : "") + seconds_text(reminders.status_update[i]);
    }
    out += ", no commander " + seconds_text(reminders.no_commander_after) + " (repeat " +
           seconds_text(reminders.no_commander_repeat) + "), post-mortem " +
           seconds_text(reminders.postmortem_before) + " before due (repeat " +
           seconds_text(reminders.postmortem_repeat) + "), digest " +
           (reminders.digest_hour ? std::to_string(*reminders.digest_hour) + ":00 UTC"
                                  : std::string("off")) +
           "\n";
    return out;
}

}  // namespace incident

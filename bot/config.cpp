#include "bot/config.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

#include "bot/alert_rules.hpp"
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

// scheme://host[:port]: what may be shown of a URL whose path or query could hold a token.
std::string origin_of(const std::string& url) {
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string::npos) return "(invalid)";
    const auto end = url.find_first_of("/?#", scheme_end + 3);
    std::string origin = url.substr(0, end);
    const auto at = origin.rfind('@');
    if (at != std::string::npos) origin.erase(scheme_end + 3, at - scheme_end - 2);
    return origin;
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

void load_reminders(const EnvLookup& env, ReminderPolicy& policy,
                    std::vector<std::string>& errors) {
    const auto seconds = [&](const std::string& name, Timestamp& field, bool may_be_off) {
        const auto raw = env(name);
        if (!raw) return;
        const std::string value = to_lower(trim(*raw));
        if (value.empty()) return;
        const auto parsed = value == "off" ? std::optional<std::int64_t>(0) : parse_seconds(value);
        if (!parsed || (!may_be_off && *parsed == 0)) {
            errors.push_back(name + " must be a number of seconds up to " +
                             std::to_string(k_max_seconds) +
                             (may_be_off ? " (0 or off turns it off)" : ", at least 1") +
                             ", not `" + std::string(trim(*raw)) + "`.");
            return;
        }
        field = *parsed * k_second_ms;
    };
    for (int sev = 1; sev <= 5; ++sev) {
        seconds("INCIDENT_BOT_REMIND_STATUS_SEV" + std::to_string(sev) + "_SECONDS",
                policy.status_update[sev - 1], true);
    }
    seconds("INCIDENT_BOT_REMIND_NO_COMMANDER_SECONDS", policy.no_commander_after, true);
    seconds("INCIDENT_BOT_REMIND_NO_COMMANDER_REPEAT_SECONDS", policy.no_commander_repeat, true);
    seconds("INCIDENT_BOT_REMIND_POSTMORTEM_BEFORE_SECONDS", policy.postmortem_before, true);
    seconds("INCIDENT_BOT_REMIND_POSTMORTEM_REPEAT_SECONDS", policy.postmortem_repeat, true);
    seconds("INCIDENT_BOT_REMIND_TICK_SECONDS", policy.tick, false);
    if (const auto raw = env("INCIDENT_BOT_REMIND_DIGEST_HOUR")) {
        const std::string value = to_lower(trim(*raw));
        const auto hour = parse_seconds(value);
        if (value == "off") {
            policy.digest_hour.reset();
        } else if (hour && *hour <= 23) {
            policy.digest_hour = static_cast<int>(*hour);
        } else if (!value.empty()) {
            errors.push_back(
                "INCIDENT_BOT_REMIND_DIGEST_HOUR must be an hour of the day in UTC "
                "(0 to 23) or off, not `" +
                std::string(trim(*raw)) + "`.");
        }
    }
}

void load_notify(const EnvLookup& env, Config& c, std::vector<std::string>& errors) {
    std::string starttls, emails;
    const auto read = [&](const char* name, std::string& field) {
        if (auto value = env(name)) field = std::string(trim(*value));
    };
    read("INCIDENT_BOT_WEBHOOK_URL", c.webhook_url);
    read("INCIDENT_BOT_WEBHOOK_SECRET", c.webhook_secret);
    read("INCIDENT_BOT_SMTP_URL", c.smtp_url);
    read("INCIDENT_BOT_SMTP_USER", c.smtp_user);
    read("INCIDENT_BOT_SMTP_PASSWORD", c.smtp_password);
    read("INCIDENT_BOT_SMTP_FROM", c.smtp_from);
    read("INCIDENT_BOT_SMTP_STARTTLS", starttls);
    read("INCIDENT_BOT_STAKEHOLDER_EMAILS", emails);

    if (!c.webhook_url.empty() && !is_http_url(c.webhook_url)) {
        errors.push_back("INCIDENT_BOT_WEBHOOK_URL must start with http:// or https://.");
    }
    if (!c.webhook_url.empty() && c.webhook_secret.empty()) {
        errors.push_back(
            "INCIDENT_BOT_WEBHOOK_URL is set but INCIDENT_BOT_WEBHOOK_SECRET is "
            "not: receivers need it to verify the X-Incident-Bot-Signature header.");
    }
    if (c.webhook_url.empty() && !c.webhook_secret.empty()) {
        errors.push_back(
            "INCIDENT_BOT_WEBHOOK_SECRET is set but INCIDENT_BOT_WEBHOOK_URL is "
            "not: say where to send the webhook.");
    }

    c.stakeholder_emails = split_list(emails);
    for (const auto& address : c.stakeholder_emails) {
        if (!valid_address(address)) {
            errors.push_back("INCIDENT_BOT_STAKEHOLDER_EMAILS: `" + address +
                             "` is not an email address (write a@example.com, comma-separated).");
        }
    }
    const std::string lower_starttls = to_lower(starttls);
    if (!lower_starttls.empty() && lower_starttls != "try" && lower_starttls != "required") {
        errors.push_back("INCIDENT_BOT_SMTP_STARTTLS must be try or required, not `" + starttls +
                         "`.");
    }
    c.smtp_require_tls =
        lower_starttls == "required" || (lower_starttls.empty() && !c.smtp_user.empty());

    if (c.smtp_url.empty()) {
        if (!c.stakeholder_emails.empty() || !c.smtp_from.empty() || !c.smtp_user.empty()) {
            errors.push_back(
                "INCIDENT_BOT_SMTP_URL is not set, so no email can be sent: set it "
                "(smtp://host:587 or smtps://host:465) or unset the other "
                "INCIDENT_BOT_SMTP_* and INCIDENT_BOT_STAKEHOLDER_EMAILS.");
        }
        return;
    }
    const bool smtp = c.smtp_url.starts_with("smtp://");
    const bool smtps = c.smtp_url.starts_with("smtps://");
    const std::size_t host_start = smtp ? 7 : 8;
    const std::string authority =
        smtp || smtps ? c.smtp_url.substr(host_start,
                                          c.smtp_url.find_first_of("/?#", host_start) - host_start)
                      : std::string();
    if (!smtp && !smtps) {
        errors.push_back("INCIDENT_BOT_SMTP_URL must be smtp://host:port or smtps://host:port.");
    } else if (authority.find('@') != std::string::npos) {
        // Never echo it: the URL holds a password.
        errors.push_back(
            "INCIDENT_BOT_SMTP_URL must not hold credentials: put them in "
            "INCIDENT_BOT_SMTP_USER and INCIDENT_BOT_SMTP_PASSWORD.");
    } else if (authority.empty() || authority.starts_with(':')) {
        errors.push_back("INCIDENT_BOT_SMTP_URL has no host: write smtp://host:port.");
    }
    if (c.smtp_from.empty()) {
        errors.push_back(
            "INCIDENT_BOT_SMTP_URL is set but INCIDENT_BOT_SMTP_FROM is not: give "
            "the sender address, e.g. incident-bot@example.com.");
    } else if (!valid_from(c.smtp_from)) {
        errors.push_back(
            "INCIDENT_BOT_SMTP_FROM must be an address (bot@example.com) or "
            "Name <bot@example.com>.");
    }
    if (c.stakeholder_emails.empty()) {
        errors.push_back(
            "INCIDENT_BOT_SMTP_URL is set but INCIDENT_BOT_STAKEHOLDER_EMAILS is "
            "empty: list who gets the emails, comma-separated.");
    }
    if (!c.smtp_user.empty() && c.smtp_password.empty()) {
        errors.push_back("INCIDENT_BOT_SMTP_USER is set but INCIDENT_BOT_SMTP_PASSWORD is not.");
    }
    if (c.smtp_user.empty() && !c.smtp_password.empty()) {
        errors.push_back("INCIDENT_BOT_SMTP_PASSWORD is set but INCIDENT_BOT_SMTP_USER is not.");
    }
}

std::optional<bool> parse_bool(std::string_view text) {
    const std::string value = to_lower(trim(text));
    if (value == "true" || value == "1" || value == "yes" || value == "on") return true;
    if (value == "false" || value == "0" || value == "no" || value == "off") return false;
    return std::nullopt;
}

void load_alerts(const EnvLookup& env, Config& c, std::vector<std::string>& errors) {
    if (const auto value = env("INCIDENT_BOT_ALERTS_TOKEN")) c.alerts_token = trim(*value);
    if (const auto value = env("INCIDENT_BOT_PAGERDUTY_WEBHOOK_SECRET")) {
        c.pagerduty_webhook_secret = trim(*value);
    }
    if (const auto value = env("INCIDENT_BOT_ALERT_RULES")) {
        c.alert_rules = trim(*value);
        if (const AlertRulesParse rules = parse_alert_rules(c.alert_rules); !rules.error.empty()) {
            errors.push_back("INCIDENT_BOT_ALERT_RULES " + rules.error);
        }
    }
    if (const auto value = env("INCIDENT_BOT_PAGERDUTY_API_TOKEN")) {
        c.pagerduty_api_token = trim(*value);
    }
    if (const auto value = env("INCIDENT_BOT_PAGERDUTY_FROM")) c.pagerduty_from = trim(*value);
    if (const auto value = env("INCIDENT_BOT_PAGERDUTY_API_URL"); value && !trim(*value).empty()) {
        c.pagerduty_api_url = trim(*value);
    }
    if (c.pagerduty_api_enabled() && c.pagerduty_from.find('@') == std::string::npos) {
        errors.push_back(
            "INCIDENT_BOT_PAGERDUTY_FROM must be the email address of a PagerDuty user: "
            "PagerDuty's REST API records changes as made by that user.");
    }
    if (!c.pagerduty_api_url.starts_with("https://") &&
        !c.pagerduty_api_url.starts_with("http://")) {
        errors.push_back("INCIDENT_BOT_PAGERDUTY_API_URL must be an http(s):// URL.");
    }
    // Never echoed: a pasted token must not reach a log line.
    if (c.alerts_token.find_first_of(" \t") != std::string::npos) {
        errors.push_back(
            "INCIDENT_BOT_ALERTS_TOKEN must not contain spaces: it is sent as "
            "\"Authorization: Bearer <token>\".");
    }
    if (const auto raw = env("INCIDENT_BOT_ALERTS_AUTO_RESOLVE"); raw && !trim(*raw).empty()) {
        if (const auto value = parse_bool(*raw)) {
            c.alerts_auto_resolve = *value;
        } else {
            errors.push_back("INCIDENT_BOT_ALERTS_AUTO_RESOLVE must be true or false, not `" +
                             std::string(trim(*raw)).substr(0, 40) + "`.");
        }
    }
}

// Bytes, or with a unit (KB, MB, GB: powers of 1024); at least 1 byte, at most 2 GB, since the
// whole file is held in memory while it is stored.
void load_evidence(const EnvLookup& env, Config& c, std::vector<std::string>& errors) {
    const auto raw = env("INCIDENT_BOT_FILE_MAX_BYTES");
    if (!raw || trim(*raw).empty()) return;
    std::string value = to_lower(trim(*raw));
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
        errors.push_back(
            "INCIDENT_BOT_FILE_MAX_BYTES must be a size from 1 byte to 2 GB (e.g. "
            "26214400 or 25MB), not `" +
            std::string(trim(*raw)).substr(0, 40) + "`.");
        return;
    }
    c.file_max_bytes = number * unit;
}

void load_status_page(const EnvLookup& env, Config& c, std::vector<std::string>& errors) {
    if (const auto raw = env("INCIDENT_BOT_STATUS_TITLE"); raw && !trim(*raw).empty()) {
        c.status_title = trim(*raw);
        if (c.status_title.size() > 120 || !is_valid_utf8(c.status_title)) {
            errors.push_back("INCIDENT_BOT_STATUS_TITLE must be UTF-8 text of at most 120 bytes.");
        }
    }
    if (const auto raw = env("INCIDENT_BOT_STATUS_COMPONENTS")) {
        for (const std::string& name : split_list(*raw)) {
            const bool repeated = std::any_of(
                c.status_components.begin(), c.status_components.end(),
                [&](const std::string& known) { return to_lower(known) == to_lower(name); });
            if (repeated) {
                errors.push_back("INCIDENT_BOT_STATUS_COMPONENTS names `" + name.substr(0, 60) +
                                 "` twice.");
            } else if (name.size() > 60 || !is_valid_utf8(name)) {
                errors.push_back(
                    "INCIDENT_BOT_STATUS_COMPONENTS: each component is UTF-8 text of at most 60 "
                    "bytes.");
            } else {
                c.status_components.push_back(name);
            }
        }
    }
}

std::string seconds_text(Timestamp ms) {
    return ms <= 0 ? std::string("off") : std::to_string(ms / k_second_ms) + "s";
}

void load_logging(const EnvLookup& env, Config& c, std::vector<std::string>& errors) {
    if (const auto raw = env("INCIDENT_BOT_LOG_FORMAT")) {
        const std::string value = to_lower(trim(*raw));
        if (value == "text" || value == "json") {
            c.log_format = value;
        } else if (!value.empty()) {
            errors.push_back("INCIDENT_BOT_LOG_FORMAT must be text or json, not `" +
                             std::string(trim(*raw)) + "`.");
        }
    }
    if (const auto raw = env("INCIDENT_BOT_LOG_LEVEL")) {
        const std::string value = to_lower(trim(*raw));
        constexpr std::array<std::string_view, 7> k_levels{"trace", "debug",    "info", "warn",
                                                           "error", "critical", "off"};
        if (std::find(k_levels.begin(), k_levels.end(), value) != k_levels.end()) {
            c.log_level = value;
        } else if (!value.empty()) {
            errors.push_back(
                "INCIDENT_BOT_LOG_LEVEL must be one of trace, debug, info, warn, "
                "error, critical, off, not `" +
                std::string(trim(*raw)) + "`.");
        }
    }
}

constexpr std::string_view k_keys[] = {
    "INCIDENT_BOT_DB",
    "INCIDENT_BOT_DATABASE_URL",
    "INCIDENT_BOT_LISTEN",
    "INCIDENT_BOT_PUBLIC_URL",
    "INCIDENT_BOT_ANNOUNCE_CHANNEL",
    "INCIDENT_BOT_CA_FILE",
    "INCIDENT_BOT_DASHBOARD_TOKEN",
    "INCIDENT_BOT_LOG_FORMAT",
    "INCIDENT_BOT_LOG_LEVEL",
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_API_URL",
    "MATTERMOST_URL",
    "MATTERMOST_TOKEN",
    "MATTERMOST_TEAM",
    "MATTERMOST_COMMAND_TOKEN",
    "MATTERMOST_ACTION_SECRET",
    "INCIDENT_BOT_SOCKET_DEAD_AFTER_SECONDS",
    "INCIDENT_BOT_WEBHOOK_URL",
    "INCIDENT_BOT_WEBHOOK_SECRET",
    "INCIDENT_BOT_SMTP_URL",
    "INCIDENT_BOT_SMTP_USER",
    "INCIDENT_BOT_SMTP_PASSWORD",
    "INCIDENT_BOT_SMTP_FROM",
    "INCIDENT_BOT_SMTP_STARTTLS",
    "INCIDENT_BOT_STAKEHOLDER_EMAILS",
    "INCIDENT_BOT_ALERTS_TOKEN",
    "INCIDENT_BOT_ALERTS_AUTO_RESOLVE",
    "INCIDENT_BOT_ALERT_RULES",
    "INCIDENT_BOT_PAGERDUTY_WEBHOOK_SECRET",
    "INCIDENT_BOT_PAGERDUTY_API_TOKEN",
    "INCIDENT_BOT_PAGERDUTY_FROM",
    "INCIDENT_BOT_PAGERDUTY_API_URL",
    "INCIDENT_BOT_STATUS_TITLE",
    "INCIDENT_BOT_STATUS_COMPONENTS",
    "INCIDENT_BOT_FILE_MAX_BYTES",
    "INCIDENT_BOT_REMIND_STATUS_SEV1_SECONDS",
    "INCIDENT_BOT_REMIND_STATUS_SEV2_SECONDS",
    "INCIDENT_BOT_REMIND_STATUS_SEV3_SECONDS",
    "INCIDENT_BOT_REMIND_STATUS_SEV4_SECONDS",
    "INCIDENT_BOT_REMIND_STATUS_SEV5_SECONDS",
    "INCIDENT_BOT_REMIND_NO_COMMANDER_SECONDS",
    "INCIDENT_BOT_REMIND_NO_COMMANDER_REPEAT_SECONDS",
    "INCIDENT_BOT_REMIND_POSTMORTEM_BEFORE_SECONDS",
    "INCIDENT_BOT_REMIND_POSTMORTEM_REPEAT_SECONDS",
    "INCIDENT_BOT_REMIND_TICK_SECONDS",
    "INCIDENT_BOT_REMIND_DIGEST_HOUR",
};

bool valid_key_name(std::string_view key) {
    if (key.empty()) return false;
    return std::all_of(key.begin(), key.end(), [](char ch) {
        return (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
    });
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] =
                std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

// A likely typo's intended key, or empty.
// " (did you mean X?)". A key of a known family (INCIDENT_BOT_REMIND_...) is matched within
// that family only: a guess from another family only misleads.
std::string key_hint(std::string_view key) {
    const auto last = key.rfind('_');
    const std::string_view family = last == std::string_view::npos ? "" : key.substr(0, last + 1);
    const bool family_known = !family.empty() && std::any_of(std::begin(k_keys), std::end(k_keys),
                                                             [&](std::string_view known) {
                                                                 return known.starts_with(family);
                                                             });
    std::string_view best;
    // A forgotten word (INCIDENT_BOT_DIGEST_HOUR) is a longer distance than a typo.
    std::size_t best_distance = std::max<std::size_t>(4, key.size() / 3 + 1);
    for (const std::string_view known : k_keys) {
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

// The file line of the first key an error names, when that key's value came from the file.
std::optional<int> file_line_of(const std::string& error, const ConfigFile& file,
                                const std::map<std::string, std::string>& origins) {
    std::size_t best_at = std::string::npos;
    std::optional<int> line;
    for (const auto& [key, value] : file.values) {
        const auto origin = origins.find(key);
        if (origin == origins.end() || origin->second == "the environment") continue;
        for (auto at = error.find(key); at != std::string::npos; at = error.find(key, at + 1)) {
            const std::size_t after = at + key.size();
            const bool whole = (at == 0 || !valid_key_name(error.substr(at - 1, 1))) &&
                               (after >= error.size() || !valid_key_name(error.substr(after, 1)));
            if (!whole) continue;
            if (at < best_at) {
                best_at = at;
                line = value.line;
            }
            break;
        }
    }
    return line;
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
    const auto read = [&](const char* name, std::string& field) {
        if (auto value = env(name)) field = std::string(trim(*value));
    };
    read("INCIDENT_BOT_DB", c.db_path);
    read("INCIDENT_BOT_DATABASE_URL", c.database_url);
    read("INCIDENT_BOT_LISTEN", c.listen);
    read("INCIDENT_BOT_PUBLIC_URL", c.public_url);
    read("INCIDENT_BOT_ANNOUNCE_CHANNEL", c.announce_channel);
    read("INCIDENT_BOT_CA_FILE", c.ca_file);
    read("INCIDENT_BOT_DASHBOARD_TOKEN", c.dashboard_token);
    read("SLACK_BOT_TOKEN", c.slack_bot_token);
    read("SLACK_APP_TOKEN", c.slack_app_token);
    read("SLACK_SIGNING_SECRET", c.slack_signing_secret);
    read("SLACK_API_URL", c.slack_api_url);
    read("MATTERMOST_URL", c.mattermost_url);
    read("MATTERMOST_TOKEN", c.mattermost_token);
    read("MATTERMOST_TEAM", c.mattermost_team);
    read("MATTERMOST_COMMAND_TOKEN", c.mattermost_command_token);
    read("MATTERMOST_ACTION_SECRET", c.mattermost_action_secret);

    auto& errors = result.errors;
    if (const auto raw = env("INCIDENT_BOT_SOCKET_DEAD_AFTER_SECONDS")) {
        const std::string value(trim(*raw));
        const auto seconds = parse_seconds(value);
        if (seconds && *seconds >= 2 && *seconds <= 600) {
            c.socket_dead_after_seconds = static_cast<int>(*seconds);
        } else if (!value.empty()) {
            errors.push_back(
                "INCIDENT_BOT_SOCKET_DEAD_AFTER_SECONDS must be a number of seconds from 2 to "
                "600, not `" +
                value + "`.");
        }
    }
    if (c.db_path.empty()) errors.push_back("INCIDENT_BOT_DB is empty: give a file path.");
    if (!valid_listen(c.listen)) {
        errors.push_back("INCIDENT_BOT_LISTEN must be host:port, e.g. 127.0.0.1:8080.");
    }
    if (!c.public_url.empty() && !is_http_url(c.public_url)) {
        errors.push_back("INCIDENT_BOT_PUBLIC_URL must start with http:// or https://.");
    }
    if (c.announce_channel.starts_with('#')) c.announce_channel.erase(0, 1);
    if (c.announce_channel.empty()) {
        errors.push_back("INCIDENT_BOT_ANNOUNCE_CHANNEL is empty: name a channel.");
    }
    // Never echo a token back: a wrong one pasted into an error would leak it into logs.
    if (!c.slack_bot_token.empty() && !c.slack_bot_token.starts_with("xoxb-")) {
        errors.push_back("SLACK_BOT_TOKEN must be a bot token starting with xoxb-.");
    }
    if (!c.slack_app_token.empty() && !c.slack_app_token.starts_with("xapp-")) {
        errors.push_back("SLACK_APP_TOKEN must be an app-level token starting with xapp-.");
    }
    if (c.slack_enabled() && c.slack_app_token.empty() && c.slack_signing_secret.empty()) {
        errors.push_back(
            "SLACK_BOT_TOKEN is set but Slack cannot reach the bot: set SLACK_APP_TOKEN "
            "(Socket Mode) or SLACK_SIGNING_SECRET (HTTP Events API).");
    }
    if (!is_http_url(c.slack_api_url)) {
        errors.push_back("SLACK_API_URL must start with http:// or https://.");
    } else if (!c.slack_api_url.ends_with('/')) {
        c.slack_api_url += '/';
    }
    if (!c.mattermost_url.empty() && !is_http_url(c.mattermost_url)) {
        errors.push_back("MATTERMOST_URL must start with http:// or https://.");
    }
    if (c.mattermost_enabled() && c.mattermost_token.empty()) {
        errors.push_back(
            "MATTERMOST_URL is set but MATTERMOST_TOKEN is not: create a bot "
            "account and give its access token.");
    }
    if (c.mattermost_enabled() && c.mattermost_team.empty()) {
        errors.push_back(
            "MATTERMOST_URL is set but MATTERMOST_TEAM is not: give the team "
            "name or id.");
    }
    load_notify(env, c, errors);
    load_alerts(env, c, errors);
    load_status_page(env, c, errors);
    load_evidence(env, c, errors);
    load_reminders(env, c.reminders, errors);
    load_logging(env, c, errors);
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
    for (auto& error : result.errors) {
        if (const auto line = file_line_of(error, file, result.origins)) {
            error = file.path + ":" + std::to_string(*line) + ": " + error;
        }
    }
    result.errors.insert(result.errors.begin(), file.errors.begin(), file.errors.end());
    return result;
}

std::string ConfigResult::where(const std::string& key) const {
    const auto it = origins.find(key);
    if (it == origins.end()) return key;
    return key + " (set in " + it->second + ")";
}

std::span<const std::string_view> config_keys() {
    return k_keys;
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
        const std::string where = file.path + ":" + std::to_string(number) + ": ";
        const auto equals = body.find('=');
        if (equals == std::string_view::npos) {
            // Not echoed: a line without '=' may well be a pasted token.
            file.errors.push_back(where +
                                  "expected KEY=value (comments are lines starting "
                                  "with #)");
            continue;
        }
        const std::string key(trim(body.substr(0, equals)));
        std::string_view value = trim(body.substr(equals + 1));
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
            value.back() == value.front()) {
            value = value.substr(1, value.size() - 2);
        }
        if (!valid_key_name(key)) {
            file.errors.push_back(where + "`" + key.substr(0, 40) +
                                  "` is not a key: write KEY=value with an upper-case key");
            continue;
        }
        if (std::find(std::begin(k_keys), std::end(k_keys), key) == std::end(k_keys)) {
            file.errors.push_back(where + "unknown key " + key + key_hint(key));
            continue;
        }
        if (const auto it = file.values.find(key); it != file.values.end()) {
            file.errors.push_back(where + key + " is set twice (first on line " +
                                  std::to_string(it->second.line) + ")");
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
        file.errors.push_back("cannot read the configuration file " + path + ": " +
                              std::strerror(errno));
        return file;
    }
    std::ostringstream text;
    text << in.rdbuf();
    return parse_config_file(text.str(), path);
}

std::vector<std::string> Config::secrets() const {
    std::vector<std::string> out;
    for (const std::string* s :
         {&dashboard_token, &slack_bot_token, &slack_app_token, &slack_signing_secret,
          &mattermost_token, &mattermost_command_token, &mattermost_action_secret, &webhook_secret,
          &smtp_password, &alerts_token, &pagerduty_webhook_secret, &pagerduty_api_token}) {
        if (!s->empty()) out.push_back(*s);
    }
    // The whole connection string, and its password alone wherever libpq or a person
    // quotes the rest of it.
    if (!database_url.empty()) out.push_back(database_url);
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
                ? origin_of(webhook_url) + " (secret " + secret_state(webhook_secret) + ")"
                : std::string("disabled")) +
           "\n";
    out += "email: " +
           (email_enabled() ? origin_of(smtp_url) + " from " + smtp_from + " to " +
                                  std::to_string(stakeholder_emails.size()) + " stakeholder(s), " +
                                  (smtp_require_tls ? "TLS required" : "STARTTLS when offered") +
                                  ", password " + secret_state(smtp_password)
                            : std::string("disabled")) +
           "\n";
    out += "socket liveness: dead after " + std::to_string(socket_dead_after_seconds) +
           "s of silence\n";
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
        (pagerduty_api_enabled() ? origin_of(pagerduty_api_url) + " as " + pagerduty_from +
                                       " (token " + secret_state(pagerduty_api_token) + ")"
                                 : std::string("disabled (no INCIDENT_BOT_PAGERDUTY_API_TOKEN)")) +
        "\n";
    out +=
        "status page: /status \"" + status_title + "\", " +
        (status_components.empty() ? std::string("no components")
                                   : std::to_string(status_components.size()) + " component(s)") +
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

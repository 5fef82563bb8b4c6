#include "bot/config.hpp"

#include <cstdlib>

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

std::string secret_state(const std::string& value) { return value.empty() ? "not set" : "set"; }

}  // namespace

EnvLookup process_environment() {
    return [](const std::string& name) -> std::optional<std::string> {
        const char* value = std::getenv(name.c_str());
        if (value == nullptr) return std::nullopt;
        return std::string(value);
    };
}

ConfigResult load_config(const EnvLookup& env) {
    ConfigResult result;
    Config& c = result.config;
    const auto read = [&](const char* name, std::string& field) {
        if (auto value = env(name)) field = std::string(trim(*value));
    };
    read("INCIDENT_BOT_DB", c.db_path);
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

    auto& errors = result.errors;
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
        errors.push_back("MATTERMOST_URL is set but MATTERMOST_TOKEN is not: create a bot "
                         "account and give its access token.");
    }
    if (c.mattermost_enabled() && c.mattermost_team.empty()) {
        errors.push_back("MATTERMOST_URL is set but MATTERMOST_TEAM is not: give the team "
                         "name or id.");
    }
    return result;
}

std::string Config::describe() const {
    std::string out;
    out += "database: " + db_path + "\n";
    out += "listen: " + listen + "\n";
    out += "public url: " + (public_url.empty() ? std::string("not set") : public_url) + "\n";
    out += "announcement channel: #" + announce_channel + "\n";
    out += "dashboard token: " + secret_state(dashboard_token) + "\n";
    out += "slack: " + std::string(slack_enabled() ? "enabled" : "disabled") +
           " (bot token " + secret_state(slack_bot_token) + ", app token " +
           secret_state(slack_app_token) + ", signing secret " +
           secret_state(slack_signing_secret) + ")\n";
    out += "mattermost: " + std::string(mattermost_enabled() ? "enabled" : "disabled") +
           " (token " + secret_state(mattermost_token) + ", command token " +
           secret_state(mattermost_command_token) + ")\n";
    return out;
}

}  // namespace incident

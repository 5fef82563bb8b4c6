#include "adapters/ops/doctor.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "adapters/mattermost/decode.hpp"
#include "adapters/mattermost/rest_api.hpp"
#include "adapters/net/http_client.hpp"
#include "adapters/net/http_server.hpp"
#include "adapters/notify/pagerduty_sink.hpp"
#include "adapters/notify/statuspage_sink.hpp"
#include "adapters/slack/web_api.hpp"
#include "bot/text.hpp"
#include "storage/maintenance.hpp"
#include "storage/postgres_store.hpp"

namespace incident::ops {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

// Network arguments are named locals: GCC 12 mishandles braced initializer lists and
// conditional temporaries inside co_await expressions.

constexpr SlackScope k_slack_scopes[] = {
    {"commands", "the /incident command"},
    {"chat:write", "replies, summaries and announcements"},
    {"chat:write.public", "announcing without joining the channel first"},
    {"channels:manage", "creating incident channels, inviting, setting topics"},
    {"channels:read", "finding the announcement channel"},
    {"channels:join", "joining the announcement channel"},
    {"channels:history", "capturing the messages of incident channels"},
    {"groups:history", "finding a post whose answer was lost in a private channel"},
    {"reactions:read", "pushpin and memo reactions"},
    {"users:read", "names instead of ids in timelines"},
    {"im:write", "direct messages to subscribers"},
    {"im:history", "finding a direct message whose answer was lost, so it is not sent twice"},
    {"pins:write", "pinning the live summary in incident channels"},
    {"files:read", "keeping files shared in incident channels as evidence"},
};

constexpr std::uintmax_t k_mib = 1024 * 1024;
constexpr std::uintmax_t k_disk_error = 50 * k_mib;
constexpr std::uintmax_t k_disk_warning = 500 * k_mib;

Check ok(std::string name, std::string message) {
    return Check{Level::ok, std::move(name), std::move(message), {}};
}
Check warning(std::string name, std::string message, std::string fix) {
    return Check{Level::warning, std::move(name), std::move(message), std::move(fix)};
}
Check error(std::string name, std::string message, std::string fix) {
    return Check{Level::error, std::move(name), std::move(message), std::move(fix)};
}

std::string megabytes(std::uintmax_t bytes) {
    char text[32];
    if (bytes >= 1024 * k_mib) {
        std::snprintf(text, sizeof text, "%.1f GB", static_cast<double>(bytes) / (1024.0 * k_mib));
    } else {
        std::snprintf(text, sizeof text, "%.1f MB", static_cast<double>(bytes) / k_mib);
    }
    return text;
}

bool is_loopback(const std::string& listen) {
    const std::string host = listen.substr(0, listen.rfind(':'));
    return host == "localhost" || host.starts_with("127.") || host == "[::1]" || host == "::1";
}

std::string list_text(const std::vector<std::string>& items) {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out += i + 1 == items.size() ? " and " : ", ";
        out += items[i];
    }
    return out;
}

// False when a configuration error names a key starting with `prefix`: checking what it
// points at would only repeat that error.
bool settings_ok(const ConfigResult& loaded, std::string_view prefix) {
    return std::none_of(loaded.errors.begin(), loaded.errors.end(), [&](const ConfigError& e) {
        return std::any_of(e.keys.begin(), e.keys.end(),
                           [&](const std::string& key) { return key.starts_with(prefix); });
    });
}

struct Context {
    asio::any_io_executor executor;
    net::TlsContext tls;
    const ConfigResult& loaded;
    const DoctorOptions& options;
    net::HttpClient http;
};

// ---- Slack ----

bool rejected_token(const std::string& e) {
    return e == "invalid_auth" || e == "not_authed" || e == "account_inactive" ||
           e == "token_revoked" || e == "token_expired";
}

Check unreachable_slack(const std::string& name, const slack::ApiResult& r, const Config& c) {
    return error(name, "cannot reach Slack at " + url_origin(c.slack_api_url) + ": " + r.error,
                 "check DNS, proxy and firewall rules for " + url_origin(c.slack_api_url) +
                     ", SLACK_API_URL, and INCIDENT_BOT_CA_FILE when TLS is intercepted");
}

Check check_scopes(const slack::ApiResult& auth) {
    const auto header = auth.headers.get("x-oauth-scopes");
    if (!header) {
        return warning("slack.scopes",
                       "Slack did not report the token's scopes (no x-oauth-scopes header)",
                       "compare OAuth & Permissions > Bot Token Scopes with "
                       "deploy/slack-app-manifest.yml by hand");
    }
    std::string list = *header;
    std::replace(list.begin(), list.end(), ',', ' ');
    std::set<std::string, std::less<>> granted;
    for (const auto& scope : split_words(list)) granted.emplace(scope);
    std::vector<std::string> missing;
    for (const auto& scope : k_slack_scopes) {
        if (!granted.contains(scope.name)) {
            missing.push_back(std::string(scope.name) + " (" + std::string(scope.why) + ")");
        }
    }
    if (missing.empty()) {
        return ok("slack.scopes", "the bot token has all " +
                                      std::to_string(std::size(k_slack_scopes)) +
                                      " scopes the bot needs");
    }
    return error("slack.scopes", "the bot token lacks " + list_text(missing),
                 "add the missing scopes under OAuth & Permissions > Bot Token Scopes "
                 "(deploy/slack-app-manifest.yml lists them all), reinstall the app to the "
                 "workspace, and put the new bot token in SLACK_BOT_TOKEN");
}

bool looks_like_slack_channel_id(const std::string& name) {
    if (name.size() < 9 || (name[0] != 'C' && name[0] != 'G')) return false;
    return std::all_of(name.begin(), name.end(), [](char ch) {
        return (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
    });
}

asio::awaitable<Check> check_slack_channel(slack::WebApi& api, const Config& c) {
    const std::string& name = c.announce_channel;
    const std::string create_fix =
        "create the public channel #" + name +
        " in Slack, or set INCIDENT_BOT_ANNOUNCE_CHANNEL to an existing public channel (the "
        "bot also tries to create it at the first announcement, which needs channels:manage)";
    if (looks_like_slack_channel_id(name)) {
        net::FormFields args{{"channel", name}};
        const slack::ApiResult r = co_await api.call_form("conversations.info", std::move(args));
        if (r.ok) co_return ok("slack.announce_channel", "channel " + name + " exists");
        co_return error("slack.announce_channel",
                        "the announcement channel " + name + " cannot be read: " + r.error,
                        "check the channel id in INCIDENT_BOT_ANNOUNCE_CHANNEL and invite the "
                        "bot to the channel if it is private");
    }
    std::string cursor;
    for (int page = 0; page < 50; ++page) {
        net::FormFields args{
            {"types", "public_channel"}, {"exclude_archived", "true"}, {"limit", "200"}};
        if (!cursor.empty()) args.emplace_back("cursor", cursor);
        const slack::ApiResult r = co_await api.call_form("conversations.list", std::move(args));
        if (!r.ok) {
            std::string fix = "see https://api.slack.com/methods/conversations.list";
            if (r.error == "missing_scope") {
                fix =
                    "add the channels:read scope under OAuth & Permissions and reinstall "
                    "the app";
            }
            co_return error("slack.announce_channel",
                            "cannot list the channels to find #" + name + ": " + r.error, fix);
        }
        for (const auto& channel : r.body.value("channels", json::array())) {
            if (channel.value("name", std::string()) != name) continue;
            const std::string id = channel.value("id", std::string());
            std::string membership = "; the bot joins it at the first announcement";
            if (channel.value("is_member", false)) membership = "; the bot is a member";
            Check found =
                ok("slack.announce_channel", "#" + name + " exists (" + id + ")" + membership);
            co_return found;
        }
        cursor =
            r.body.value("response_metadata", json::object()).value("next_cursor", std::string());
        if (cursor.empty()) break;
    }
    co_return error(
        "slack.announce_channel",
        "the announcement channel #" + name + " does not exist (or is archived or private)",
        create_fix);
}

asio::awaitable<void> check_slack(Context& ctx, std::vector<Check>& out) {
    const Config& c = ctx.loaded.config;
    slack::WebApi api(ctx.executor, ctx.http, c.slack_api_url, c.slack_bot_token);
    api.set_retry_policy(1, std::chrono::milliseconds(100));

    const slack::ApiResult auth = co_await api.call_form("auth.test", net::FormFields());
    if (auth.status == 0) {
        out.push_back(unreachable_slack("slack.auth", auth, c));
        co_return;
    }
    if (!auth.ok) {
        if (rejected_token(auth.error)) {
            out.push_back(error("slack.auth", "Slack rejected SLACK_BOT_TOKEN (" + auth.error + ")",
                                "copy the Bot User OAuth Token (xoxb-...) from the app's OAuth & "
                                "Permissions page into SLACK_BOT_TOKEN; reinstall the app if "
                                "the token was revoked"));
        } else {
            out.push_back(error("slack.auth", "auth.test failed: " + auth.error,
                                "see https://api.slack.com/methods/auth.test"));
        }
        co_return;
    }
    out.push_back(ok("slack.auth", "bot token accepted: @" +
                                       auth.body.value("user", std::string()) + " (" +
                                       auth.body.value("user_id", std::string()) +
                                       ") in workspace " + auth.body.value("team", std::string())));
    out.push_back(check_scopes(auth));

    // apps.connections.open is rate limited hard (tier 1): inside the bot, the Socket Mode
    // connection it opens itself is the proof, and /healthz shows it.
    if (!c.slack_app_token.empty() && !ctx.options.inside_bot) {
        const slack::ApiResult open =
            co_await api.call_form("apps.connections.open", net::FormFields(), c.slack_app_token);
        const std::string token_fix =
            "generate an app-level token with the connections:write scope under Basic "
            "Information > App-Level Tokens and put it (xapp-...) in SLACK_APP_TOKEN";
        if (open.status == 0) {
            out.push_back(unreachable_slack("slack.socket_mode", open, c));
        } else if (open.ok) {
            out.push_back(ok("slack.socket_mode",
                             "app token accepted: Socket Mode connections can be opened"));
        } else if (rejected_token(open.error)) {
            out.push_back(error("slack.socket_mode",
                                "Slack rejected SLACK_APP_TOKEN (" + open.error + ")", token_fix));
        } else if (open.error == "not_allowed_token_type" || open.error == "missing_scope") {
            out.push_back(
                error("slack.socket_mode",
                      "SLACK_APP_TOKEN cannot open Socket Mode connections (" + open.error + ")",
                      token_fix));
        } else {
            out.push_back(error("slack.socket_mode", "apps.connections.open failed: " + open.error,
                                "turn on Socket Mode under Settings > Socket Mode (manifest: "
                                "settings.socket_mode_enabled: true)"));
        }
    }
    out.push_back(co_await check_slack_channel(api, c));
}

// ---- Mattermost ----

Check unreachable_mattermost(const std::string& name, const mattermost::ApiResult& r,
                             const Config& c) {
    return error(name,
                 "cannot reach Mattermost at " + url_origin(c.mattermost_url) + ": " + r.error,
                 "check MATTERMOST_URL (http(s)://host[:port]), DNS, the firewall, and "
                 "INCIDENT_BOT_CA_FILE for a private CA");
}

bool member_of(const json& teams, const std::string& team_id) {
    if (!teams.is_array()) return false;
    return std::any_of(teams.begin(), teams.end(), [&](const json& t) {
        return t.is_object() && t.value("id", std::string()) == team_id;
    });
}

// The team's id, or empty after reporting why there is none.
asio::awaitable<std::string> check_mattermost_team(mattermost::RestApi& api, const Config& c,
                                                   const std::string& username,
                                                   std::vector<Check>& out) {
    const mattermost::ApiResult teams = co_await api.get_my_teams();
    std::string id;
    if (c.mattermost_team.empty()) {
        if (teams.ok && teams.body.is_array() && teams.body.size() == 1) {
            id = teams.body[0].value("id", std::string());
            out.push_back(
                ok("mattermost.team", "MATTERMOST_TEAM is not set; using the bot's only team `" +
                                          teams.body[0].value("name", std::string()) + "`"));
            co_return id;
        }
        std::vector<std::string> names;
        if (teams.body.is_array()) {
            for (const auto& t : teams.body) names.push_back(t.value("name", std::string()));
        }
        out.push_back(error("mattermost.team",
                            names.empty()
                                ? "MATTERMOST_TEAM is not set and the bot account is in no team"
                                : "MATTERMOST_TEAM is not set and the bot account is in " +
                                      std::to_string(names.size()) + " teams",
                            names.empty() ? "add @" + username +
                                                " to the team (team menu > Add "
                                                "Members) and set MATTERMOST_TEAM to its name"
                                          : "set MATTERMOST_TEAM to one of " + list_text(names)));
        co_return id;
    }
    mattermost::ApiResult team;
    const bool by_id = c.mattermost_team.size() == 26;
    if (by_id) team = co_await api.get_team(c.mattermost_team);
    if (!team.ok) team = co_await api.get_team_by_name(c.mattermost_team);
    const std::string join_fix =
        "set MATTERMOST_TEAM to the team's name as in its URL "
        "(https://chat.example.com/<team>/...) and add @" +
        username + " to that team (team menu > Add Members)";
    if (!team.ok || !team.body.is_object()) {
        out.push_back(error("mattermost.team",
                            "team `" + c.mattermost_team +
                                "` was not found or is not visible to the bot (" + team.describe() +
                                ")",
                            join_fix));
        co_return id;
    }
    id = team.body.value("id", std::string());
    if (teams.ok && !member_of(teams.body, id)) {
        out.push_back(error("mattermost.team",
                            "the bot account is not a member of team `" + c.mattermost_team + "`",
                            join_fix));
        id.clear();
        co_return id;
    }
    out.push_back(ok("mattermost.team", "team `" + team.body.value("name", c.mattermost_team) +
                                            "` (" + id + "); the bot account is a member"));
    co_return id;
}

asio::awaitable<Check> check_mattermost_permissions(mattermost::RestApi& api, const Config& c,
                                                    const json& me, const std::string& team_id) {
    std::vector<std::string> roles;
    const std::string my_roles = me.value("roles", std::string());
    for (const auto& r : split_words(my_roles)) roles.emplace_back(r);
    std::string member_path = "teams/" + team_id + "/members/" + me.value("id", std::string());
    const mattermost::ApiResult member = co_await api.call("GET", std::move(member_path));
    if (member.ok && member.body.is_object()) {
        const std::string team_roles = member.body.value("roles", std::string());
        for (const auto& r : split_words(team_roles)) roles.emplace_back(r);
    }
    const std::string hidden_fix =
        "nothing to do if the other Mattermost checks pass; otherwise see System Console > "
        "User Management > Permissions";
    if (roles.empty()) {
        co_return warning("mattermost.permissions", "the bot account's roles are not visible",
                          hidden_fix);
    }
    json names = json::array();
    for (const auto& r : roles) names.push_back(r);
    const mattermost::ApiResult found = co_await api.call("POST", "roles/names", std::move(names));
    if (!found.ok || !found.body.is_array()) {
        co_return warning("mattermost.permissions",
                          "the permissions of roles " + list_text(roles) + " are not visible (" +
                              found.describe() + ")",
                          hidden_fix);
    }
    std::set<std::string> granted;
    for (const auto& role : found.body) {
        if (!role.is_object() || !role.contains("permissions")) continue;
        for (const auto& p : role["permissions"]) {
            if (p.is_string()) granted.insert(p.get<std::string>());
        }
    }
    const bool admin = std::find(roles.begin(), roles.end(), "system_admin") != roles.end();
    std::vector<std::string> missing;
    const auto need = [&](const char* permission, const char* why) {
        if (!admin && !granted.contains(permission)) {
            missing.push_back(std::string(permission) + " (" + why + ")");
        }
    };
    // Posting and inviting are channel permissions (channel_user), not visible from here.
    need("create_public_channel", "incident channels");
    if (c.mattermost_command_token.empty() && !admin &&
        !granted.contains("manage_slash_commands") &&
        !granted.contains("manage_own_slash_commands")) {
        missing.push_back("manage_slash_commands (registering /incident)");
    }
    if (!missing.empty()) {
        co_return error(
            "mattermost.permissions",
            "the bot account (roles " + list_text(roles) + ") lacks " + list_text(missing),
            "grant them under System Console > User Management > Permissions, or "
            "make the bot account a team admin");
    }
    co_return ok(
        "mattermost.permissions",
        "roles " + list_text(roles) + ": may create public channels and manage slash commands");
}

asio::awaitable<Check> check_mattermost_command(mattermost::RestApi& api, const Config& c,
                                                const std::string& team_id) {
    const std::string expected =
        c.public_url.empty() ? std::string()
                             : mattermost::trim_base_url(c.public_url) + "/mattermost/command";
    const std::string by_hand =
        "create /incident by hand under Integrations > Slash Commands "
        "(request URL https://<bot>/mattermost/command) and set "
        "MATTERMOST_COMMAND_TOKEN to its token";
    const mattermost::ApiResult list = co_await api.list_commands(team_id);
    if (!list.ok) {
        if (list.status == 501) {
            co_return error("mattermost.command",
                            "custom slash commands are disabled on the server",
                            "System Console > Integrations > Integration Management > Enable "
                            "Custom Slash Commands");
        }
        if (!c.mattermost_command_token.empty()) {
            co_return warning("mattermost.command",
                              "the team's slash commands are not visible (" + list.describe() +
                                  "); MATTERMOST_COMMAND_TOKEN is set, so /incident is taken to "
                                  "be made by hand",
                              "make sure that command sends to https://<bot>/mattermost/command");
        }
        co_return error("mattermost.command",
                        "the bot may not list or register slash commands (" + list.describe() + ")",
                        "give the bot account the manage_slash_commands permission (or make it "
                        "a team admin), or " +
                            by_hand);
    }
    const json* found = nullptr;
    if (list.body.is_array()) {
        for (const auto& command : list.body) {
            if (command.is_object() && command.value("trigger", std::string()) == "incident") {
                found = &command;
            }
        }
    }
    if (!found) {
        if (!expected.empty()) {
            co_return ok("mattermost.command",
                         "/incident is not registered yet: the bot registers "
                         "it at start-up, sending to " +
                             expected);
        }
        if (!c.mattermost_command_token.empty()) {
            co_return warning("mattermost.command",
                              "no /incident command in this team, though "
                              "MATTERMOST_COMMAND_TOKEN is set",
                              by_hand);
        }
        co_return error("mattermost.command",
                        "/incident is not registered, and without INCIDENT_BOT_PUBLIC_URL the "
                        "bot cannot register it",
                        "set INCIDENT_BOT_PUBLIC_URL to the address Mattermost reaches the bot "
                        "at (https://...), or " +
                            by_hand);
    }
    const std::string url = found->value("url", std::string());
    if (!expected.empty() && url != expected) {
        co_return error("mattermost.command",
                        "an /incident command exists but sends to " + url + ", not to " + expected,
                        "edit or delete it under Integrations > Slash Commands (the bot registers "
                        "its own at start-up)");
    }
    if (expected.empty() && c.mattermost_command_token.empty()) {
        co_return error("mattermost.command",
                        "/incident is registered (sending to " + url +
                            ") but the bot cannot verify its requests",
                        "set MATTERMOST_COMMAND_TOKEN to the command's token (Integrations > "
                        "Slash Commands), or set INCIDENT_BOT_PUBLIC_URL so the bot adopts it");
    }
    co_return ok("mattermost.command", "/incident is registered and sends to " + url);
}

asio::awaitable<Check> check_mattermost_channel(mattermost::RestApi& api, const Config& c,
                                                const std::string& team_id) {
    const std::string name = mattermost::channel_name_of(c.announce_channel);
    if (name.empty()) {
        co_return error("mattermost.announce_channel",
                        "INCIDENT_BOT_ANNOUNCE_CHANNEL `" + c.announce_channel +
                            "` is not a Mattermost channel name",
                        "use the channel's name as in its URL, e.g. incidents");
    }
    const mattermost::ApiResult found = co_await api.get_channel_by_name(team_id, name);
    if (found.ok && found.body.is_object()) {
        co_return ok("mattermost.announce_channel",
                     "~" + name + " exists (" + found.body.value("id", std::string()) + ")");
    }
    if (found.status == 404) {
        co_return error("mattermost.announce_channel",
                        "the announcement channel ~" + name + " does not exist in the team",
                        "create the public channel ~" + name +
                            ", or set INCIDENT_BOT_ANNOUNCE_CHANNEL to an existing one (the bot "
                            "also tries to create it at the first announcement)");
    }
    co_return warning("mattermost.announce_channel",
                      "cannot look up ~" + name + " (" + found.describe() + ")",
                      "check that the bot account may read the team's channels");
}

asio::awaitable<void> check_mattermost(Context& ctx, std::vector<Check>& out) {
    const Config& c = ctx.loaded.config;
    mattermost::RestApi api(ctx.executor, ctx.http, c.mattermost_url, c.mattermost_token);
    api.set_retry_policy(1, std::chrono::milliseconds(100));

    const mattermost::ApiResult me = co_await api.get_me();
    if (me.status == 0) {
        out.push_back(unreachable_mattermost("mattermost.auth", me, c));
        co_return;
    }
    if (me.status == 401) {
        out.push_back(error("mattermost.auth",
                            "Mattermost rejected MATTERMOST_TOKEN (" + me.describe() + ")",
                            "create a new token for the bot account (Integrations > Bot Accounts > "
                            "Create New Token) and put it in MATTERMOST_TOKEN"));
        co_return;
    }
    if (!me.ok || !me.body.is_object()) {
        out.push_back(error("mattermost.auth", "users/me failed: " + me.describe(),
                            "check MATTERMOST_URL: it must be the server's base URL"));
        co_return;
    }
    const std::string username = me.body.value("username", std::string());
    if (me.body.value("is_bot", false)) {
        out.push_back(ok("mattermost.auth", "signed in as @" + username + ", a bot account"));
    } else {
        out.push_back(warning("mattermost.auth",
                              "signed in as @" + username + ", a regular user account",
                              "create a bot account (Integrations > Bot Accounts) so incidents "
                              "are not run in a person's name"));
    }
    const std::string team_id = co_await check_mattermost_team(api, c, username, out);
    if (team_id.empty()) co_return;
    out.push_back(co_await check_mattermost_permissions(api, c, me.body, team_id));
    out.push_back(co_await check_mattermost_command(api, c, team_id));
    out.push_back(co_await check_mattermost_channel(api, c, team_id));
}

// ---- email, webhook, listen ----

// host and port of smtp://host[:port] or smtps://host[:port].
bool smtp_endpoint(const std::string& url, std::string& host, std::string& port) {
    const bool tls = url.starts_with("smtps://");
    if (!tls && !url.starts_with("smtp://")) return false;
    std::string authority = url.substr(tls ? 8 : 7);
    authority = authority.substr(0, authority.find_first_of("/?#"));
    port = tls ? "465" : "25";
    if (authority.starts_with('[')) {
        const auto close = authority.find(']');
        if (close == std::string::npos) return false;
        host = authority.substr(1, close - 1);
        if (close + 1 < authority.size() && authority[close + 1] == ':') {
            port = authority.substr(close + 2);
        }
    } else if (const auto colon = authority.rfind(':'); colon != std::string::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    } else {
        host = authority;
    }
    return !host.empty() && !port.empty();
}

// Empty when a TCP connection could be made within `timeout`, else why not.
asio::awaitable<std::string> tcp_connect(asio::any_io_executor executor, std::string host,
                                         std::string port, std::chrono::milliseconds timeout) {
    boost::system::error_code ec;
    asio::ip::tcp::resolver resolver(executor);
    const auto endpoints =
        co_await resolver.async_resolve(host, port, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return "cannot resolve " + host + ": " + ec.message();
    asio::ip::tcp::socket socket(executor);
    asio::steady_timer timer(executor, timeout);
    bool timed_out = false;
    timer.async_wait([&socket, &timed_out](const boost::system::error_code& e) {
        if (e) return;
        timed_out = true;
        socket.close();
    });
    co_await asio::async_connect(socket, endpoints, asio::redirect_error(asio::use_awaitable, ec));
    timer.cancel();
    if (timed_out) co_return "connect to " + host + ":" + port + ": timed out";
    if (ec) co_return "connect to " + host + ":" + port + ": " + ec.message();
    socket.close();
    co_return std::string();
}

asio::awaitable<Check> check_email(Context& ctx) {
    const Config& c = ctx.loaded.config;
    std::string host, port;
    if (!smtp_endpoint(c.smtp_url, host, port)) {
        co_return error("email.smtp", "INCIDENT_BOT_SMTP_URL is not smtp://host[:port]",
                        "write smtp://host:587 or smtps://host:465");
    }
    const std::string failure = co_await tcp_connect(ctx.executor, host, port, ctx.options.timeout);
    if (!failure.empty()) {
        co_return error("email.smtp", "the mail server is not reachable: " + failure,
                        "check the host and port in INCIDENT_BOT_SMTP_URL, DNS and the firewall "
                        "(outgoing port " +
                            port + " is often blocked)");
    }
    co_return ok(
        "email.smtp",
        url_origin(c.smtp_url) + " accepts connections (connect only: nothing was sent, no login)");
}

asio::awaitable<Check> check_webhook(Context& ctx) {
    const Config& c = ctx.loaded.config;
    net::HttpRequest request;
    request.method = "HEAD";
    request.url = c.webhook_url;
    const net::HttpResponse response = co_await ctx.http.request(std::move(request));
    if (response.status == 0) {
        co_return error("webhook",
                        url_origin(c.webhook_url) + " is not reachable: " + response.error,
                        "check INCIDENT_BOT_WEBHOOK_URL, DNS and the firewall, and "
                        "INCIDENT_BOT_CA_FILE when the receiver uses a private CA");
    }
    co_return ok("webhook", url_origin(c.webhook_url) + " answers (HTTP " +
                                std::to_string(response.status) + " to HEAD; events are POSTed)");
}

// GET /priorities: a read that needs a valid token, and what a severity change maps to.
asio::awaitable<Check> check_pagerduty(Context& ctx) {
    const Config& c = ctx.loaded.config;
    notify::PagerDutyOptions options;
    options.api_url = c.pagerduty_api_url;
    options.token = c.pagerduty_api_token;
    options.from = c.pagerduty_from;
    const net::HttpResponse response =
        co_await ctx.http.request(notify::pagerduty_request(options, "GET", "/priorities"));
    const std::string where = url_origin(c.pagerduty_api_url);
    if (response.status == 0) {
        co_return error("pagerduty", where + " is not reachable: " + response.error,
                        "check INCIDENT_BOT_PAGERDUTY_API_URL, DNS, the proxy and the firewall");
    }
    if (response.status == 401 || response.status == 403) {
        co_return error(
            "pagerduty",
            where + " refused the REST API token (HTTP " + std::to_string(response.status) + ")",
            "create a REST API key with write access (Integrations > API Access "
            "Keys) and put it in INCIDENT_BOT_PAGERDUTY_API_TOKEN");
    }
    if (!response.ok()) {
        co_return error("pagerduty",
                        "GET /priorities answered HTTP " + std::to_string(response.status),
                        "check INCIDENT_BOT_PAGERDUTY_API_URL: it must be the REST API's base "
                        "URL, https://api.pagerduty.com");
    }
    const auto priorities = notify::priorities_of(json::parse(response.body, nullptr, false));
    std::string missing;
    for (int n = 1; n <= 5; ++n) {
        const std::string name = "P" + std::to_string(n);
        if (!priorities.contains(name)) missing += (missing.empty() ? "" : ", ") + name;
    }
    if (!missing.empty()) {
        co_return warning("pagerduty",
                          "the token works, but the account has no priority " + missing +
                              ": a change to those severities sets no priority in PagerDuty",
                          "turn on incident priorities (Incidents > Incident Priority Settings) "
                          "with the names P1 to P5, or ignore this if you do not use them");
    }
    co_return ok("pagerduty", where + " accepts the token as " + c.pagerduty_from +
                                  "; priorities P1 to P5 exist for SEV1 to SEV5");
}

// GET pages/{page_id}: a read that needs a valid key and the right page.
asio::awaitable<Check> check_statuspage(Context& ctx) {
    const Config& c = ctx.loaded.config;
    notify::StatuspageOptions options;
    options.api_url = c.statuspage_api_url;
    options.page_id = c.statuspage_page_id;
    options.api_key = c.statuspage_api_key;
    const net::HttpResponse response = co_await ctx.http.request(
        notify::statuspage_request(options, "GET", "pages/" + c.statuspage_page_id));
    const std::string where = url_origin(c.statuspage_api_url);
    if (response.status == 0) {
        co_return error("statuspage", where + " is not reachable: " + response.error,
                        "check INCIDENT_BOT_STATUSPAGE_API_URL, DNS, the proxy and the firewall");
    }
    if (response.status == 401 || response.status == 403) {
        co_return error(
            "statuspage",
            where + " refused the API key (HTTP " + std::to_string(response.status) + ")",
            "create an API key (your avatar > API info on manage.statuspage.io) and put it in "
            "INCIDENT_BOT_STATUSPAGE_API_KEY");
    }
    if (response.status == 404) {
        co_return error("statuspage", "the key has no page " + c.statuspage_page_id,
                        "put the page id of manage.statuspage.io/pages/<id> in "
                        "INCIDENT_BOT_STATUSPAGE_PAGE_ID");
    }
    if (!response.ok()) {
        co_return error("statuspage",
                        "GET pages/" + c.statuspage_page_id + " answered HTTP " +
                            std::to_string(response.status),
                        "check INCIDENT_BOT_STATUSPAGE_API_URL: it must be the REST API's base "
                        "URL, https://api.statuspage.io/v1/");
    }
    const json page = json::parse(response.body, nullptr, false);
    const std::string name = page.is_object() && page.value("name", json()).is_string()
                                 ? truncate_utf8(page["name"].get<std::string>(), 80)
                                 : std::string();
    co_return ok("statuspage", where + " accepts the key for page " + c.statuspage_page_id +
                                   (name.empty() ? "" : " (" + name + ")") + ", " +
                                   std::to_string(c.statuspage_components.size()) +
                                   " component id(s) mapped");
}

Check check_listen(Context& ctx, bool bot_running) {
    const Config& c = ctx.loaded.config;
    net::HttpServer server(ctx.executor,
                           [](net::HttpRequest) -> asio::awaitable<net::HttpResponse> {
                               co_return net::HttpResponse::text(503, "doctor\n");
                           });
    const net::NetStatus status = server.listen(c.listen);
    server.stop();
    if (status.ok()) return ok("listen", c.listen + " can be bound");
    if (bot_running) {
        return ok("listen",
                  c.listen + " is in use, presumably by the incident-bot running on " + c.db_path);
    }
    return error("listen", "cannot listen on " + c.listen + ": " + status.message,
                 "stop whatever listens there, or set INCIDENT_BOT_LISTEN to a free host:port");
}

}  // namespace

std::string_view to_string(Level level) {
    switch (level) {
        case Level::ok:
            return "ok";
        case Level::warning:
            return "warning";
        case Level::error:
            return "error";
    }
    return "error";
}

std::span<const SlackScope> slack_required_scopes() {
    return k_slack_scopes;
}

std::vector<Check> check_configuration(const ConfigResult& loaded, const DoctorOptions& options) {
    std::vector<Check> out;
    const Config& c = loaded.config;
    for (const auto& e : loaded.errors) {
        out.push_back(error("config", e.text(),
                            "correct the setting named here (deploy/incident-bot.conf.example "
                            "documents every key); checks that depend on it are skipped"));
    }
    if (loaded.errors.empty()) {
        int from_file = 0, from_env = 0;
        for (const auto& [key, origin] : loaded.origins) {
            ++(origin == "the environment" ? from_env : from_file);
        }
        std::string message = std::to_string(from_env) + " setting(s) from the environment";
        if (!options.config_file.empty()) {
            message += ", " + std::to_string(from_file) + " from " + options.config_file;
        }
        out.push_back(ok("config", message + ", no errors"));
    }
    if (!options.config_file.empty()) {
        struct stat st {};
        bool secrets_in_file = false;
        for (const Setting& setting : settings_table()) {
            if (!setting.secret) continue;
            const auto it = loaded.origins.find(std::string(setting.key));
            secrets_in_file = secrets_in_file || (it != loaded.origins.end() &&
                                                  it->second.starts_with(options.config_file));
        }
        if (secrets_in_file && ::stat(options.config_file.c_str(), &st) == 0 &&
            (st.st_mode & 0007) != 0) {
            char mode[8];
            std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
            out.push_back(
                warning("config.file",
                        options.config_file +
                            " holds secrets and every user may read "
                            "it (mode " +
                            mode + ")",
                        "chmod 600 " + options.config_file + " (640 with the service's group)"));
        }
    }

    if (c.slack_enabled()) {
        std::vector<std::string> ways;
        if (!c.slack_app_token.empty()) ways.push_back("Socket Mode (SLACK_APP_TOKEN)");
        if (!c.slack_signing_secret.empty()) {
            ways.push_back("signed HTTP requests to /slack/* (SLACK_SIGNING_SECRET)");
        }
        out.push_back(ok("platform.slack",
                         "enabled because " + loaded.where("SLACK_BOT_TOKEN") + " is set; " +
                             (ways.empty() ? std::string("no way for events to arrive yet")
                                           : "events arrive over " + list_text(ways))));
    } else if (!c.slack_app_token.empty() || !c.slack_signing_secret.empty()) {
        out.push_back(warning("platform.slack",
                              "disabled: SLACK_APP_TOKEN or SLACK_SIGNING_SECRET is set but "
                              "SLACK_BOT_TOKEN is not",
                              "set SLACK_BOT_TOKEN to the Bot User OAuth Token (xoxb-...), or "
                              "remove the other SLACK_* settings"));
    } else {
        out.push_back(ok("platform.slack", "disabled: SLACK_BOT_TOKEN is not set"));
    }
    if (c.mattermost_enabled()) {
        out.push_back(
            ok("platform.mattermost", "enabled because " + loaded.where("MATTERMOST_URL") +
                                          " is set; server " + url_origin(c.mattermost_url)));
    } else if (!c.mattermost_token.empty() || !c.mattermost_team.empty()) {
        out.push_back(warning("platform.mattermost",
                              "disabled: MATTERMOST_TOKEN or MATTERMOST_TEAM is set but "
                              "MATTERMOST_URL is not",
                              "set MATTERMOST_URL to the server's address, or remove the other "
                              "MATTERMOST_* settings"));
    } else {
        out.push_back(ok("platform.mattermost", "disabled: MATTERMOST_URL is not set"));
    }
    if (c.console_only() && !options.inside_bot) {
        out.push_back(warning("platform.console",
                              "no chat platform is configured: incident-bot runs the local "
                              "console on stdin/stdout",
                              "for Slack set SLACK_BOT_TOKEN and SLACK_APP_TOKEN; for Mattermost "
                              "MATTERMOST_URL, MATTERMOST_TOKEN and MATTERMOST_TEAM"));
    }
    if (settings_ok(loaded, "INCIDENT_BOT_LISTEN") && !is_loopback(c.listen) &&
        c.dashboard_token.empty()) {
        out.push_back(warning("dashboard",
                              "INCIDENT_BOT_LISTEN=" + c.listen +
                                  " is reachable from other machines and "
                                  "INCIDENT_BOT_DASHBOARD_TOKEN is not set: whoever reaches it "
                                  "reads every incident",
                              "set INCIDENT_BOT_DASHBOARD_TOKEN (e.g. openssl rand -hex 32), or "
                              "listen on 127.0.0.1 behind a proxy that authenticates"));
    }
    return out;
}

std::vector<Check> check_database(const std::string& path, bool inside_bot) {
    std::vector<Check> out;
    const bool running = !inside_bot && database_in_use(path);
    const DatabaseHealth h = inspect_database(path);
    const std::string access_fix =
        "give the user that runs incident-bot read and write access to " + path +
        " and its directory (the -wal and -shm files are created next to it): chown that user, "
        "or run the bot as the file's owner";
    if (!h.exists) {
        if (!h.directory_error.empty()) {
            out.push_back(error("database.file",
                                "no database at " + path + ", and " + h.directory_error,
                                "create the directory and let the bot's user write to it "
                                "(systemd: StateDirectory=incident-bot does this)"));
        } else {
            out.push_back(ok("database.file", "no database at " + path +
                                                  " yet: incident-bot creates it at start-up"));
        }
    } else if (!h.open_error.empty()) {
        out.push_back(
            error("database.file", "cannot open " + path + ": " + h.open_error,
                  "check that INCIDENT_BOT_DB is the bot's database, then " + access_fix));
    } else if (h.bytes > 0 && h.schema_version == 0) {
        out.push_back(error("database.file", path + " is not an incident-bot database",
                            "point INCIDENT_BOT_DB (or --db) at the bot's database file"));
    } else {
        out.push_back(
            ok("database.file", path + ": " + std::to_string(h.incidents) + " incident(s), " +
                                    megabytes(h.bytes) +
                                    (running ? "; in use by a running incident-bot" : "")));
        if (h.schema_version > h.latest_version) {
            out.push_back(error("database.schema",
                                "schema version " + std::to_string(h.schema_version) +
                                    " was written by a newer incident-bot (this one knows up to " +
                                    std::to_string(h.latest_version) + ")",
                                "upgrade incident-bot, or restore a backup made by this version"));
        } else if (h.schema_version < h.latest_version && h.bytes > 0) {
            out.push_back(warning("database.schema",
                                  "schema version " + std::to_string(h.schema_version) + " of " +
                                      std::to_string(h.latest_version) +
                                      ": it is migrated at the next start-up",
                                  "take a backup first: incident-bot backup PATH"));
        } else {
            out.push_back(
                ok("database.schema",
                   "schema version " + std::to_string(h.schema_version) + " (the latest)"));
        }
    }
    if (h.exists && (!h.write_error.empty() || !h.directory_error.empty())) {
        const std::string why = !h.write_error.empty() ? h.write_error : h.directory_error;
        out.push_back(
            error("database.writable", "the database is not writable: " + why, access_fix));
    } else if (h.exists && h.open_error.empty()) {
        out.push_back(ok("database.writable", "a write transaction can start"));
    }
    if (h.free_bytes) {
        const std::string where = megabytes(*h.free_bytes) + " free where the database lives";
        const std::string fix =
            "free disk space or move the database (INCIDENT_BOT_DB): on a "
            "full disk events can no longer be stored, so none is acknowledged";
        if (*h.free_bytes < k_disk_error) {
            out.push_back(error("database.disk", "only " + where, fix));
        } else if (*h.free_bytes < k_disk_warning) {
            out.push_back(warning("database.disk", "only " + where, fix));
        } else {
            out.push_back(ok("database.disk", where));
        }
    }
    return out;
}

// The PostgreSQL database of INCIDENT_BOT_DATABASE_URL, over a connection of its own.
std::vector<Check> check_postgres(const std::string& url) {
    std::vector<Check> out;
    const DatabaseHealth h = inspect_postgres(url);
    if (!h.exists || !h.open_error.empty()) {
        out.push_back(error("database.connect", h.open_error,
                            "check INCIDENT_BOT_DATABASE_URL (host, port, database, user and "
                            "password), that the server runs, and that pg_hba.conf lets this "
                            "host in"));
        return out;
    }
    out.push_back(ok("database.connect", "PostgreSQL: " + std::to_string(h.incidents) +
                                             " incident(s), " + megabytes(h.bytes)));
    if (h.schema_version > h.latest_version) {
        out.push_back(error("database.schema",
                            "schema version " + std::to_string(h.schema_version) +
                                " was written by a newer incident-bot (this one knows up to " +
                                std::to_string(h.latest_version) + ")",
                            "upgrade incident-bot on every replica"));
    } else if (h.schema_version < h.latest_version) {
        out.push_back(warning("database.schema",
                              "schema version " + std::to_string(h.schema_version) + " of " +
                                  std::to_string(h.latest_version) +
                                  ": it is migrated when the bot starts",
                              "take a backup first: pg_dump --format=custom"));
    } else {
        out.push_back(ok("database.schema",
                         "schema version " + std::to_string(h.schema_version) + " (the latest)"));
    }
    if (!h.write_error.empty()) {
        out.push_back(error("database.writable", "the database is not writable: " + h.write_error,
                            "connect to the primary, and GRANT the bot's user ownership of "
                            "its schema (see the README's PostgreSQL section)"));
    } else {
        out.push_back(ok("database.writable", "the user may write the bot's tables"));
    }
    return out;
}

asio::awaitable<std::vector<Check>> run_doctor(asio::any_io_executor executor, net::TlsContext tls,
                                               ConfigResult loaded, DoctorOptions options) {
    std::vector<Check> out;
    try {
        out = check_configuration(loaded, options);
        net::HttpClientOptions http_options;
        http_options.timeout = options.timeout;
        Context ctx{executor, tls, loaded, options, net::HttpClient(executor, tls, http_options)};
        const Config& c = loaded.config;
        const bool tls_ok = settings_ok(loaded, "INCIDENT_BOT_CA_FILE");
        if (c.slack_enabled() && tls_ok && settings_ok(loaded, "SLACK_")) {
            co_await check_slack(ctx, out);
        }
        if (c.mattermost_enabled() && tls_ok && settings_ok(loaded, "MATTERMOST_")) {
            co_await check_mattermost(ctx, out);
        }
        if (c.postgres() && settings_ok(loaded, "INCIDENT_BOT_DATABASE_URL")) {
            for (auto& check : check_postgres(c.database_url)) out.push_back(std::move(check));
        } else if (!c.postgres() && settings_ok(loaded, "INCIDENT_BOT_DB")) {
            for (auto& check : check_database(c.db_path, options.inside_bot)) {
                out.push_back(std::move(check));
            }
        }
        if (c.email_enabled() && settings_ok(loaded, "INCIDENT_BOT_SMTP_")) {
            out.push_back(co_await check_email(ctx));
        }
        if (c.webhook_enabled() && tls_ok && settings_ok(loaded, "INCIDENT_BOT_WEBHOOK_")) {
            out.push_back(co_await check_webhook(ctx));
        }
        if (c.pagerduty_api_enabled() && tls_ok && settings_ok(loaded, "INCIDENT_BOT_PAGERDUTY_")) {
            out.push_back(co_await check_pagerduty(ctx));
        }
        if (c.statuspage_enabled() && tls_ok && settings_ok(loaded, "INCIDENT_BOT_STATUSPAGE_")) {
            out.push_back(co_await check_statuspage(ctx));
        }
        if (!options.inside_bot && settings_ok(loaded, "INCIDENT_BOT_LISTEN")) {
            out.push_back(check_listen(ctx, !c.postgres() && database_in_use(c.db_path)));
        }
    } catch (const std::exception& e) {
        out.push_back(error("doctor", std::string("a check failed unexpectedly: ") + e.what(),
                            "report this as a bug"));
    }
    co_return out;
}

bool has_errors(const std::vector<Check>& checks) {
    return std::any_of(checks.begin(), checks.end(),
                       [](const Check& c) { return c.level == Level::error; });
}

std::string format_check(const Check& check) {
    std::string line(to_string(check.level));
    line.resize(8, ' ');
    line += check.name;
    if (check.name.size() < 27)
        line.resize(8 + 27, ' ');
    else
        line += ' ';
    std::string_view message = check.message;
    if (!check.fix.empty() && message.ends_with('.')) message.remove_suffix(1);
    line += message;
    if (!check.fix.empty()) line += "; fix: " + check.fix;
    return line;
}

json to_json(const std::vector<Check>& checks) {
    int errors = 0, warnings = 0;
    json list = json::array();
    for (const auto& check : checks) {
        errors += check.level == Level::error;
        warnings += check.level == Level::warning;
        json item = json::object();
        item["level"] = std::string(to_string(check.level));
        item["name"] = check.name;
        item["message"] = check.message;
        if (!check.fix.empty()) item["fix"] = check.fix;
        list.push_back(std::move(item));
    }
    json out = json::object();
    out["ok"] = errors == 0;
    out["errors"] = errors;
    out["warnings"] = warnings;
    out["checks"] = std::move(list);
    return out;
}

}  // namespace incident::ops

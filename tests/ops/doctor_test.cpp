#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "adapters/ops/doctor.hpp"
#include "fake_mattermost.hpp"
#include "fake_pagerduty.hpp"
#include "fake_slack.hpp"
#include "fake_statuspage.hpp"
#include "process.hpp"
#include "run_async.hpp"
#include "storage/sqlite_store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

using namespace incident;
using namespace incident::testing;
using net::testing::run_async;
namespace asio = boost::asio;
namespace fs = std::filesystem;
using std::chrono::milliseconds;

namespace {

// `incident-bot doctor` run to completion while the fakes on `io` serve it.
Run doctor(asio::io_context& io, const fs::path& dir, std::vector<std::string> env,
           std::vector<std::string> args = {}, std::optional<uid_t> uid = {}) {
    static int runs = 0;
    ProcessOptions options;
    options.args = {"doctor"};
    options.args.insert(options.args.end(), args.begin(), args.end());
    options.env = std::move(env);
    options.out = dir / ("doctor-" + std::to_string(++runs) + ".out");
    options.err = dir / ("doctor-" + std::to_string(runs) + ".err");
    options.uid = uid;
    // Another user may not be able to reach the build tree (a clone in root's 0700 home):
    // that user runs a copy from `dir`, which everyone may enter.
    std::string binary = k_binary;
    if (uid) {
        const fs::path bin = dir / "bin";
        fs::create_directories(bin);
        fs::permissions(bin, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                 fs::perms::others_read | fs::perms::others_exec);
        binary = (bin / "incident-bot").string();
        fs::copy_file(k_binary, binary, fs::copy_options::overwrite_existing);
        fs::permissions(binary, fs::perms::owner_all | fs::perms::group_read |
                                    fs::perms::group_exec | fs::perms::others_read |
                                    fs::perms::others_exec);
    }
    Run run;
    const bool finished = run_async(
        io,
        [&]() -> asio::awaitable<void> {
            Process process(binary, options);
            const auto status = co_await process.wait(milliseconds(30'000));
            run.status = status.value_or(-1);
            run.out = process.out();
            run.err = process.err();
        },
        milliseconds(40'000));
    CHECK(finished);
    return run;
}

void create_database(const fs::path& path) {
    SqliteStore store(path.string());
}

std::string port_of(const std::string& url) {
    const auto colon = url.find(':', url.find("://") + 3);
    return url.substr(colon + 1, url.find('/', colon) - colon - 1);
}

// `base` with the variables of `extra` added or replaced.
std::vector<std::string> merged(std::vector<std::string> base,
                                const std::vector<std::string>& extra) {
    for (const auto& e : extra) {
        const std::string key = e.substr(0, e.find('=') + 1);
        std::erase_if(base, [&](const std::string& b) { return b.starts_with(key); });
        base.push_back(e);
    }
    return base;
}

struct SlackSetup {
    asio::io_context io;
    TempDir dir{"doctor-slack"};
    FakeSlack fake{io.get_executor()};

    SlackSetup() { fake.channel_names["CINCIDENTS"] = "incidents"; }

    std::vector<std::string> env() const {
        return {"SLACK_BOT_TOKEN=" + fake.bot_token, "SLACK_APP_TOKEN=" + fake.app_token,
                "SLACK_API_URL=" + fake.api_url(),
                "INCIDENT_BOT_DB=" + (dir.path / "bot.db").string(),
                "INCIDENT_BOT_LISTEN=127.0.0.1:0"};
    }
    Run run(const std::vector<std::string>& extra = {}) {
        return doctor(io, dir.path, merged(env(), extra));
    }
};

struct MattermostSetup {
    asio::io_context io;
    TempDir dir{"doctor-mattermost"};
    FakeMattermost fake{io.get_executor()};

    MattermostSetup() {
        const std::string id = mm_id("incidents");
        fake.channels[id] = FakeMattermost::Channel{
            id, fake.team_id, "incidents", "Incidents", "", "O", {fake.bot_user_id}, ""};
    }
    Run run(const std::vector<std::string>& extra = {}) {
        const std::vector<std::string> env{"MATTERMOST_URL=" + fake.url(),
                                           "MATTERMOST_TOKEN=" + fake.token,
                                           "MATTERMOST_TEAM=ops",
                                           "INCIDENT_BOT_PUBLIC_URL=https://bot.example.com",
                                           "INCIDENT_BOT_DB=" + (dir.path / "bot.db").string(),
                                           "INCIDENT_BOT_LISTEN=127.0.0.1:0"};
        return doctor(io, dir.path, merged(env, extra));
    }
};

bool is_error(const std::string& line) {
    return line.starts_with("error ");
}
bool is_ok(const std::string& line) {
    return line.starts_with("ok ");
}

}  // namespace

TEST_CASE("doctor: the required Slack scopes are the manifest's") {
    const std::string manifest =
        read_file(std::string(INCIDENT_BOT_SOURCE_DIR) + "/deploy/slack-app-manifest.yml");
    std::set<std::string> listed;
    std::istringstream lines(manifest.substr(manifest.find("    bot:")));
    std::string line;
    std::getline(lines, line);
    while (std::getline(lines, line) && line.starts_with("      - ")) {
        listed.insert(line.substr(8, line.find_first_of(" #", 8) - 8));
    }
    std::set<std::string> required;
    for (const auto& scope : ops::slack_required_scopes()) required.emplace(scope.name);
    // pins:write pins the live summary (issue 19); files:read keeps evidence (issue 20);
    // groups:history and im:history read back a post whose answer was lost (issue 15)
    CHECK(listed.size() == 14);
    CHECK(required == listed);
}

TEST_CASE("doctor: a healthy Slack set-up is all ok, exits 0, and prints no token") {
    SlackSetup s;
    create_database(s.dir.path / "bot.db");
    const Run r = s.run();
    CAPTURE(r.out);
    CHECK(r.status == 0);
    for (const char* name : {"config", "platform.slack", "slack.auth", "slack.scopes",
                             "slack.socket_mode", "slack.announce_channel", "database.file",
                             "database.schema", "database.writable", "database.disk", "listen"}) {
        CHECK_MESSAGE(is_ok(check_line(r.out, name)), name);
    }
    CHECK(has(check_line(r.out, "platform.slack"),
              "enabled because SLACK_BOT_TOKEN (set in the environment) is set; events arrive "
              "over Socket Mode (SLACK_APP_TOKEN)"));
    CHECK(has(check_line(r.out, "slack.auth"), "@incident-bot (UBOT) in workspace fake"));
    CHECK(has(check_line(r.out, "slack.announce_channel"), "#incidents exists (CINCIDENTS)"));
    CHECK(has(r.out, "0 error(s)"));
    CHECK_FALSE(has(r.out, s.fake.bot_token));
    CHECK_FALSE(has(r.out, s.fake.app_token));
    // Checks only: no channel was created, nothing was posted.
    CHECK(s.fake.count("conversations.create") == 0);
    CHECK(s.fake.count("chat.postMessage") == 0);
    CHECK(s.fake.connections == 0);
}

TEST_CASE("doctor: a wrong Slack bot token is its own error with the fix") {
    SlackSetup s;
    const Run r = s.run({"SLACK_BOT_TOKEN=xoxb-wrong-secret-value"});
    CAPTURE(r.out);
    CHECK(r.status == 1);
    const std::string line = check_line(r.out, "slack.auth");
    CHECK(is_error(line));
    CHECK(has(line,
              "Slack rejected SLACK_BOT_TOKEN (invalid_auth); fix: copy the Bot User "
              "OAuth Token (xoxb-...) from the app's OAuth & Permissions page into "
              "SLACK_BOT_TOKEN"));
    CHECK_FALSE(has(r.out, "wrong-secret-value"));
    // What needs the token is not checked: it would only repeat the error.
    CHECK(check_line(r.out, "slack.scopes").empty());
}

TEST_CASE("doctor: a wrong Slack app token is its own error with the fix") {
    SlackSetup s;
    const Run r = s.run({"SLACK_APP_TOKEN=xapp-wrong-secret-value"});
    CAPTURE(r.out);
    CHECK(r.status == 1);
    CHECK(is_ok(check_line(r.out, "slack.auth")));
    const std::string line = check_line(r.out, "slack.socket_mode");
    CHECK(is_error(line));
    CHECK(has(line,
              "Slack rejected SLACK_APP_TOKEN (invalid_auth); fix: generate an app-level "
              "token with the connections:write scope"));
    CHECK_FALSE(has(r.out, "wrong-secret-value"));
}

TEST_CASE("doctor: a missing scope names the scope, what it is for, and how to add it") {
    SlackSetup s;
    s.fake.drop_scope("channels:manage");
    const Run r = s.run();
    CAPTURE(r.out);
    CHECK(r.status == 1);
    const std::string line = check_line(r.out, "slack.scopes");
    CHECK(is_error(line));
    CHECK(has(line,
              "the bot token lacks channels:manage (creating incident channels, inviting, "
              "setting topics); fix: add the missing scopes under OAuth & Permissions > "
              "Bot Token Scopes"));
    CHECK(has(line, "reinstall the app"));
    CHECK(is_ok(check_line(r.out, "slack.auth")));
    CHECK(is_ok(check_line(r.out, "slack.announce_channel")));
}

TEST_CASE("doctor: Slack without the scopes header is a warning, not an error") {
    SlackSetup s;
    s.fake.send_scopes_header = false;
    const Run r = s.run();
    CHECK(r.status == 0);
    CHECK(check_line(r.out, "slack.scopes").starts_with("warning "));
}

TEST_CASE("doctor: a missing announcement channel is its own error with the fix") {
    SlackSetup s;
    s.fake.channel_names.erase("CINCIDENTS");
    const Run r = s.run();
    CAPTURE(r.out);
    CHECK(r.status == 1);
    const std::string line = check_line(r.out, "slack.announce_channel");
    CHECK(is_error(line));
    CHECK(has(line,
              "the announcement channel #incidents does not exist (or is archived or "
              "private); fix: create the public channel #incidents in Slack, or set "
              "INCIDENT_BOT_ANNOUNCE_CHANNEL to an existing public channel"));
    // Another name that exists is fine.
    const Run other = s.run({"INCIDENT_BOT_ANNOUNCE_CHANNEL=general"});
    CHECK(other.status == 0);
    CHECK(has(check_line(other.out, "slack.announce_channel"), "#general exists (CGENERAL)"));
}

TEST_CASE("doctor: Slack out of reach is an error naming where it looked") {
    SlackSetup s;
    const Run r = s.run({"SLACK_API_URL=http://127.0.0.1:1/api/"});
    CHECK(r.status == 1);
    const std::string line = check_line(r.out, "slack.auth");
    CHECK(is_error(line));
    CHECK(has(line, "cannot reach Slack at http://127.0.0.1:1: connect to 127.0.0.1:1"));
    CHECK(has(line, "fix: check DNS, proxy and firewall rules"));
}

TEST_CASE("doctor: an unwritable database is its own error with the fix") {
    SlackSetup s;
    const fs::path data = s.dir.path / "data";
    fs::create_directories(data);
    const fs::path db = data / "bot.db";
    create_database(db);
    std::optional<uid_t> as;
    if (::geteuid() == 0) {
        as = 65534;  // root writes anything: run as nobody, as a service user would
    } else {
        fs::permissions(db, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
        fs::permissions(data, fs::perms::owner_read | fs::perms::owner_exec);
    }
    std::vector<std::string> env{"INCIDENT_BOT_DB=" + db.string(),
                                 "INCIDENT_BOT_LISTEN=127.0.0.1:0"};
    const Run r = doctor(s.io, s.dir.path, env, {}, as);
    if (!as) fs::permissions(data, fs::perms::owner_all);
    CAPTURE(r.out);
    CAPTURE(r.err);
    CHECK(r.status == 1);
    const std::string line = check_line(r.out, "database.writable");
    CHECK(is_error(line));
    CHECK(has(line, "the database is not writable: user "));
    CHECK(has(line, "cannot write " + db.string()));
    CHECK(has(line, "fix: give the user that runs incident-bot read and write access to " +
                        db.string() + " and its directory"));
    // The other database checks still report what they can.
    CHECK(is_ok(check_line(r.out, "database.disk")));
}

TEST_CASE("doctor: a database written by a newer incident-bot, and a file that is no database") {
    SlackSetup s;
    const fs::path db = s.dir.path / "bot.db";
    create_database(db);
    {
        SQLite::Database raw(db.string(), SQLite::OPEN_READWRITE);
        raw.exec("INSERT INTO schema_migrations (version, applied_at) VALUES (99, 'later')");
    }
    std::vector<std::string> env{"INCIDENT_BOT_DB=" + db.string(),
                                 "INCIDENT_BOT_LISTEN=127.0.0.1:0"};
    Run r = doctor(s.io, s.dir.path, env);
    CHECK(r.status == 1);
    CHECK(is_error(check_line(r.out, "database.schema")));
    CHECK(has(check_line(r.out, "database.schema"), "fix: upgrade incident-bot"));

    const fs::path text = s.dir.path / "notes.txt";
    std::ofstream(text) << "not a database at all, just some text that is long enough\n";
    env[0] = "INCIDENT_BOT_DB=" + text.string();
    r = doctor(s.io, s.dir.path, env);
    CHECK(r.status == 1);
    CHECK(is_error(check_line(r.out, "database.file")));
}

TEST_CASE("doctor: a healthy Mattermost set-up is all ok and exits 0") {
    MattermostSetup m;
    const Run r = m.run();
    CAPTURE(r.out);
    CHECK(r.status == 0);
    for (const char* name :
         {"platform.mattermost", "mattermost.auth", "mattermost.team", "mattermost.permissions",
          "mattermost.command", "mattermost.announce_channel"}) {
        CHECK_MESSAGE(is_ok(check_line(r.out, name)), name);
    }
    CHECK(has(check_line(r.out, "mattermost.auth"), "signed in as @incident-bot, a bot account"));
    CHECK(has(check_line(r.out, "mattermost.command"),
              "the bot registers it at start-up, sending to "
              "https://bot.example.com/mattermost/command"));
    CHECK_FALSE(has(r.out, m.fake.token));
    CHECK(m.fake.commands.empty());  // checked, not registered
}

TEST_CASE("doctor: a wrong Mattermost token is its own error with the fix") {
    MattermostSetup m;
    const Run r = m.run({"MATTERMOST_TOKEN=wrongmattermosttokensecret"});
    CAPTURE(r.out);
    CHECK(r.status == 1);
    const std::string line = check_line(r.out, "mattermost.auth");
    CHECK(is_error(line));
    CHECK(has(line, "Mattermost rejected MATTERMOST_TOKEN (HTTP 401"));
    CHECK(has(line, "fix: create a new token for the bot account"));
    CHECK_FALSE(has(r.out, "wrongmattermosttokensecret"));
}

TEST_CASE("doctor: an unknown Mattermost team, and a team the bot is not in") {
    MattermostSetup m;
    Run r = m.run({"MATTERMOST_TEAM=nosuchteam"});
    CHECK(r.status == 1);
    std::string line = check_line(r.out, "mattermost.team");
    CHECK(is_error(line));
    CHECK(has(line, "team `nosuchteam` was not found or is not visible to the bot"));
    CHECK(has(line, "fix: set MATTERMOST_TEAM to the team's name as in its URL"));
    CHECK(check_line(r.out, "mattermost.command").empty());
}

TEST_CASE("doctor: Mattermost permissions and the /incident command") {
    MattermostSetup m;
    m.fake.bot_team_roles = "team_user";
    m.fake.commands_forbidden = true;
    Run r = m.run();
    CAPTURE(r.out);
    CHECK(r.status == 1);
    CHECK(is_error(check_line(r.out, "mattermost.permissions")));
    CHECK(has(check_line(r.out, "mattermost.permissions"),
              "lacks manage_slash_commands (registering /incident)"));
    const std::string command = check_line(r.out, "mattermost.command");
    CHECK(is_error(command));
    CHECK(has(command, "the bot may not list or register slash commands (HTTP 403"));
    CHECK(has(command, "fix: give the bot account the manage_slash_commands permission"));

    // A command sending elsewhere.
    MattermostSetup other;
    other.fake.commands.push_back(nlohmann::json{{"trigger", "incident"},
                                                 {"url", "https://old.example.com/hook"},
                                                 {"token", "t"},
                                                 {"team_id", other.fake.team_id}});
    r = other.run();
    CHECK(r.status == 1);
    CHECK(has(check_line(r.out, "mattermost.command"),
              "an /incident command exists but sends to https://old.example.com/hook, not to "
              "https://bot.example.com/mattermost/command"));
}

TEST_CASE("doctor: a missing Mattermost announcement channel is its own error") {
    MattermostSetup m;
    m.fake.channels.erase(mm_id("incidents"));
    const Run r = m.run();
    CHECK(r.status == 1);
    const std::string line = check_line(r.out, "mattermost.announce_channel");
    CHECK(is_error(line));
    CHECK(has(line,
              "the announcement channel ~incidents does not exist in the team; fix: create "
              "the public channel ~incidents"));
}

TEST_CASE("doctor: SMTP out of reach, a webhook that answers, a listen address in use") {
    SlackSetup s;
    const std::string busy = "127.0.0.1:" + port_of(s.fake.api_url());
    const Run r = doctor(
        s.io, s.dir.path,
        {"INCIDENT_BOT_DB=" + (s.dir.path / "bot.db").string(), "INCIDENT_BOT_LISTEN=" + busy,
         "INCIDENT_BOT_SMTP_URL=smtp://127.0.0.1:1", "INCIDENT_BOT_SMTP_FROM=bot@example.com",
         "INCIDENT_BOT_STAKEHOLDER_EMAILS=cto@example.com",
         "INCIDENT_BOT_WEBHOOK_URL=" + s.fake.api_url() + "hooks/secret-path",
         "INCIDENT_BOT_WEBHOOK_SECRET=webhooksecretvalue"});
    CAPTURE(r.out);
    CHECK(r.status == 1);
    const std::string smtp = check_line(r.out, "email.smtp");
    CHECK(is_error(smtp));
    CHECK(has(smtp, "the mail server is not reachable: connect to 127.0.0.1:1"));
    CHECK(has(smtp, "fix: check the host and port in INCIDENT_BOT_SMTP_URL"));
    const std::string webhook = check_line(r.out, "webhook");
    CHECK(is_ok(webhook));
    CHECK(has(webhook, "answers (HTTP "));
    CHECK_FALSE(has(r.out, "secret-path"));
    CHECK_FALSE(has(r.out, "webhooksecretvalue"));
    const std::string listen = check_line(r.out, "listen");
    CHECK(is_error(listen));
    CHECK(has(listen, "cannot listen on " + busy));
    CHECK(has(listen, "fix: stop whatever listens there, or set INCIDENT_BOT_LISTEN"));
    CHECK(check_line(r.out, "platform.console").starts_with("warning "));
}

TEST_CASE("doctor: the PagerDuty token, and priorities for the severities") {
    SlackSetup s;
    FakePagerDuty pd(s.io);
    const std::vector<std::string> env{
        "INCIDENT_BOT_PAGERDUTY_API_TOKEN=" + std::string(k_pagerduty_token),
        "INCIDENT_BOT_PAGERDUTY_FROM=" + std::string(k_pagerduty_from),
        "INCIDENT_BOT_PAGERDUTY_API_URL=" + pd.url()};

    Run r = s.run(env);
    CAPTURE(r.out);
    std::string line = check_line(r.out, "pagerduty");
    CHECK(is_ok(line));
    CHECK(has(line, "accepts the token as " + std::string(k_pagerduty_from)));
    CHECK(pd.count("GET /priorities") == 1);
    CHECK(pd.refusals.empty());

    pd.priorities = R"({"priorities":[{"id":"PQ1","name":"P1","type":"priority"}]})";
    r = s.run(env);
    line = check_line(r.out, "pagerduty");
    CHECK(line.starts_with("warning "));
    CHECK(has(line, "no priority P2, P3, P4, P5"));

    r = s.run(merged(env, {"INCIDENT_BOT_PAGERDUTY_API_TOKEN=pd-wrong-token-4f2a"}));
    line = check_line(r.out, "pagerduty");
    CHECK(is_error(line));
    CHECK(has(line, "refused the REST API token (HTTP 401)"));
    CHECK(has(line, "fix: create a REST API key"));
    CHECK(r.status == 1);
    CHECK_FALSE(has(r.out + r.err, "pd-wrong-token-4f2a"));
    CHECK_FALSE(has(r.out + r.err, k_pagerduty_token));
}

TEST_CASE("doctor: the Statuspage key and page") {
    SlackSetup s;
    FakeStatuspage sp(s.io);
    const std::vector<std::string> env{
        "INCIDENT_BOT_STATUSPAGE_PAGE_ID=" + std::string(k_statuspage_page),
        "INCIDENT_BOT_STATUSPAGE_API_KEY=" + std::string(k_statuspage_key),
        "INCIDENT_BOT_STATUSPAGE_API_URL=" + sp.url()};

    Run r = s.run(env);
    CAPTURE(r.out);
    std::string line = check_line(r.out, "statuspage");
    CHECK(is_ok(line));
    CHECK(has(line, "accepts the key for page qfn30z5r6s5h (Example Inc.)"));
    CHECK(sp.count("GET /v1/pages/qfn30z5r6s5h") == 1);

    r = s.run(merged(env, {"INCIDENT_BOT_STATUSPAGE_API_KEY=sp-wrong-key-77aa"}));
    line = check_line(r.out, "statuspage");
    CHECK(is_error(line));
    CHECK(has(line, "refused the API key (HTTP 401)"));
    CHECK(has(line, "fix: create an API key"));
    CHECK(r.status == 1);
    CHECK_FALSE(has(r.out + r.err, "sp-wrong-key-77aa"));
    CHECK_FALSE(has(r.out + r.err, k_statuspage_key));

    r = s.run(merged(env, {"INCIDENT_BOT_STATUSPAGE_PAGE_ID=zzzz00000000"}));
    line = check_line(r.out, "statuspage");
    CHECK(is_error(line));
    CHECK(has(line, "the key has no page zzzz00000000"));
}

TEST_CASE("doctor: --format json, and configuration errors as error lines") {
    SlackSetup s;
    create_database(s.dir.path / "bot.db");
    Run r = doctor(s.io, s.dir.path, s.env(), {"--format", "json"});
    CHECK(r.status == 0);
    const auto j = nlohmann::json::parse(r.out);
    CHECK(j["ok"] == true);
    CHECK(j["errors"] == 0);
    CHECK(j["checks"].size() >= 10);
    CHECK(j["checks"][0]["level"] == "ok");

    const fs::path conf = s.dir.path / "bot.conf";
    std::ofstream(conf) << "SLACK_BOT_TOKN=xoxb-typo\n";
    ::chmod(conf.c_str(), 0600);
    r = doctor(s.io, s.dir.path, s.env(), {"--config", conf.string()});
    CHECK(r.status == 1);
    const std::string line = check_line(r.out, "config");
    CHECK(is_error(line));
    CHECK(has(line,
              conf.string() + ":1: unknown key SLACK_BOT_TOKN (did you mean SLACK_BOT_TOKEN?)"));
}

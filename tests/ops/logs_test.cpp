#include <doctest/doctest.h>

#include <signal.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <memory>
#include <sstream>

#include "envelopes.hpp"
#include "fake_mattermost.hpp"
#include "fake_slack.hpp"
#include "process.hpp"
#include "run_async.hpp"

using namespace incident::testing;
using incident::net::testing::run_async;
using incident::net::testing::sleep_for;
using incident::net::testing::wait_until;
namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

// Every secret of the configuration, set to values that are easy to look for.
struct Secrets {
    std::string bot = "xoxb-LOGSECRET-bot-1234567890";
    std::string app = "xapp-LOGSECRET-app-1234567890";
    std::string signing = "LOGSECRET-signing-abcdef";
    std::string mattermost = "mmLOGSECRETtoken1234567890";
    std::string dashboard = "LOGSECRET-dashboard-123456";
    std::string webhook = "LOGSECRET-webhook-99999";
    std::string smtp = "LOGSECRET-smtp-pass-777";
    std::string alerts = "LOGSECRET-alerts-token-31";
    std::string pagerduty = "LOGSECRET-pagerduty-whsec-32";
};

// Runs the bot with Slack, Mattermost, a webhook and email all configured, makes it call
// out (and fail) a few times, stops it, and returns its stdout and stderr.
Run run_bot_with_secrets(const std::vector<std::string>& args) {
    asio::io_context io;
    TempDir dir("logs");
    Secrets s;
    FakeSlack slack(io.get_executor());
    slack.bot_token = s.bot;
    slack.app_token = s.app;
    FakeMattermost mattermost(io.get_executor());
    mattermost.token = s.mattermost;
    ProcessOptions options;
    options.args = args;
    options.env = {"SLACK_BOT_TOKEN=" + s.bot,
                   "SLACK_APP_TOKEN=" + s.app,
                   "SLACK_SIGNING_SECRET=" + s.signing,
                   "SLACK_API_URL=" + slack.api_url(),
                   "MATTERMOST_URL=" + mattermost.url(),
                   "MATTERMOST_TOKEN=" + s.mattermost,
                   "MATTERMOST_TEAM=ops",
                   "INCIDENT_BOT_PUBLIC_URL=http://127.0.0.1:9",
                   "INCIDENT_BOT_DASHBOARD_TOKEN=" + s.dashboard,
                   "INCIDENT_BOT_WEBHOOK_URL=" + slack.api_url() + "hook/LOGSECRET-in-path",
                   "INCIDENT_BOT_WEBHOOK_SECRET=" + s.webhook,
                   "INCIDENT_BOT_SMTP_URL=smtp://127.0.0.1:1",
                   "INCIDENT_BOT_SMTP_USER=bot",
                   "INCIDENT_BOT_SMTP_PASSWORD=" + s.smtp,
                   "INCIDENT_BOT_SMTP_FROM=bot@example.com",
                   "INCIDENT_BOT_STAKEHOLDER_EMAILS=cto@example.com",
                   "INCIDENT_BOT_ALERTS_TOKEN=" + s.alerts,
                   "INCIDENT_BOT_PAGERDUTY_WEBHOOK_SECRET=" + s.pagerduty,
                   "INCIDENT_BOT_DB=" + (dir.path / "bot.db").string(),
                   "INCIDENT_BOT_LISTEN=127.0.0.1:0",
                   "SPDLOG_LEVEL=debug"};
    options.out = dir.path / "bot.out";
    options.err = dir.path / "bot.err";
    std::optional<int> status;
    std::unique_ptr<Process> bot;
    const bool finished = run_async(
        io,
        [&]() -> asio::awaitable<void> {
            bot = std::make_unique<Process>(k_binary, options);
            REQUIRE(co_await wait_until([&] { return slack.connected() && mattermost.connected(); },
                                        milliseconds(20'000)));
            slack.rate_limit["chat.postMessage"] = 1;
            slack.deliver(
                slash_envelope("log-declare", "CGENERAL", "U1", "alice", "declare sev2 Logs"));
            std::string channel;
            REQUIRE(co_await wait_until(
                [&] {
                    for (const auto& [id, name] : slack.channel_names) {
                        if (name.starts_with("inc-1-")) channel = id;
                    }
                    return !channel.empty() && slack.count("chat.postMessage") >= 3;
                },
                milliseconds(20'000)));
            // An unknown user: users.info fails.
            slack.deliver(events_envelope(
                "log-1", message_event(channel, "U9", "1800000001.000100", "who am I")));
            REQUIRE(co_await wait_until([&] { return slack.count("users.info") >= 1; },
                                        milliseconds(5000)));
            // The step the checks below read: its failure is in the log before the shutdown.
            REQUIRE(co_await wait_until(
                [&] { return has(bot->err(), "slack users.info: failed: user_not_found"); },
                milliseconds(10'000)));
            bot->signal(SIGTERM);
            status = co_await bot->wait(milliseconds(15'000));
        },
        milliseconds(60'000));
    CHECK(finished);
    Run run;
    run.status = status.value_or(-1);
    run.out = bot->out();
    run.err = bot->err();
    return run;
}

void check_no_secret(const Run& run) {
    const Secrets s;
    for (const auto& secret : {s.bot, s.app, s.signing, s.mattermost, s.dashboard, s.webhook,
                               s.smtp, s.alerts, s.pagerduty, std::string("LOGSECRET")}) {
        CHECK_MESSAGE(!has(run.err, secret), secret << " appears in the log");
        CHECK_MESSAGE(!has(run.out, secret), secret << " appears on stdout");
    }
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) lines.push_back(line);
    return lines;
}

}  // namespace

TEST_CASE("logs: JSON lines of ts, level and msg, external calls named, and no secret in them") {
    const Run run = run_bot_with_secrets({"--log-format", "json"});
    CAPTURE(run.err);
    CHECK(run.status == 0);
    const auto lines = lines_of(run.err);
    CHECK(lines.size() > 10);
    std::vector<std::string> messages;
    for (const auto& line : lines) {
        const auto j = nlohmann::json::parse(line, nullptr, false);
        REQUIRE_MESSAGE(j.is_object(), line);
        CHECK(j.size() == 3);
        const std::string ts = j.value("ts", "");
        CHECK_MESSAGE((ts.size() == 24 && ts[10] == 'T' && ts[19] == '.' && ts.back() == 'Z'), ts);
        CHECK(j.contains("level"));
        messages.push_back(j.value("msg", ""));
    }
    const auto logged = [&](const std::string& start) {
        return std::any_of(messages.begin(), messages.end(),
                           [&](const std::string& m) { return m.starts_with(start); });
    };
    // Lines about external calls name the platform and the method.
    CHECK(logged("slack users.info: failed: user_not_found"));
    CHECK(logged("slack chat.postMessage: rate limited"));
    CHECK(logged("mattermost POST commands: registered /incident"));
    CHECK(logged("slack socket mode: closing the connection"));
    CHECK(logged("mattermost websocket: closing the connection"));
    check_no_secret(run);
}

TEST_CASE("logs: human-readable by default, and no secret in them either") {
    const Run run = run_bot_with_secrets({});
    CAPTURE(run.err);
    CHECK(run.status == 0);
    const auto lines = lines_of(run.err);
    REQUIRE(lines.size() > 10);
    for (const auto& line : lines) {
        CHECK_MESSAGE(line.starts_with("[20"), line);
    }
    CHECK(has(run.err, "] [info] dashboard: http://127.0.0.1:"));
    CHECK(has(run.err, "] [error] slack users.info: failed: user_not_found"));
    check_no_secret(run);
}

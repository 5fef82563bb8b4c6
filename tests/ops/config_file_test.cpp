#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "bot/config.hpp"
#include "process.hpp"

using namespace incident;
using namespace incident::testing;

namespace {

EnvLookup environment(std::map<std::string, std::string> vars) {
    return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
        const auto it = vars.find(name);
        if (it == vars.end()) return std::nullopt;
        return it->second;
    };
}

// The one error that mentions `part`; fails the test when there is not exactly one.
std::string error_with(const ConfigResult& result, const std::string& part) {
    std::string found;
    int count = 0;
    for (const auto& e : result.errors) {
        if (e.text().find(part) != std::string::npos) {
            found = e.text();
            ++count;
        }
    }
    CHECK_MESSAGE(count == 1, part);
    return found;
}

const std::string k_example =
    std::string(INCIDENT_BOT_SOURCE_DIR) + "/deploy/incident-bot.conf.example";

}  // namespace

TEST_CASE("config file: KEY=value lines, comments and quotes, and the environment wins") {
    const ConfigFile file = parse_config_file(
        "# incident-bot settings\n"
        "\n"
        "INCIDENT_BOT_LISTEN = 0.0.0.0:9090\n"
        "   # an indented comment\n"
        "INCIDENT_BOT_ANNOUNCE_CHANNEL=\"ops incidents\"\n"
        "INCIDENT_BOT_PUBLIC_URL='https://bot.example.com'\r\n"
        "SLACK_BOT_TOKEN=xoxb-from-file\n"
        "SLACK_APP_TOKEN=xapp-from-file\n"
        "INCIDENT_BOT_REMIND_DIGEST_HOUR=7\n",
        "bot.conf");
    CHECK(file.errors.empty());
    CHECK(file.values.at("INCIDENT_BOT_LISTEN").line == 3);
    const ConfigResult r = load_config(environment({{"SLACK_BOT_TOKEN", "xoxb-from-env"}}), file);
    CHECK(r.errors.empty());
    CHECK(r.config.listen == "0.0.0.0:9090");
    CHECK(r.config.announce_channel == "ops incidents");
    CHECK(r.config.public_url == "https://bot.example.com");
    CHECK(r.config.slack_bot_token == "xoxb-from-env");
    CHECK(r.config.slack_app_token == "xapp-from-file");
    CHECK(r.config.reminders.digest_hour == 7);
    CHECK(r.origins.at("SLACK_BOT_TOKEN") == "the environment");
    CHECK(r.origins.at("SLACK_APP_TOKEN") == "bot.conf line 8");
    CHECK(r.where("INCIDENT_BOT_LISTEN") == "INCIDENT_BOT_LISTEN (set in bot.conf line 3)");
}

TEST_CASE("config file: unknown keys, lines without = and repeated keys are errors with the line") {
    const ConfigFile file = parse_config_file(
        "INCIDENT_BOT_LISTN=127.0.0.1:8080\n"
        "SLACK_BOT_TOKEN xoxb-pasted-without-equals\n"
        "INCIDENT_BOT_DB=/var/lib/a.db\n"
        "INCIDENT_BOT_DB=/var/lib/b.db\n"
        "lower_case=1\n"
        "NOT_A_SETTING=1\n",
        "/etc/incident-bot/incident-bot.conf");
    REQUIRE(file.errors.size() == 5);
    CHECK(file.errors[0].text() ==
          "/etc/incident-bot/incident-bot.conf:1: unknown key "
          "INCIDENT_BOT_LISTN (did you mean INCIDENT_BOT_LISTEN?)");
    CHECK(file.errors[1].text() ==
          "/etc/incident-bot/incident-bot.conf:2: expected KEY=value "
          "(comments are lines starting with #)");
    // A line without '=' may be a pasted secret: it is never echoed.
    CHECK_FALSE(has(file.errors[1].text(), "pasted"));
    CHECK(file.errors[2].text() ==
          "/etc/incident-bot/incident-bot.conf:4: INCIDENT_BOT_DB is set "
          "twice (first on line 3)");
    CHECK(has(file.errors[3].text(), ":5: `lower_case` is not a key"));
    CHECK(file.errors[4].text() ==
          "/etc/incident-bot/incident-bot.conf:6: unknown key NOT_A_SETTING");
    CHECK(file.values.at("INCIDENT_BOT_DB").text == "/var/lib/a.db");

    // The file's errors come first in the configuration's errors.
    const ConfigResult r = load_config(environment({}), file);
    REQUIRE(r.errors.size() >= 5);
    CHECK(r.errors[0].text() == file.errors[0].text());
}

TEST_CASE("config file: bad values are errors naming the key and its line") {
    const ConfigFile file = parse_config_file(
        "# comment\n"
        "INCIDENT_BOT_LISTEN=nope\n"
        "INCIDENT_BOT_REMIND_TICK_SECONDS=soon\n"
        "INCIDENT_BOT_LOG_FORMAT=xml\n"
        "SLACK_BOT_TOKEN=xoxp-user-token-secret\n"
        "SLACK_APP_TOKEN=xapp-1\n"
        "INCIDENT_BOT_WEBHOOK_URL=https://hooks.example.com/x\n",
        "bot.conf");
    REQUIRE(file.errors.empty());
    const ConfigResult r = load_config(environment({}), file);
    CHECK(has(error_with(r, "INCIDENT_BOT_LISTEN"),
              "bot.conf:2: INCIDENT_BOT_LISTEN must be host:port"));
    CHECK(has(error_with(r, "INCIDENT_BOT_REMIND_TICK_SECONDS"),
              "bot.conf:3: INCIDENT_BOT_REMIND_TICK_SECONDS must be a number of seconds"));
    CHECK(error_with(r, "INCIDENT_BOT_LOG_FORMAT") ==
          "bot.conf:4: INCIDENT_BOT_LOG_FORMAT must be text or json, not `xml`.");
    const std::string token = error_with(r, "SLACK_BOT_TOKEN must");
    CHECK(has(token, "bot.conf:5: SLACK_BOT_TOKEN must be a bot token starting with xoxb-"));
    CHECK_FALSE(has(token, "user-token-secret"));
    // An error about two keys points at the first one the file set.
    CHECK(has(error_with(r, "INCIDENT_BOT_WEBHOOK_SECRET"),
              "bot.conf:7: INCIDENT_BOT_WEBHOOK_URL is set"));
    const auto listen = std::find_if(r.errors.begin(), r.errors.end(), [](const ConfigError& e) {
        return e.keys.front() == "INCIDENT_BOT_LISTEN";
    });
    REQUIRE(listen != r.errors.end());
    CHECK(listen->file == "bot.conf");
    CHECK(listen->line == 2);
}

TEST_CASE("config file: a value from the environment is not blamed on the file") {
    const ConfigFile file = parse_config_file("INCIDENT_BOT_LISTEN=127.0.0.1:8080\n", "bot.conf");
    const ConfigResult r = load_config(environment({{"INCIDENT_BOT_LISTEN", "nope"}}), file);
    CHECK(error_with(r, "INCIDENT_BOT_LISTEN") ==
          "INCIDENT_BOT_LISTEN must be host:port, e.g. 127.0.0.1:8080.");
}

TEST_CASE("config file: an unreadable file is one error that names it") {
    const ConfigFile file = read_config_file("/nonexistent/incident-bot.conf");
    REQUIRE(file.errors.size() == 1);
    CHECK(has(file.errors[0].text(),
              "cannot read the configuration file /nonexistent/incident-bot.conf"));
}

TEST_CASE("config: the key list is exactly what load_config reads") {
    std::set<std::string> asked;
    load_config([&](const std::string& name) -> std::optional<std::string> {
        asked.insert(name);
        return std::nullopt;
    });
    std::set<std::string> listed;
    for (const auto key : config_keys()) listed.emplace(key);
    CHECK(asked == listed);
}

TEST_CASE("config file: the example documents every key and loads without errors") {
    const std::string text = read_file(k_example);
    REQUIRE_FALSE(text.empty());
    for (const auto key : config_keys()) {
        CHECK_MESSAGE(has(text, std::string(key) + "="), key << " is not in the example");
    }
    // And nothing else: every KEY= line, commented out or not, is a key of the table.
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (line.starts_with("# ")) line.erase(0, 2);
        const auto equals = line.find('=');
        if (equals == std::string::npos || line.empty() || line[0] < 'A' || line[0] > 'Z') {
            continue;
        }
        const std::string key = line.substr(0, equals);
        if (key.find(' ') != std::string::npos) continue;
        const auto keys = config_keys();
        CHECK_MESSAGE(std::find(keys.begin(), keys.end(), key) != keys.end(),
                      key << " is in the example but not in the settings table");
    }
    const ConfigFile file = parse_config_file(text, k_example);
    CHECK(file.errors.empty());
    const ConfigResult r = load_config(environment({}), file);
    CHECK(r.errors.empty());
    for (const auto& e : r.errors) MESSAGE(e.text());
}

TEST_CASE("config file: an unknown key is matched within its family, or pointed to the list") {
    const ConfigFile file = parse_config_file(
        "INCIDENT_BOT_REMIND_SEV1=600\n"
        "INCIDENT_BOT_REMIND_STATUS_SEV1_SECOND=600\n"
        "SLACK_BOT_TOKN=x\n"
        "TOTALLY_UNRELATED=1\n",
        "bot.conf");
    REQUIRE(file.errors.size() == 4);
    CHECK(file.errors[0].text() ==
          "bot.conf:1: unknown key INCIDENT_BOT_REMIND_SEV1 (the INCIDENT_BOT_REMIND_* keys are "
          "listed in deploy/incident-bot.conf.example)");
    CHECK(file.errors[1].text() ==
          "bot.conf:2: unknown key INCIDENT_BOT_REMIND_STATUS_SEV1_SECOND (did you mean "
          "INCIDENT_BOT_REMIND_STATUS_SEV1_SECONDS?)");
    CHECK(file.errors[2].text() ==
          "bot.conf:3: unknown key SLACK_BOT_TOKN (did you mean SLACK_BOT_TOKEN?)");
    CHECK(file.errors[3].text() == "bot.conf:4: unknown key TOTALLY_UNRELATED");
}

TEST_CASE("--config: the binary refuses a bad file with exit status 2, naming key and line") {
    TempDir dir("config");
    const auto conf = dir.path / "bot.conf";
    std::ofstream(conf) << "INCIDENT_BOT_DB=" << (dir.path / "bot.db").string() << "\n"
                        << "INCIDENT_BOT_LISTEN=127.0.0.1:0\n"
                        << "INCIDENT_BOT_DIGEST_HOUR=9\n"
                        << "INCIDENT_BOT_REMIND_DIGEST_HOUR=25\n";
    const Run bad = run_binary({"--config", conf.string(), "console"}, {}, dir.path);
    CHECK(bad.status == 2);
    CHECK(has(bad.err, conf.string() + ":3: unknown key INCIDENT_BOT_DIGEST_HOUR (did you mean "
                                       "INCIDENT_BOT_REMIND_DIGEST_HOUR?)"));
    CHECK(has(bad.err, conf.string() + ":4: INCIDENT_BOT_REMIND_DIGEST_HOUR must be an hour"));

    const Run missing = run_binary({"--config", (dir.path / "nope.conf").string()}, {}, dir.path);
    CHECK(missing.status == 2);
    CHECK(has(missing.err, "cannot read the configuration file"));

    // The environment wins: the same file with the bad line overridden runs.
    std::ofstream(conf) << "INCIDENT_BOT_DB=" << (dir.path / "bot.db").string() << "\n"
                        << "INCIDENT_BOT_LISTEN=nope\n";
    const auto script = dir.path / "script.txt";
    std::ofstream(script) << "/incident declare sev3 From the config file\n/quit\n";
    const Run good = run_binary({"--config", conf.string(), "console"},
                                {"INCIDENT_BOT_LISTEN=127.0.0.1:0"}, dir.path, script);
    CAPTURE(good.err);
    CHECK(good.status == 0);
    CHECK(has(good.out, "INC-1 declared"));
    CHECK(std::filesystem::exists(dir.path / "bot.db"));
}

TEST_CASE("--config: an invalid alert rule stops the bot at start-up, naming its line") {
    TempDir dir("config-rules");
    const auto conf = dir.path / "bot.conf";
    std::ofstream(conf) << "INCIDENT_BOT_DB=" << (dir.path / "bot.db").string() << "\n"
                        << "INCIDENT_BOT_LISTEN=127.0.0.1:0\n"
                        << "# alerts\n"
                        << "INCIDENT_BOT_ALERT_RULES=alertname=Watchdog -> ignore; env=staging "
                           "-> shout\n";
    const auto script = dir.path / "script.txt";
    std::ofstream(script) << "/incident declare sev3 Never declared\n/quit\n";
    const Run bad = run_binary({"--config", conf.string(), "console"}, {}, dir.path, script);
    CHECK(bad.status == 2);
    CHECK(has(bad.err,
              conf.string() + ":4: INCIDENT_BOT_ALERT_RULES rule 2 (`env=staging -> shout`)"));
    CHECK_FALSE(has(bad.out, "declared"));
    CHECK_FALSE(std::filesystem::exists(dir.path / "bot.db"));
}

TEST_CASE("README: its settings table is the one the code reads") {
    const std::string readme = read_file(std::string(INCIDENT_BOT_SOURCE_DIR) + "/README.md");
    const std::string begin = "<!-- settings:begin -->\n", end = "<!-- settings:end -->";
    const auto from = readme.find(begin), to = readme.find(end);
    REQUIRE(from != std::string::npos);
    REQUIRE(to != std::string::npos);
    const std::string documented = readme.substr(from + begin.size(), to - from - begin.size());
    CHECK_MESSAGE(documented == settings_markdown(),
                  "README.md's settings table is stale; replace it with:\n"
                      << settings_markdown());
}

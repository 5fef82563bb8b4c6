#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <string>

#include "bot/config.hpp"

using namespace incident;

namespace {

ConfigResult load(const std::map<std::string, std::string>& vars) {
    return load_config([vars](const std::string& name) -> std::optional<std::string> {
        const auto it = vars.find(name);
        if (it == vars.end()) return std::nullopt;
        return it->second;
    });
}

// The one error that names `variable`; fails the test when there is not exactly one.
std::string error_about(const ConfigResult& result, const std::string& variable) {
    std::string found;
    int count = 0;
    for (const auto& e : result.errors) {
        if (e.text().find(variable) != std::string::npos) {
            found = e.text();
            ++count;
        }
    }
    CHECK_MESSAGE(count == 1, variable);
    return found;
}

const std::map<std::string, std::string> k_email{
    {"INCIDENT_BOT_SMTP_URL", "smtp://mail.example.com:587"},
    {"INCIDENT_BOT_SMTP_FROM", "Incident Bot <bot@example.com>"},
    {"INCIDENT_BOT_STAKEHOLDER_EMAILS", " cto@example.com, support@example.com ,"},
};

}  // namespace

TEST_CASE("config: reminder defaults") {
    const ConfigResult r = load({});
    CHECK(r.errors.empty());
    const ReminderPolicy& p = r.config.reminders;
    CHECK(p.status_interval(Severity::sev1) == 30 * k_minute_ms);
    CHECK(p.status_interval(Severity::sev2) == 60 * k_minute_ms);
    CHECK(p.status_interval(Severity::sev3) == 4 * k_hour_ms);
    CHECK(p.status_interval(Severity::sev4) == 24 * k_hour_ms);
    CHECK(p.status_interval(Severity::sev5) == 0);
    CHECK(p.no_commander_after == 10 * k_minute_ms);
    CHECK(p.postmortem_before == 2 * k_day_ms);
    CHECK(p.postmortem_repeat == k_day_ms);
    CHECK(p.digest_hour == 9);
    CHECK_FALSE(r.config.webhook_enabled());
    CHECK_FALSE(r.config.email_enabled());
}

TEST_CASE("config: reminder intervals in seconds, off, and errors naming the variable") {
    ConfigResult r = load({{"INCIDENT_BOT_REMIND_STATUS_SEV1_SECONDS", "5"},
                           {"INCIDENT_BOT_REMIND_STATUS_SEV5_SECONDS", "60"},
                           {"INCIDENT_BOT_REMIND_STATUS_SEV4_SECONDS", "off"},
                           {"INCIDENT_BOT_REMIND_NO_COMMANDER_SECONDS", "0"},
                           {"INCIDENT_BOT_REMIND_NO_COMMANDER_REPEAT_SECONDS", "7"},
                           {"INCIDENT_BOT_REMIND_POSTMORTEM_BEFORE_SECONDS", "3600"},
                           {"INCIDENT_BOT_REMIND_POSTMORTEM_REPEAT_SECONDS", "2"},
                           {"INCIDENT_BOT_REMIND_DIGEST_HOUR", "off"},
                           {"INCIDENT_BOT_REMIND_TICK_SECONDS", "1"}});
    CHECK(r.errors.empty());
    const ReminderPolicy& p = r.config.reminders;
    CHECK(p.status_update[0] == 5000);
    CHECK(p.status_update[1] == 60 * k_minute_ms);
    CHECK(p.status_update[3] == 0);
    CHECK(p.status_update[4] == 60'000);
    CHECK(p.no_commander_after == 0);
    CHECK(p.no_commander_repeat == 7000);
    CHECK(p.postmortem_before == k_hour_ms);
    CHECK(p.postmortem_repeat == 2000);
    CHECK_FALSE(p.digest_hour);
    CHECK(p.tick == 1000);
    CHECK(r.config.describe().find("status updates SEV1-5 5s/3600s/14400s/off/60s") !=
          std::string::npos);

    r = load({{"INCIDENT_BOT_REMIND_STATUS_SEV2_SECONDS", "1h"},
              {"INCIDENT_BOT_REMIND_NO_COMMANDER_SECONDS", "-5"},
              {"INCIDENT_BOT_REMIND_POSTMORTEM_REPEAT_SECONDS", "99999999999"},
              {"INCIDENT_BOT_REMIND_DIGEST_HOUR", "24"},
              {"INCIDENT_BOT_REMIND_TICK_SECONDS", "0"}});
    CHECK(r.errors.size() == 5);
    CHECK(error_about(r, "INCIDENT_BOT_REMIND_STATUS_SEV2_SECONDS").find("`1h`") !=
          std::string::npos);
    error_about(r, "INCIDENT_BOT_REMIND_NO_COMMANDER_SECONDS");
    error_about(r, "INCIDENT_BOT_REMIND_POSTMORTEM_REPEAT_SECONDS");
    CHECK(error_about(r, "INCIDENT_BOT_REMIND_DIGEST_HOUR").find("0 to 23") != std::string::npos);
    CHECK(error_about(r, "INCIDENT_BOT_REMIND_TICK_SECONDS").find("at least 1") !=
          std::string::npos);
    CHECK(load({{"INCIDENT_BOT_REMIND_DIGEST_HOUR", "0"}}).config.reminders.digest_hour == 0);
}

TEST_CASE("config: webhook needs an http(s) URL and a secret, which is never shown") {
    ConfigResult r = load({{"INCIDENT_BOT_WEBHOOK_URL", "https://hooks.example.com/T1/s3cr3t-path"},
                           {"INCIDENT_BOT_WEBHOOK_SECRET", "hunter2"}});
    CHECK(r.errors.empty());
    CHECK(r.config.webhook_enabled());
    const std::string described = r.config.describe();
    CHECK(described.find("webhook: https://hooks.example.com (secret set)") != std::string::npos);
    CHECK(described.find("hunter2") == std::string::npos);
    CHECK(described.find("s3cr3t-path") == std::string::npos);

    r = load({{"INCIDENT_BOT_WEBHOOK_URL", "https://hooks.example.com/x"}});
    error_about(r, "INCIDENT_BOT_WEBHOOK_SECRET");
    r = load({{"INCIDENT_BOT_WEBHOOK_URL", "ftp://x"}, {"INCIDENT_BOT_WEBHOOK_SECRET", "s"}});
    CHECK(r.errors.size() == 1);
    CHECK(r.errors[0].text().starts_with("INCIDENT_BOT_WEBHOOK_URL must start with"));
    r = load({{"INCIDENT_BOT_WEBHOOK_SECRET", "s"}});
    CHECK(r.errors.size() == 1);
}

TEST_CASE("config: email settings") {
    ConfigResult r = load(k_email);
    CHECK(r.errors.empty());
    CHECK(r.config.email_enabled());
    CHECK(r.config.stakeholder_emails ==
          std::vector<std::string>{"cto@example.com", "support@example.com"});
    CHECK_FALSE(r.config.smtp_require_tls);  // no credentials: STARTTLS when offered

    auto vars = k_email;
    vars["INCIDENT_BOT_SMTP_USER"] = "bot";
    vars["INCIDENT_BOT_SMTP_PASSWORD"] = "p4ssw0rd";
    r = load(vars);
    CHECK(r.errors.empty());
    CHECK(r.config.smtp_require_tls);  // a password never goes out in clear text
    CHECK(r.config.describe().find("p4ssw0rd") == std::string::npos);
    CHECK(r.config.describe().find("password set") != std::string::npos);
    vars["INCIDENT_BOT_SMTP_STARTTLS"] = "try";
    CHECK_FALSE(load(vars).config.smtp_require_tls);
    vars["INCIDENT_BOT_SMTP_STARTTLS"] = "maybe";
    error_about(load(vars), "INCIDENT_BOT_SMTP_STARTTLS");
}

TEST_CASE("config: email errors name the variable and never echo a password") {
    auto vars = k_email;
    vars["INCIDENT_BOT_SMTP_URL"] = "smtp://bot:p4ssw0rd@mail.example.com:587";
    ConfigResult r = load(vars);
    const std::string error = error_about(r, "INCIDENT_BOT_SMTP_URL");
    CHECK(error.find("p4ssw0rd") == std::string::npos);
    CHECK(error.find("INCIDENT_BOT_SMTP_USER") != std::string::npos);

    vars = k_email;
    vars["INCIDENT_BOT_SMTP_URL"] = "http://mail.example.com";
    error_about(load(vars), "INCIDENT_BOT_SMTP_URL");
    vars["INCIDENT_BOT_SMTP_URL"] = "smtps://";
    CHECK(error_about(load(vars), "INCIDENT_BOT_SMTP_URL").find("no host") != std::string::npos);

    vars = k_email;
    vars.erase("INCIDENT_BOT_SMTP_FROM");
    error_about(load(vars), "INCIDENT_BOT_SMTP_FROM");
    vars["INCIDENT_BOT_SMTP_FROM"] = "bot@example.com\r\nBcc: everyone@example.com";
    error_about(load(vars), "INCIDENT_BOT_SMTP_FROM");

    vars = k_email;
    vars["INCIDENT_BOT_STAKEHOLDER_EMAILS"] = "cto@example.com, not an address";
    CHECK(error_about(load(vars), "INCIDENT_BOT_STAKEHOLDER_EMAILS").find("`not an address`") !=
          std::string::npos);
    vars["INCIDENT_BOT_STAKEHOLDER_EMAILS"] = " , ";
    error_about(load(vars), "INCIDENT_BOT_STAKEHOLDER_EMAILS");

    vars = k_email;
    vars["INCIDENT_BOT_SMTP_USER"] = "bot";
    error_about(load(vars), "INCIDENT_BOT_SMTP_PASSWORD");

    r = load({{"INCIDENT_BOT_STAKEHOLDER_EMAILS", "cto@example.com"}});
    CHECK(r.errors.size() == 1);
    CHECK(r.errors[0].text().starts_with("INCIDENT_BOT_SMTP_URL is not set"));
}

TEST_CASE("config: socket liveness, 5 s by default, in seconds from 2 to 600") {
    CHECK(load({}).config.socket_dead_after_seconds == 5);
    CHECK(load({}).config.describe().find("socket liveness: dead after 5s of silence") !=
          std::string::npos);
    const auto set = load({{"INCIDENT_BOT_SOCKET_DEAD_AFTER_SECONDS", " 12 "}});
    CHECK(set.errors.empty());
    CHECK(set.config.socket_dead_after_seconds == 12);
    for (const std::string bad : {"1", "601", "five", "-3", "2.5"}) {
        CAPTURE(bad);
        const auto result = load({{"INCIDENT_BOT_SOCKET_DEAD_AFTER_SECONDS", bad}});
        CHECK(error_about(result, "INCIDENT_BOT_SOCKET_DEAD_AFTER_SECONDS")
                  .find("from 2 to 600, not `" + bad + "`") != std::string::npos);
        CHECK(result.config.socket_dead_after_seconds == 5);
    }
}

TEST_CASE("config: the outbox's retry window and the retention, in seconds, nonsense refused") {
    const ConfigResult defaults = load({});
    CHECK(defaults.errors.empty());
    CHECK(defaults.config.outbox_retry_ms == 24 * k_hour_ms);
    CHECK(defaults.config.retention_ms == 7 * k_day_ms);
    CHECK(defaults.config.describe().find(
              "outbox: effects refused for now retried for 86400s, delivered ones and event ids "
              "kept 604800s") != std::string::npos);

    const auto set = load({{"INCIDENT_BOT_OUTBOX_RETRY_SECONDS", " 30 "},
                           {"INCIDENT_BOT_RETENTION_SECONDS", "86400"}});
    CHECK(set.errors.empty());
    CHECK(set.config.outbox_retry_ms == 30 * k_second_ms);
    CHECK(set.config.retention_ms == k_day_ms);

    for (const std::string bad : {"0", "off", "1h", "-5", "2.5", "99999999999", "31622401"}) {
        CAPTURE(bad);
        const auto result = load({{"INCIDENT_BOT_OUTBOX_RETRY_SECONDS", bad}});
        CHECK(error_about(result, "INCIDENT_BOT_OUTBOX_RETRY_SECONDS")
                  .starts_with("INCIDENT_BOT_OUTBOX_RETRY_SECONDS must be a number of seconds "
                               "from 1 to 31622400"));
        CHECK(result.config.outbox_retry_ms == 24 * k_hour_ms);
    }
    // Shorter than a platform may deliver an event again: a redelivery would be taken for new.
    for (const std::string bad : {"0", "3600", "86399", "7d", "31622401"}) {
        CAPTURE(bad);
        const auto result = load({{"INCIDENT_BOT_RETENTION_SECONDS", bad}});
        const std::string error = error_about(result, "INCIDENT_BOT_RETENTION_SECONDS");
        CHECK(
            error.starts_with("INCIDENT_BOT_RETENTION_SECONDS must be a number of seconds from "
                              "86400 (a day) to 31622400, not `" +
                              bad + "`"));
        CHECK(error.find("delivers again") != std::string::npos);
        CHECK(result.config.retention_ms == 7 * k_day_ms);
    }
}

TEST_CASE("config: alert sources are enabled by their secrets, which are never shown") {
    ConfigResult r = load({});
    CHECK(r.errors.empty());
    std::string described = r.config.describe();
    CHECK(described.find("Alertmanager and Grafana disabled (no token), PagerDuty disabled") !=
          std::string::npos);

    r = load({{"INCIDENT_BOT_ALERTS_TOKEN", " am-t0ken "},
              {"INCIDENT_BOT_PAGERDUTY_WEBHOOK_SECRET", " pd+Secret/42= "}});
    CHECK(r.errors.empty());
    CHECK(r.config.alerts_token == "am-t0ken");
    CHECK(r.config.pagerduty_webhook_secret == "pd+Secret/42=");
    described = r.config.describe();
    CHECK(described.find("/alerts/alertmanager and /alerts/grafana (token set), PagerDuty "
                         "/alerts/pagerduty (secret set)") != std::string::npos);
    CHECK(described.find("am-t0ken") == std::string::npos);
    CHECK(described.find("pd+Secret/42=") == std::string::npos);
    const auto secrets = r.config.secrets();
    CHECK(std::find(secrets.begin(), secrets.end(), "am-t0ken") != secrets.end());
    CHECK(std::find(secrets.begin(), secrets.end(), "pd+Secret/42=") != secrets.end());

    r = load({{"INCIDENT_BOT_ALERTS_TOKEN", "two words"}});
    CHECK(error_about(r, "INCIDENT_BOT_ALERTS_TOKEN").find("two words") == std::string::npos);
}

TEST_CASE("config: PagerDuty follow-up needs the token and a From email, the token never shown") {
    ConfigResult r = load({});
    CHECK_FALSE(r.config.pagerduty_api_enabled());
    CHECK(r.config.describe().find("pagerduty follow-up: disabled") != std::string::npos);

    r = load({{"INCIDENT_BOT_PAGERDUTY_API_TOKEN", " y_NbAkKc66ryYTWUXYEu "},
              {"INCIDENT_BOT_PAGERDUTY_FROM", "oncall@example.com"}});
    CHECK(r.errors.empty());
    CHECK(r.config.pagerduty_api_enabled());
    CHECK(r.config.pagerduty_api_token == "y_NbAkKc66ryYTWUXYEu");
    CHECK(r.config.pagerduty_api_url == "https://api.pagerduty.com");
    const std::string described = r.config.describe();
    CHECK(described.find("pagerduty follow-up: https://api.pagerduty.com as oncall@example.com "
                         "(token set)") != std::string::npos);
    CHECK(described.find("y_NbAkKc66ryYTWUXYEu") == std::string::npos);
    const auto secrets = r.config.secrets();
    CHECK(std::find(secrets.begin(), secrets.end(), "y_NbAkKc66ryYTWUXYEu") != secrets.end());

    r = load({{"INCIDENT_BOT_PAGERDUTY_API_TOKEN", "y_NbAkKc66ryYTWUXYEu"}});
    CHECK(error_about(r, "INCIDENT_BOT_PAGERDUTY_FROM").find("email") != std::string::npos);
    r = load({{"INCIDENT_BOT_PAGERDUTY_API_URL", "api.pagerduty.com"}});
    CHECK_FALSE(error_about(r, "INCIDENT_BOT_PAGERDUTY_API_URL").empty());
}

TEST_CASE("config: the status page's title and components") {
    const ConfigResult defaults = load({});
    CHECK(defaults.config.status_title == "Service status");
    CHECK(defaults.config.status_components.empty());
    CHECK(defaults.config.describe().find("status page: /status \"Service status\", no "
                                          "components") != std::string::npos);

    const ConfigResult set =
        load({{"INCIDENT_BOT_STATUS_TITLE", "  Example & Co  "},
              {"INCIDENT_BOT_STATUS_COMPONENTS", " API, Web app ,,Payments "}});
    CHECK(set.errors.empty());
    CHECK(set.config.status_title == "Example & Co");
    CHECK(set.config.status_components == std::vector<std::string>{"API", "Web app", "Payments"});
    CHECK(set.config.describe().find("3 component(s)") != std::string::npos);

    const ConfigResult twice = load({{"INCIDENT_BOT_STATUS_COMPONENTS", "API, api"}});
    CHECK(error_about(twice, "INCIDENT_BOT_STATUS_COMPONENTS").find("`api` twice") !=
          std::string::npos);
    CHECK(twice.config.status_components == std::vector<std::string>{"API"});
    const ConfigResult long_title = load({{"INCIDENT_BOT_STATUS_TITLE", std::string(121, 'x')}});
    CHECK_FALSE(error_about(long_title, "INCIDENT_BOT_STATUS_TITLE").empty());
}

TEST_CASE("config: Statuspage needs its page and key, maps components, never shows the key") {
    const ConfigResult off = load({});
    CHECK_FALSE(off.config.statuspage_enabled());
    CHECK(off.config.statuspage_api_url == "https://api.statuspage.io/v1/");

    const std::string key = "sp-0a1b2c3d4e5f";
    const ConfigResult on = load({{"INCIDENT_BOT_STATUS_COMPONENTS", "API, Web app"},
                                  {"INCIDENT_BOT_STATUSPAGE_PAGE_ID", " qfn30z5r6s5h "},
                                  {"INCIDENT_BOT_STATUSPAGE_API_KEY", key},
                                  {"INCIDENT_BOT_STATUSPAGE_COMPONENTS", "api=8kbf7d35c070"}});
    CHECK(on.errors.empty());
    CHECK(on.config.statuspage_enabled());
    CHECK(on.config.statuspage_page_id == "qfn30z5r6s5h");
    // Keyed by our spelling of the component, whatever case the mapping used.
    CHECK(on.config.statuspage_components ==
          std::map<std::string, std::string>{{"API", "8kbf7d35c070"}});
    const std::string described = on.config.describe();
    CHECK(described.find("page qfn30z5r6s5h (key set, 1 component id(s))") != std::string::npos);
    CHECK(described.find(key) == std::string::npos);
    const auto secrets = on.config.secrets();
    CHECK(std::find(secrets.begin(), secrets.end(), key) != secrets.end());

    const ConfigResult half = load({{"INCIDENT_BOT_STATUSPAGE_PAGE_ID", "qfn30z5r6s5h"}});
    CHECK(error_about(half, "INCIDENT_BOT_STATUSPAGE_PAGE_ID").find("go together") !=
          std::string::npos);
    const ConfigResult bad_page = load({{"INCIDENT_BOT_STATUSPAGE_PAGE_ID", "../admin"},
                                        {"INCIDENT_BOT_STATUSPAGE_API_KEY", key}});
    CHECK_FALSE(error_about(bad_page, "INCIDENT_BOT_STATUSPAGE_PAGE_ID").empty());
    const ConfigResult unknown = load({{"INCIDENT_BOT_STATUS_COMPONENTS", "API"},
                                       {"INCIDENT_BOT_STATUSPAGE_COMPONENTS", "Billing=abc123"}});
    CHECK(error_about(unknown, "INCIDENT_BOT_STATUSPAGE_COMPONENTS").find("`Billing`") !=
          std::string::npos);
    const ConfigResult no_id = load(
        {{"INCIDENT_BOT_STATUS_COMPONENTS", "API"}, {"INCIDENT_BOT_STATUSPAGE_COMPONENTS", "API"}});
    CHECK_FALSE(error_about(no_id, "INCIDENT_BOT_STATUSPAGE_COMPONENTS").empty());
}

TEST_CASE("config: the Mattermost action secret is read, described as set and never shown") {
    const std::map<std::string, std::string> base{{"MATTERMOST_URL", "https://chat.example.com"},
                                                  {"MATTERMOST_TOKEN", "mm-bot-t0ken"},
                                                  {"MATTERMOST_TEAM", "ops"}};
    auto r = load(base);
    CHECK(r.errors.empty());
    CHECK(r.config.mattermost_action_secret.empty());
    CHECK(r.config.describe().find("action secret derived from the token") != std::string::npos);

    auto vars = base;
    vars["MATTERMOST_ACTION_SECRET"] = " Bu770ns-k3y ";
    r = load(vars);
    CHECK(r.errors.empty());
    CHECK(r.config.mattermost_action_secret == "Bu770ns-k3y");
    const std::string described = r.config.describe();
    CHECK(described.find("action secret set") != std::string::npos);
    CHECK(described.find("Bu770ns-k3y") == std::string::npos);
    const auto secrets = r.config.secrets();
    CHECK(std::find(secrets.begin(), secrets.end(), "Bu770ns-k3y") != secrets.end());
}

TEST_CASE("settings table: every key once, and every secret row kept out of logs") {
    std::map<std::string, std::string> vars;
    int n = 0;
    const auto keys = config_keys();
    for (const Setting& setting : settings_table()) {
        CHECK_MESSAGE(std::count(keys.begin(), keys.end(), setting.key) == 1, setting.key);
        CHECK_FALSE(setting.description.empty());
        CHECK((setting.text != nullptr || setting.parse != nullptr));
        // A secret has no default to print, and is a text field so logs can redact it.
        if (setting.secret) {
            CHECK(setting.fallback.empty());
            REQUIRE(setting.text != nullptr);
        }
        if (setting.secret && setting.parse == nullptr) {
            vars[std::string(setting.key)] = "s3cret-" + std::to_string(++n);
        }
    }
    REQUIRE(n >= 8);
    const ConfigResult r = load(vars);
    const auto secrets = r.config.secrets();
    for (const auto& [key, value] : vars) {
        CHECK_MESSAGE(std::find(secrets.begin(), secrets.end(), value) != secrets.end(), key);
        CHECK_MESSAGE(r.config.describe().find(value) == std::string::npos, key);
    }
}

TEST_CASE("settings table: --help lists every key with its default, never a secret's value") {
    const std::string help = settings_help();
    for (const Setting& setting : settings_table()) {
        CHECK_MESSAGE(help.find("  " + std::string(setting.key) + "\n") != std::string::npos,
                      setting.key);
    }
    CHECK(help.find("INCIDENT_BOT_LISTEN\n      host:port") != std::string::npos);
    CHECK(help.find("(default: 127.0.0.1:8080)") != std::string::npos);
    CHECK(help.find("SLACK_BOT_TOKEN\n      the Bot User OAuth Token (xoxb-...): turns Slack on "
                    "(secret)") != std::string::npos);
    CHECK(help.find("\nslack:\n") != std::string::npos);
}

TEST_CASE("config errors are structured: the keys they are about, not text to search") {
    const ConfigResult r =
        load({{"INCIDENT_BOT_WEBHOOK_SECRET", "x"}, {"INCIDENT_BOT_LOG_LEVEL", "loud"}});
    REQUIRE(r.errors.size() == 2);
    CHECK(r.errors[0].keys == std::vector<std::string>{"INCIDENT_BOT_LOG_LEVEL"});
    CHECK(r.errors[0].line == 0);
    CHECK(r.errors[0].text() == r.errors[0].message);
    CHECK(r.errors[1].keys ==
          std::vector<std::string>{"INCIDENT_BOT_WEBHOOK_SECRET", "INCIDENT_BOT_WEBHOOK_URL"});
}

TEST_CASE("url_origin: what may be shown of a URL, never its userinfo, path or query") {
    CHECK(url_origin("https://user:p4ss@hooks.example.com:8443/T0/B1/s3cr3t?token=x#y") ==
          "https://hooks.example.com:8443");
    CHECK(url_origin("smtp://mail.example.com:587") == "smtp://mail.example.com:587");
    CHECK(url_origin("hooks.example.com/s3cr3t") == "(not a URL)");
}

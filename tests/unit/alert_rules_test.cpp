#include <doctest/doctest.h>

#include "bot/alert_rules.hpp"
#include "bot/alerts.hpp"
#include "bot/config.hpp"
#include "fixture.hpp"

using namespace incident;
using incident::testing::Bot;
using incident::testing::k_start;

namespace {

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

std::vector<AlertRule> rules(const std::string& text) {
    const AlertRulesParse parsed = parse_alert_rules(text);
    REQUIRE_MESSAGE(parsed.error.empty(), parsed.error);
    return parsed.rules;
}

const AlertRule* decide(const std::vector<AlertRule>& list,
                        const std::map<std::string, std::string>& labels) {
    return first_matching(list, labels);
}

Alert firing(const std::string& fingerprint, std::map<std::string, std::string> labels) {
    Alert a;
    a.source = "alertmanager";
    a.group_key = "{}:{alertname=\"" + labels["alertname"] + "\"}";
    a.fingerprint = fingerprint;
    a.status = "firing";
    a.labels = std::move(labels);
    a.starts_at = k_start - 60'000;
    return a;
}

AlertNotification group_of(const Alert& alert) {
    AlertNotification n;
    n.source = alert.source;
    n.group_key = alert.group_key;
    n.group_labels = {{"alertname", alert.labels.at("alertname")}};
    n.alerts = {alert};
    return n;
}

std::vector<std::string> announcements(const Outcome& outcome) {
    std::vector<std::string> out;
    for (const auto& effect : outcome.effects) {
        const auto* post = std::get_if<PostMessage>(&effect);
        if (post && std::holds_alternative<ToAnnouncements>(post->to)) out.push_back(post->text);
    }
    return out;
}

}  // namespace

TEST_SUITE("alert rules") {
    TEST_CASE("matchers: equal, not equal, whole-value regex, and a missing label is empty") {
        const auto list = rules(
            "alertname=Watchdog -> ignore; env!=prod, team=~db|storage -> open sev4;"
            " severity!~crit.* -> announce; * -> open");
        REQUIRE(list.size() == 4);
        CHECK(decide(list, {{"alertname", "Watchdog"}})->action == AlertRule::Action::ignore);
        const AlertRule* db = decide(list, {{"team", "db"}, {"env", "staging"}});
        CHECK(db->action == AlertRule::Action::open);
        CHECK(db->severity == Severity::sev4);
        // env missing is "" (not prod); the regex must match the whole value.
        CHECK(decide(list, {{"team", "storage"}}) == db);
        CHECK(decide(list, {{"team", "dbx"}, {"severity", "critical"}}) == &list[3]);
        CHECK(decide(list, {{"team", "db"}, {"env", "prod"}, {"severity", "warning"}}) == &list[2]);
        CHECK_FALSE(list[3].severity);
        CHECK(rules("").empty());
        CHECK(decide(rules("team=db -> ignore"), {{"team", "web"}}) == nullptr);
    }

    TEST_CASE("a bad rule is named by its number with what is wrong, and none is kept") {
        const std::pair<const char*, const char*> bad[] = {
            {"alertname=Watchdog", "no `->`"},
            {" -> ignore", "no labels"},
            {"team=db -> page", "the action must be"},
            {"team=db -> open sev9", "`sev9` is not a severity"},
            {"team=db -> ignore now", "the action must be"},
            {"team=~(db -> ignore", "not a valid regular expression"},
            {"9team=db -> ignore", "not a label name"},
            {"team db -> ignore", "is not label=value"},
            {"team!db -> ignore", "must be followed by = or ~"},
        };
        for (const auto& [text, why] : bad) {
            const AlertRulesParse parsed =
                parse_alert_rules("alertname=Watchdog -> ignore; " + std::string(text));
            CAPTURE(text);
            CHECK(parsed.rules.empty());
            CHECK(has(parsed.error, "rule 2 ("));
            CHECK(has(parsed.error, why));
        }
    }

    TEST_CASE("the settings refuse an invalid rule, naming the key, and count valid ones") {
        const auto load = [](const std::string& value) {
            return load_config([value](const std::string& name) -> std::optional<std::string> {
                if (name == "INCIDENT_BOT_ALERT_RULES") return value;
                return std::nullopt;
            });
        };
        ConfigResult r = load("alertname=Watchdog -> ignore; env=staging -> announce");
        CHECK(r.errors.empty());
        CHECK(has(r.config.describe(), "2 rule(s)"));
        r = load("alertname=Watchdog -> ignore; env=staging -> shout");
        REQUIRE(r.errors.size() == 1);
        CHECK(has(r.errors[0].text(), "INCIDENT_BOT_ALERT_RULES rule 2 (`env=staging -> shout`)"));
    }

    TEST_CASE("the intake: ignored alerts change nothing, announced ones are posted once") {
        Bot bot;
        AlertOptions options{"test", false};
        options.rules =
            rules("alertname=Watchdog -> ignore; env=staging -> announce; team=db -> open sev4");
        AlertIntake intake(bot.service, bot.store, options);

        const Alert watchdog = firing("w1", {{"alertname", "Watchdog"}});
        AlertIntakeResult r = intake.receive(group_of(watchdog));
        CHECK(r.ignored == 1);
        CHECK_FALSE(r.incident);
        CHECK(has(r.note, "the rules ignored 1"));
        CHECK(bot.service.list(true).empty());

        const Alert staging =
            firing("s1", {{"alertname", "DiskFull"}, {"env", "staging"}, {"severity", "critical"}});
        r = intake.receive(group_of(staging));
        CHECK(r.announced == 1);
        CHECK_FALSE(r.incident);
        const auto posted = announcements(r.outcome);
        REQUIRE(posted.size() == 1);
        CHECK(has(posted[0], "alertmanager"));
        CHECK(has(posted[0], "DiskFull"));
        // Alertmanager repeats the group: announced once.
        r = intake.receive(group_of(staging));
        CHECK(r.announced == 0);
        CHECK(announcements(r.outcome).empty());
        CHECK(bot.service.list(true).empty());

        // A rule's severity wins over the label's; no rule: the label decides.
        const Alert db =
            firing("d1", {{"alertname", "SlowQueries"}, {"team", "db"}, {"severity", "critical"}});
        r = intake.receive(group_of(db));
        REQUIRE(r.opened);
        CHECK(bot.service.require(*r.incident).severity == Severity::sev4);
        const Alert web =
            firing("x1", {{"alertname", "Errors"}, {"team", "web"}, {"severity", "critical"}});
        r = intake.receive(group_of(web));
        REQUIRE(r.opened);
        CHECK(bot.service.require(*r.incident).severity == Severity::sev1);
    }
}

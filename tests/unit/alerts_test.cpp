#include <doctest/doctest.h>

#include <algorithm>

#include "bot/alerts.hpp"
#include "bot/export_json.hpp"
#include "bot/postmortem.hpp"
#include "bot/text.hpp"
#include "fixture.hpp"

using namespace incident;
using incident::testing::Bot;
using incident::testing::k_start;

namespace {

constexpr Timestamp k_minute = 60'000;

Alert alert(const std::string& fingerprint, const std::string& instance,
            const std::string& severity = "critical", Timestamp starts = k_start - 5 * k_minute) {
    Alert a;
    a.source = "alertmanager";
    a.group_key = R"({}:{alertname="HighErrorRate", service="checkout"})";
    a.fingerprint = fingerprint;
    a.status = "firing";
    a.labels = {{"alertname", "HighErrorRate"},
                {"service", "checkout"},
                {"instance", instance},
                {"severity", severity}};
    a.annotations = {{"summary", "Checkout error rate above 5%"},
                     {"description", "5xx ratio is high on " + instance}};
    a.starts_at = starts;
    a.url = "http://prometheus.example.org:9090/graph?g0.expr=errors";
    return a;
}

AlertNotification notification(std::vector<Alert> alerts) {
    AlertNotification n;
    n.source = "alertmanager";
    n.group_key = R"({}:{alertname="HighErrorRate", service="checkout"})";
    n.group_labels = {{"alertname", "HighErrorRate"}, {"service", "checkout"}};
    n.common_annotations = {{"summary", "Checkout error rate above 5%"}};
    n.external_url = "http://alertmanager.example.org:9093";
    n.alerts = std::move(alerts);
    return n;
}

Alert resolved(Alert a, Timestamp ends) {
    a.status = "resolved";
    a.ends_at = ends;
    return a;
}

std::vector<TimelineEntry> alert_entries(Bot& bot, std::int64_t number) {
    std::vector<TimelineEntry> out;
    for (const auto& e : bot.service.timeline(number)) {
        if (e.kind == EntryKind::alert) out.push_back(e);
    }
    return out;
}

std::vector<std::string> posts_to_incident(const Outcome& outcome) {
    std::vector<std::string> out;
    for (const auto& effect : outcome.effects) {
        const auto* post = std::get_if<PostMessage>(&effect);
        if (post && std::holds_alternative<ToIncident>(post->to)) out.push_back(post->text);
    }
    return out;
}

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

struct AlertBot : Bot {
    AlertIntake intake{service, store, AlertOptions{"test", false}};
};

}  // namespace

TEST_CASE("alerts: severity comes from the severity label") {
    CHECK(severity_from_label("critical") == Severity::sev1);
    for (const char* v : {"high", "error", "major", "page", "HIGH"}) {
        CHECK(severity_from_label(v) == Severity::sev2);
    }
    for (const char* v : {"warning", "minor"}) CHECK(severity_from_label(v) == Severity::sev3);
    for (const char* v : {"low", "info"}) CHECK(severity_from_label(v) == Severity::sev4);
    CHECK(severity_from_label("") == Severity::sev3);
    CHECK(severity_from_label("whatever") == Severity::sev3);
    CHECK(severity_from_label("P1") == Severity::sev1);
    CHECK(severity_from_label("P5") == Severity::sev5);
}

TEST_CASE("alerts: the title is the summary, else the alert name and the group labels") {
    AlertNotification n = notification({alert("a1", "web-1")});
    CHECK(alert_title(n) == "Checkout error rate above 5%");
    n.common_annotations.clear();
    CHECK(alert_title(n) == "Checkout error rate above 5%");  // the first firing alert's
    n.alerts[0].annotations.clear();
    CHECK(alert_title(n) == "HighErrorRate (service=checkout)");
    n.common_annotations["summary"] = std::string(300, 'x');
    CHECK(alert_title(n).size() <= 200);
}

TEST_CASE("alerts: a firing group opens one incident, declared by the source, no commander") {
    AlertBot bot;
    const AlertIntakeResult r = bot.intake.receive(notification({alert("a1", "web-1")}));
    REQUIRE(r.outcome.reply.ok);
    REQUIRE(r.incident);
    CHECK(r.opened);
    CHECK(r.new_alerts == 1);
    const Incident inc = bot.service.require(*r.incident);
    CHECK(inc.severity == Severity::sev1);
    CHECK(inc.title == "Checkout error rate above 5%");
    CHECK(inc.declared_by.name == "alertmanager");
    CHECK(is_system(inc.declared_by));
    CHECK(inc.platform == "test");
    CHECK(inc.detected_at == k_start - 5 * k_minute);
    CHECK(inc.declared_at == k_start);
    CHECK(bot.service.roles(inc.number).empty());

    const auto entries = alert_entries(bot, inc.number);
    REQUIRE(entries.size() == 1);
    CHECK(has(entries[0].text, "Firing: HighErrorRate {instance=web-1, service=checkout"));
    CHECK(has(entries[0].text, "description: 5xx ratio is high on web-1"));
    CHECK(has(entries[0].text, "http://prometheus.example.org:9090/graph?g0.expr=errors"));
    const auto stored = bot.store.alerts(inc.number);
    REQUIRE(stored.size() == 1);
    CHECK(stored[0].labels.at("instance") == "web-1");
    CHECK(stored[0].annotations.at("summary") == "Checkout error rate above 5%");

    // The channel is created for nobody in particular; the opening message lists the
    // alerts with links and asks for a commander; the announcement goes out as for a person.
    bool created = false, announced = false, notified = false;
    for (const auto& effect : r.outcome.effects) {
        if (const auto* c = std::get_if<CreateChannel>(&effect)) {
            created = true;
            CHECK(c->invite.empty());
        }
        if (const auto* p = std::get_if<PostMessage>(&effect)) {
            if (std::holds_alternative<ToAnnouncements>(p->to)) {
                announced = has(p->text, "declared by alertmanager");
            }
        }
        if (const auto* n = std::get_if<Notify>(&effect)) {
            notified = n->kind == NotifyKind::declared && n->by.name == "alertmanager";
        }
    }
    CHECK(created);
    CHECK(announced);
    CHECK(notified);
    const auto posts = posts_to_incident(r.outcome);
    REQUIRE(posts.size() == 1);
    CHECK(has(posts[0], "was opened by alertmanager"));
    CHECK(has(posts[0], "HighErrorRate {instance=web-1"));
    CHECK(has(posts[0], "— http://prometheus.example.org:9090/graph?g0.expr=errors"));
    CHECK(has(posts[0], "`/incident role commander`"));
    CHECK(has(posts[0], "http://alertmanager.example.org:9093"));
}

TEST_CASE("alerts: the same group lands on the same incident, and repeats change nothing") {
    AlertBot bot;
    const auto first = bot.intake.receive(notification({alert("a1", "web-1", "warning")}));
    REQUIRE(first.incident);
    const std::size_t timeline = bot.service.timeline(*first.incident).size();

    bot.clock.advance(k_minute);
    const auto repeat = bot.intake.receive(notification({alert("a1", "web-1", "warning")}));
    CHECK(repeat.incident == first.incident);
    CHECK_FALSE(repeat.opened);
    CHECK(repeat.new_alerts == 0);
    CHECK(repeat.outcome.effects.empty());
    CHECK(bot.service.timeline(*first.incident).size() == timeline);

    bot.clock.advance(k_minute);
    const auto second = bot.intake.receive(notification(
        {alert("a1", "web-1", "warning"), alert("a2", "web-2", "critical", k_start + k_minute)}));
    CHECK(second.incident == first.incident);
    CHECK(second.new_alerts == 1);
    CHECK(bot.service.list(true).size() == 1);
    const auto entries = alert_entries(bot, *first.incident);
    REQUIRE(entries.size() == 2);
    CHECK(has(entries[1].text, "instance=web-2"));
    const auto posts = posts_to_incident(second.outcome);
    REQUIRE(posts.size() == 1);
    CHECK(has(posts[0], "🔔 Firing: HighErrorRate {instance=web-2"));
    // People own the severity once the incident is open.
    CHECK(bot.service.require(*first.incident).severity == Severity::sev3);
}

TEST_CASE("alerts: resolutions are recorded, and all resolved suggests /incident resolve") {
    AlertBot bot;
    const Alert a1 = alert("a1", "web-1"), a2 = alert("a2", "web-2");
    const auto opened = bot.intake.receive(notification({a1, a2}));
    REQUIRE(opened.incident);
    const std::int64_t number = *opened.incident;

    bot.clock.advance(10 * k_minute);
    const auto one = bot.intake.receive(notification({resolved(a1, bot.clock.now()), a2}));
    CHECK(one.resolved_alerts == 1);
    auto posts = posts_to_incident(one.outcome);
    REQUIRE(posts.size() == 1);
    CHECK(has(posts[0], "✅ Resolved: HighErrorRate {instance=web-1"));

    // Alertmanager repeats the resolved alert with the next notification: nothing changes.
    const auto again = bot.intake.receive(notification({resolved(a1, bot.clock.now()), a2}));
    CHECK(again.resolved_alerts == 0);
    CHECK(again.outcome.effects.empty());

    bot.clock.advance(k_minute);
    const auto all = bot.intake.receive(
        notification({resolved(a1, bot.clock.now()), resolved(a2, bot.clock.now())}));
    CHECK(all.resolved_alerts == 1);
    posts = posts_to_incident(all.outcome);
    REQUIRE(posts.size() == 2);
    CHECK(has(posts[1], "All 2 alert(s) of INC-1 are resolved"));
    CHECK(has(posts[1], "`/incident resolve <summary>`"));
    CHECK(bot.service.require(number).state == State::investigating);
    CHECK(alert_entries(bot, number).size() == 4);
    for (const auto& a : bot.store.alerts(number)) {
        CHECK(a.status == "resolved");
        CHECK(a.ends_at.has_value());
    }
}

TEST_CASE("alerts: with auto-resolve the incident resolves when all its alerts have") {
    Bot bot;
    AlertIntake intake{bot.service, bot.store, AlertOptions{"test", true}};
    const Alert a1 = alert("a1", "web-1");
    const auto opened = intake.receive(notification({a1}));
    REQUIRE(opened.incident);
    bot.clock.advance(k_minute);
    const auto done = intake.receive(notification({resolved(a1, bot.clock.now())}));
    const Incident inc = bot.service.require(*opened.incident);
    CHECK(inc.state == State::resolved);
    CHECK(inc.summary == "all alerts resolved (alertmanager)");
}

TEST_CASE("alerts: a group firing after its incident was resolved opens a related incident") {
    AlertBot bot;
    const Alert a1 = alert("a1", "web-1");
    const auto first = bot.intake.receive(notification({a1}));
    REQUIRE(first.incident);
    const std::string channel = "C" + std::to_string(*first.incident);
    bot.service.bind_channel(*first.incident, "test", channel, "inc-1");
    REQUIRE(bot.command("resolve error rate is back to normal", "alice", channel).reply.ok);

    // The old alert is repeated while it still fires: nothing new.
    bot.clock.advance(k_minute);
    const auto repeat = bot.intake.receive(notification({a1}));
    CHECK_FALSE(repeat.opened);
    CHECK(bot.service.list(true).size() == 1);

    bot.clock.advance(k_minute);
    const auto again = bot.intake.receive(notification({a1, alert("a3", "web-3", "warning")}));
    REQUIRE(again.incident);
    CHECK(again.opened);
    CHECK(*again.incident != *first.incident);
    const Incident second = bot.service.require(*again.incident);
    CHECK(second.related_to == first.incident);
    CHECK(second.severity == Severity::sev3);
    CHECK(alert_entries(bot, second.number).size() == 1);
    const auto posts = posts_to_incident(again.outcome);
    REQUIRE(posts.size() == 1);
    CHECK(has(posts[0], "This alert group fired before: INC-1"));
    CHECK(has(render_postmortem(bot.service.snapshot(second.number)), "| Related to | INC-1 |"));
    CHECK(to_json(bot.service.snapshot(second.number))["related_to"] == "INC-1");
}

TEST_CASE("alerts: only resolved alerts of an unknown group open nothing") {
    AlertBot bot;
    const auto r = bot.intake.receive(notification({resolved(alert("a1", "web-1"), k_start)}));
    CHECK_FALSE(r.incident);
    CHECK_FALSE(r.opened);
    CHECK(has(r.note, "no firing alert"));
    CHECK(bot.service.list(true).empty());
}

TEST_CASE("alerts: time to detect and to acknowledge, in the post-mortem, stats and export") {
    AlertBot bot;
    const auto r = bot.intake.receive(notification({alert("a1", "web-1")}));
    REQUIRE(r.incident);
    const std::string channel = "C" + std::to_string(*r.incident);
    bot.service.bind_channel(*r.incident, "test", channel, "inc-1");
    // Chatter is not an acknowledgement; the first command is.
    bot.clock.advance(k_minute);
    bot.say(channel, "m1", "looking");
    bot.clock.advance(2 * k_minute);
    REQUIRE(bot.command("role commander", "alice", channel).reply.ok);

    const IncidentSnapshot snap = bot.service.snapshot(*r.incident);
    CHECK(acknowledged_at(snap.incident, snap.timeline) == k_start + 3 * k_minute);
    const std::string md = render_postmortem(snap);
    CHECK(has(md, "| Detected (first alert) | 2026-11-23T09:55:00Z | 5m 00s before declaration |"));
    CHECK(has(md, "| Acknowledged (first command) | 2026-11-23T10:03:00Z |"));
    CHECK(has(md, "- Time to detect: 5m 00s"));
    CHECK(has(md, "- Time to acknowledge: 3m 00s"));

    const Stats s = bot.service.stats(std::nullopt);
    CHECK(s.mean_to_detect == 5 * k_minute);
    CHECK(s.median_to_acknowledge == 3 * k_minute);
    CHECK(has(bot.command("stats", "alice", channel).reply.text,
              "Time to detect (problem start to incident): mean 5m 00s"));

    const auto j = to_json(snap);
    CHECK(j["detected_at"] == "2026-11-23T09:55:00Z");
    REQUIRE(j["alerts"].size() == 1);
    CHECK(j["alerts"][0]["source"] == "alertmanager");
    CHECK(j["alerts"][0]["fingerprint"] == "a1");
    CHECK(j["alerts"][0]["status"] == "firing");
    CHECK(j["alerts"][0]["labels"]["instance"] == "web-1");
    CHECK(j["alerts"][0]["annotations"]["summary"] == "Checkout error rate above 5%");
    CHECK(j["alerts"][0]["starts_at"] == "2026-11-23T09:55:00Z");
    CHECK(j["alerts"][0]["ends_at"].is_null());
    CHECK(j["alerts"][0]["url"] == "http://prometheus.example.org:9090/graph?g0.expr=errors");
    CHECK(j["timeline"][0]["kind"] == "declared");
    CHECK(std::any_of(j["timeline"].begin(), j["timeline"].end(),
                      [](const auto& e) { return e["kind"] == "alert"; }));
}

TEST_CASE("alerts: a declared incident is detected when declared, and has no acknowledgement") {
    Bot bot;
    const std::string channel = bot.declare();
    const auto inc = bot.service.find_by_channel("test", channel);
    REQUIRE(inc);
    CHECK_FALSE(inc->detected_at);
    CHECK(inc->detected() == inc->declared_at);
    const IncidentSnapshot snap = bot.service.snapshot(inc->number);
    CHECK_FALSE(acknowledged_at(snap.incident, snap.timeline));
    CHECK(to_json(snap)["detected_at"] == "2026-11-23T10:00:00Z");
    CHECK_FALSE(has(render_postmortem(snap), "Detected (first alert)"));
    CHECK_FALSE(bot.service.stats(std::nullopt).mean_to_detect);
}

TEST_CASE("alerts: a responder sets when a declared incident was detected, for time to detect") {
    Bot bot;
    const std::string channel = bot.declare();
    const auto number = bot.service.find_by_channel("test", channel)->number;
    bot.clock.advance(10 * k_minute);

    // Refused, changing nothing: no time, not a time, after the declaration.
    for (const char* wrong : {"detected", "detected 2026-11-23", "detected yesterday 09:40",
                              "detected 2026-11-23 10:05", "detected 2026-11-24 09:00"}) {
        const Outcome out = bot.command(wrong, "bob", channel);
        CHECK_FALSE(out.reply.ok);
        const bool why = has(out.reply.text, "/incident detected <YYYY-MM-DD> <HH:MM>") ||
                         has(out.reply.text, "after INC-1 was declared (2026-11-23T10:00 UTC)");
        CHECK_MESSAGE(why, out.reply.text);
        CHECK_FALSE(bot.service.require(number).detected_at);
    }

    const Outcome set = bot.command("detected 2026-11-23 09:40", "bob", channel);
    REQUIRE_MESSAGE(set.reply.ok, set.reply.text);
    CHECK(has(set.reply.text, "INC-1 was detected at 2026-11-23 09:40 UTC"));
    CHECK(has(set.reply.text, "time to detect 20m 00s"));
    const IncidentSnapshot snap = bot.service.snapshot(number);
    CHECK(snap.incident.detected_at == k_start - 20 * k_minute);
    CHECK(to_json(snap)["detected_at"] == "2026-11-23T09:40:00Z");
    const bool on_timeline =
        std::any_of(snap.timeline.begin(), snap.timeline.end(), [](const TimelineEntry& e) {
            return e.key_event && e.author.name == "bob" &&
                   has(e.text, "Detected at 2026-11-23T09:40 UTC") &&
                   has(e.text, "was the declaration, 2026-11-23T10:00 UTC");
        });
    CHECK(on_timeline);
    const std::string md = render_postmortem(snap);
    CHECK(has(md, "| Detected (set by a responder) | 2026-11-23T09:40:00Z | 20m 00s before "));
    CHECK(has(md, "- Time to detect: 20m 00s"));
    // Declared by a person: no time to acknowledge.
    CHECK_FALSE(has(md, "Time to acknowledge"));
    CHECK(bot.service.stats(std::nullopt).mean_to_detect == 20 * k_minute);
    CHECK(has(bot.command("stats", "bob", channel).reply.text,
              "Time to detect (problem start to incident): mean 20m 00s"));

    // A closed incident's key times are final.
    REQUIRE(bot.command("resolve fixed", "alice", channel).reply.ok);
    REQUIRE(bot.command("close force no review needed", "alice", channel).reply.ok);
    const Outcome late = bot.command("detected 2026-11-23 09:00", "bob", channel);
    CHECK_FALSE(late.reply.ok);
    CHECK(has(late.reply.text, "is closed"));
    CHECK(bot.service.require(number).detected_at == k_start - 20 * k_minute);
}

TEST_CASE("alerts: parse_time reads RFC 3339 as the sources send it") {
    CHECK(parse_time("2026-11-23T10:00:00Z") == k_start);
    CHECK(parse_time("2026-11-23T10:00:00.123456789Z") == k_start + 123);
    CHECK(parse_time("2026-11-23T12:00:00+02:00") == k_start);
    CHECK(parse_time("2026-11-23T09:30:00.5-00:30") == k_start + 500);
    CHECK(parse_time("0001-01-01T00:00:00Z") == -62'135'596'800'000);
    for (const char* bad :
         {"", "2026-11-23", "2026-11-23T10:00:00", "2026-02-30T10:00:00Z", "2026-11-23T25:00:00Z",
          "2026-11-23T10:00:00.Z", "2026-11-23T10:00:00Zjunk", "yesterday"}) {
        CHECK_MESSAGE(!parse_time(bad), bad);
    }
}

TEST_CASE("alerts: truncate_utf8 never cuts a character in half") {
    CHECK(truncate_utf8("short", 10) == "short");
    const std::string cut = truncate_utf8("ééééé", 7);  // 10 bytes
    CHECK(cut.size() <= 7);
    CHECK(is_valid_utf8(cut));
    CHECK(cut == "éé…");
}

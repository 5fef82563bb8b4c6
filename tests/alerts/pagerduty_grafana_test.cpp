#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "adapters/alerts/alert_routes.hpp"
#include "adapters/alerts/alertmanager.hpp"
#include "adapters/alerts/pagerduty.hpp"
#include "bot/clock.hpp"
#include "bot/text.hpp"
#include "log_capture.hpp"
#include "protocol_fixture.hpp"
#include "storage/sqlite_store.hpp"

using namespace incident;
using incident::testing::has;
using nlohmann::json;

namespace {

constexpr const char* k_secret = "pd-webhook-secret-77";
constexpr const char* k_token = "grafana-and-am-token";

std::string fixture(const std::string& source, const std::string& name) {
    return incident::testing::protocol_fixture(source, name);
}

std::string pd(const std::string& name) {
    return fixture("pagerduty", name + ".docs-envelope.json");
}

struct Routes {
    Routes()
        : routes(intake, alerts::AlertRouteOptions{k_token, k_secret},
                 [this](const Effect& e) { delivered.push_back(e); }) {}

    web::WebResponse post(const std::string& path, const std::string& body,
                          std::map<std::string, std::string> headers) {
        web::WebRequest request;
        request.method = "POST";
        request.target = path;
        request.headers = std::move(headers);
        request.body = body;
        request.remote = "127.0.0.1:5000";
        return routes.handle(request);
    }
    // Signed with the secret, as PagerDuty sends it.
    web::WebResponse pagerduty(const std::string& body) {
        return post("/alerts/pagerduty", body,
                    {{"x-pagerduty-signature", alerts::sign_pagerduty(k_secret, body)}});
    }
    json body(const web::WebResponse& res) { return json::parse(res.body, nullptr, false); }
    std::vector<std::string> posts() {
        std::vector<std::string> out;
        for (const auto& e : delivered) {
            if (const auto* p = std::get_if<PostMessage>(&e)) out.push_back(p->text);
        }
        return out;
    }
    int alert_entries(std::int64_t number) {
        int n = 0;
        for (const auto& e : service.timeline(number)) n += e.kind == EntryKind::alert;
        return n;
    }

    SqliteStore store{":memory:"};
    ManualClock clock{1'796'114'400'000};
    IncidentService service{store, clock};
    AlertIntake intake{service, store, AlertOptions{"console", false}};
    std::vector<Effect> delivered;
    alerts::AlertRoutes routes;
};

}  // namespace

TEST_CASE("pagerduty: the signature matches the known answer of an independent HMAC") {
    const json known = json::parse(fixture("pagerduty", "signature_known_answer.json"));
    const std::string body = fixture("pagerduty", known["body_file"].get<std::string>());
    const std::string secret = known["secret"].get<std::string>();
    const std::string signature = known["signature"].get<std::string>();
    CHECK(alerts::sign_pagerduty(secret, body) == signature);
    CHECK(alerts::verify_pagerduty(secret, body, signature));
    // Rotation: several signatures, comma-separated, one of them right.
    CHECK(alerts::verify_pagerduty(
        secret, body,
        "v1=130dcacb53a94d983a37cf2acba98e805a1c37185309ba56fdcccbcf00d6dd8b," + signature));
    CHECK(alerts::verify_pagerduty(
        secret, body,
        signature + ", v1=130dcacb53a94d983a37cf2acba98e805a1c37185309ba56fdcccbcf00d6dd8b"));
    CHECK_FALSE(alerts::verify_pagerduty(secret, body + " ", signature));
    CHECK_FALSE(alerts::verify_pagerduty("other", body, signature));
    CHECK_FALSE(alerts::verify_pagerduty(secret, body, ""));
    CHECK_FALSE(alerts::verify_pagerduty(secret, body, "v1="));
    const std::string upper = "V1=" + signature.substr(3);
    CHECK_FALSE(alerts::verify_pagerduty(secret, body, upper));
    CHECK_FALSE(alerts::verify_pagerduty("", body, signature));
}

TEST_CASE("pagerduty: a forged or missing signature gets 401 and changes nothing") {
    Routes r;
    const std::string body = pd("incident_triggered");
    CHECK(r.post("/alerts/pagerduty", body, {}).status == 401);
    CHECK(r.post("/alerts/pagerduty", body,
                 {{"x-pagerduty-signature", alerts::sign_pagerduty("guessed", body)}})
              .status == 401);
    const auto res =
        r.post("/alerts/pagerduty", body,
               {{"x-pagerduty-signature", alerts::sign_pagerduty(k_secret, body + "tampered")}});
    CHECK(res.status == 401);
    CHECK_FALSE(has(res.body, k_secret));
    CHECK(r.service.list(true).empty());
}

TEST_CASE("pagerduty: triggered, acknowledged, annotated, priority, resolved, reopened") {
    Routes r;
    auto res = r.pagerduty(pd("incident_triggered"));
    REQUIRE(res.status == 200);
    CHECK(r.body(res)["opened"] == true);
    const Incident inc = r.service.require(1);
    CHECK(inc.severity == Severity::sev1);  // priority P1
    CHECK(inc.title == "A little bump in the road");
    CHECK(inc.declared_by.name == "pagerduty");
    CHECK(inc.detected_at == *parse_time("2020-04-09T15:16:27Z"));
    const auto alerts = r.store.alerts(1);
    REQUIRE(alerts.size() == 1);
    CHECK(alerts[0].fingerprint == "PGR0VU2");
    CHECK(alerts[0].url == "https://acme.pagerduty.com/incidents/PGR0VU2");
    CHECK(alerts[0].labels.at("service") == "API Service");
    CHECK(alerts[0].labels.at("priority") == "P1");

    // PagerDuty retries a delivery with the same event: nothing changes.
    r.delivered.clear();
    res = r.pagerduty(pd("incident_triggered"));
    CHECK(r.body(res)["new_alerts"] == 0);
    CHECK(r.delivered.empty());

    const int before = r.alert_entries(1);
    for (const char* name : {"incident_acknowledged", "incident_annotated"}) {
        res = r.pagerduty(pd(name));
        CHECK(res.status == 200);
        CHECK(r.body(res)["incident"] == "INC-1");
        r.pagerduty(pd(name));  // retried: recorded once
    }
    res = r.pagerduty(fixture("pagerduty", "incident_priority_updated.docs.json"));
    CHECK(res.status == 200);
    CHECK(r.alert_entries(1) == before + 3);
    const auto timeline = r.service.timeline(1);
    std::string texts;
    for (const auto& e : timeline) texts += e.text + "\n";
    CHECK(has(texts, "Acknowledged in PagerDuty by Tenex Engineer"));
    CHECK(has(texts, "PagerDuty note by Tenex Engineer: I sure am glad we are using PagerDuty!"));
    CHECK(has(texts, "PagerDuty priority set to P1 by Tenex Engineer"));

    r.delivered.clear();
    res = r.pagerduty(pd("incident_resolved"));
    CHECK(r.body(res)["resolved_alerts"] == 1);
    bool suggested = false;
    for (const auto& p : r.posts()) suggested = suggested || has(p, "`/incident resolve");
    CHECK(suggested);
    CHECK(r.store.alerts(1)[0].status == "resolved");

    // Resolved in the bot, then reopened in PagerDuty: a new incident naming the first.
    REQUIRE(r.service
                .execute("k1",
                         [&] {
                             Incident i = r.service.require(1);
                             r.service.resolve(i, "fixed", std::nullopt, Actor{"U1", "alice"},
                                               r.clock.now());
                             return Reply{};
                         })
                .reply.ok);
    res = r.pagerduty(pd("incident_reopened"));
    CHECK(r.body(res)["opened"] == true);
    CHECK(r.body(res)["incident"] == "INC-2");
    CHECK(r.service.require(2).related_to == 1);
}

TEST_CASE("pagerduty: other event types and malformed events") {
    Routes r;
    json other = json::parse(pd("incident_triggered"));
    other["event"]["event_type"] = "service.updated";
    auto res = r.pagerduty(other.dump());
    CHECK(res.status == 200);
    CHECK(has(r.body(res)["note"].get<std::string>(), "changes nothing"));
    CHECK(r.service.list(true).empty());

    const std::vector<std::pair<std::string, std::string>> bad{
        {"not json", "not JSON"},
        {"{}", "event is missing"},
        {R"({"event":{"id":"x","event_type":"incident.triggered","occurred_at":"2020-01-01T00:00:00Z"}})",
         "event.data is missing"},
        {R"({"event":{"id":"x","event_type":"incident.triggered","occurred_at":"2020-01-01T00:00:00Z","data":{"type":"incident","id":"P1","title":"t","created_at":"soon"}}})",
         "event.data.created_at is not an RFC 3339 time"},
        {R"({"event":{"id":"x","event_type":"incident.annotated","occurred_at":"2020-01-01T00:00:00Z","data":{"type":"incident_note","content":"c"}}})",
         "event.data.incident is missing"},
        {R"({"event":{"id":"x","event_type":7,"data":{}}})", "event.event_type"},
        {R"({"event":{"id":"x","event_type":"incident.triggered","occurred_at":"2020-01-01T00:00:00Z","data":{"id":"P1","title":"t","created_at":"2020-01-01T00:00:00Z"}}})",
         "event.data.type is missing"},
        {R"({"event":{"id":"x","event_type":"incident.triggered","occurred_at":"2020-01-01T00:00:00Z","data":{"type":"service","id":"P1","title":"t","created_at":"2020-01-01T00:00:00Z"}}})",
         "event.data.type must be \"incident\" for incident.triggered, not \"service\""},
        {R"({"event":{"id":"x","event_type":"incident.annotated","occurred_at":"2020-01-01T00:00:00Z","data":{"type":"incident"}}})",
         "event.data.type must be \"incident_note\""},
        {R"({"event":{"id":"x","event_type":"incident.acknowledged","data":{"type":"incident","id":"P1"}}})",
         "event.occurred_at is missing"},
        {"[1,2]", "not a JSON object"},
        {"{\"event\":{\"id\":\"\xff\xfe\"}}", "not JSON"},
    };
    for (const auto& [body, expected] : bad) {
        CAPTURE(body);
        res = r.pagerduty(body);
        CHECK(res.status == 400);
        CHECK_MESSAGE(has(r.body(res).value("error", std::string()), expected), res.body);
    }
    CHECK(r.service.list(true).empty());
    CHECK(r.store.alerts(1).empty());
    CHECK(r.delivered.empty());

    // A documented event the bot does not act on, in a shape unlike an incident's: accepted
    // (a 4xx would count as a failed delivery), nothing stored.
    res = r.pagerduty(
        R"({"event":{"id":"01BRB6ZP4M6T8ZG4X6BP63ZB9O","event_type":"service.updated","resource_type":"service","occurred_at":"2021-03-02T13:35:11.682Z","agent":null,"client":null,"data":{"id":"PF9KMXH","type":"service"}}})");
    CHECK(res.status == 200);
    CHECK(r.service.list(true).empty());
}

TEST_CASE("pagerduty: events about an incident the bot never saw change nothing") {
    Routes r;
    for (const char* name : {"incident_acknowledged", "incident_annotated"}) {
        const auto res = r.pagerduty(pd(name));
        CHECK(res.status == 200);
        CHECK(r.body(res)["incident"].is_null());
        CHECK(has(r.body(res).value("note", std::string()), "no incident"));
    }
    CHECK(r.service.list(true).empty());
    CHECK(r.delivered.empty());
}

TEST_CASE("pagerduty: only POST, and the secret never reaches an answer or a log line") {
    incident::testing::LogCapture logs;
    Routes r;
    web::WebRequest request;
    request.method = "GET";
    request.target = "/alerts/pagerduty";
    const auto res = r.routes.handle(request);
    CHECK(res.status == 405);
    CHECK_FALSE(has(res.body, k_secret));
    const std::string body = pd("incident_triggered");
    for (const auto& header :
         {std::string("v1=") + k_secret, std::string(k_secret), std::string("v0=") + k_secret}) {
        const auto refused = r.post("/alerts/pagerduty", body, {{"x-pagerduty-signature", header}});
        CHECK(refused.status == 401);
        CHECK_FALSE(has(refused.body, k_secret));
    }
    CHECK(r.service.list(true).empty());
    CHECK(logs.contains("pagerduty: refused a request from 127.0.0.1:5000"));
    REQUIRE(r.pagerduty(body).status == 200);
    CHECK(logs.contains("pagerduty: group PGR0VU2"));
    CHECK_FALSE(logs.contains(k_secret));
}

TEST_CASE("pagerduty and grafana answer 404 while their secret is not set") {
    SqliteStore store{":memory:"};
    ManualClock clock{0};
    IncidentService service{store, clock};
    AlertIntake intake{service, store, AlertOptions{}};
    alerts::AlertRoutes routes(intake, alerts::AlertRouteOptions{}, [](const Effect&) {});
    for (const char* path : {"/alerts/pagerduty", "/alerts/grafana", "/alerts/alertmanager"}) {
        web::WebRequest request;
        request.method = "POST";
        request.target = path;
        request.body = "{}";
        CHECK(routes.handle(request).status == 404);
    }
}

TEST_CASE("grafana: the documented contact point payload opens an incident") {
    Routes r;
    const std::string body = fixture("grafana", "webhook_firing.docs.json");
    CHECK(r.post("/alerts/grafana", body, {{"authorization", "Bearer wrong"}}).status == 401);
    auto res =
        r.post("/alerts/grafana", body, {{"authorization", std::string("Bearer ") + k_token}});
    REQUIRE(res.status == 200);
    CHECK(r.body(res)["opened"] == true);
    CHECK(r.body(res)["new_alerts"] == 2);
    const Incident inc = r.service.require(1);
    CHECK(inc.declared_by.name == "grafana");
    CHECK(inc.title == "This alert was triggered for zone us-1");
    CHECK(inc.severity == Severity::sev3);  // no severity label
    CHECK(inc.detected_at == *parse_time("2021-10-12T07:51:03.157Z"));
    const auto alerts = r.store.alerts(1);
    REQUIRE(alerts.size() == 2);
    CHECK(alerts[0].source == "grafana");
    CHECK(alerts[1].fingerprint == "bc97ff14869b13e3");
    CHECK(alerts[1].url == "https://play.grafana.org/alerting/d1rdpdv7k/edit");
    // Alertmanager's version is not Grafana's.
    res = r.post("/alerts/grafana", fixture("alertmanager", "webhook_firing.am-0.25-capture.json"),
                 {{"authorization", std::string("Bearer ") + k_token}});
    CHECK(res.status == 400);
    CHECK(has(r.body(res)["error"].get<std::string>(), "version must be \"1\""));
}

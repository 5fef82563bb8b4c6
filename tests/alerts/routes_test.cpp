#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include <SQLiteCpp/SQLiteCpp.h>
#include <nlohmann/json.hpp>

#include "adapters/alerts/alert_routes.hpp"
#include "adapters/alerts/alertmanager.hpp"
#include "bot/clock.hpp"
#include "bot/text.hpp"
#include "protocol_fixture.hpp"
#include "storage/sqlite_store.hpp"

using namespace incident;
using nlohmann::json;

namespace {

// 2026-12-01T08:40:00Z, just after the captured notifications started firing.
constexpr Timestamp k_now = 1'796'114'400'000;
constexpr const char* k_token = "s3cret-alerts-token";

std::string fixture(const std::string& name) {
    return incident::testing::protocol_fixture("alertmanager", name);
}

struct Routes {
    explicit Routes(const std::string& db = ":memory:", std::string token = k_token)
        : store(db),
          routes(intake, alerts::AlertRouteOptions{std::move(token), {}},
                 [this](const Effect& e) { delivered.push_back(e); }) {}

    web::WebResponse post(const std::string& body, const std::string& authorization,
                          const std::string& path = "/alerts/alertmanager") {
        web::WebRequest request;
        request.method = "POST";
        request.target = path;
        if (!authorization.empty()) request.headers["authorization"] = authorization;
        request.headers["content-type"] = "application/json";
        request.body = body;
        request.remote = "127.0.0.1:5000";
        return routes.handle(request);
    }
    web::WebResponse post(const std::string& body) {
        return post(body, std::string("Bearer ") + k_token);
    }

    SqliteStore store;
    ManualClock clock{k_now};
    IncidentService service{store, clock};
    AlertIntake intake{service, store, AlertOptions{"console", false}};
    std::vector<Effect> delivered;
    alerts::AlertRoutes routes;
};

json body_of(const web::WebResponse& res) {
    return json::parse(res.body, nullptr, false);
}

std::string with(const std::string& body, const std::function<void(json&)>& change) {
    json j = json::parse(body);
    change(j);
    return j.dump();
}

}  // namespace

TEST_CASE("alertmanager: the captured payloads decode with every field the incident needs") {
    const auto d =
        alerts::decode_alertmanager(fixture("webhook_firing_second_alert.am-0.25-capture.json"));
    REQUIRE_MESSAGE(d.notification, d.error);
    const AlertNotification& n = *d.notification;
    CHECK(n.source == "alertmanager");
    CHECK(n.group_key == R"({}:{alertname="HighErrorRate", service="checkout"})");
    CHECK(n.group_labels.at("service") == "checkout");
    CHECK(n.common_annotations.at("summary") == "Checkout error rate above 5%");
    CHECK(n.external_url == "http://vm:18112");
    REQUIRE(n.alerts.size() == 2);
    const Alert& a = n.alerts[0];
    CHECK(a.fingerprint == "1e6d676a4cdb6808");
    CHECK(a.status == "firing");
    CHECK(a.group_key == n.group_key);
    CHECK(a.labels.at("instance") == "web-1:9090");
    CHECK(a.labels.at("severity") == "critical");
    CHECK(a.annotations.at("description") == "5xx ratio is 7.2% on web-1");
    CHECK(a.starts_at == *parse_time("2026-12-01T08:37:43.336Z"));
    CHECK_FALSE(a.ends_at);  // Go's zero time while firing
    CHECK(
        a.url ==
        "http://prometheus.example.org:9090/graph?g0.expr=job%3Acheckout_errors%3Aratio5m+%3E+0.05&"
        "g0.tab=1");

    const auto r = alerts::decode_alertmanager(fixture("webhook_resolved.am-0.25-capture.json"));
    REQUIRE_MESSAGE(r.notification, r.error);
    CHECK(r.notification->alerts[1].status == "resolved");
    CHECK(r.notification->alerts[1].ends_at == *parse_time("2026-12-01T08:37:52Z"));
}

TEST_CASE("alertmanager: what is wrong with a payload is named, and nothing is stored") {
    const std::string good = fixture("webhook_firing.am-0.25-capture.json");
    const std::vector<std::pair<std::string, std::string>> cases{
        {"{not json", "the body is not JSON"},
        {"[]", "not a JSON object"},
        {"\"\xff\xfe\"", "not JSON (or not UTF-8)"},
        {with(good, [](json& j) { j["version"] = "3"; }), "version must be \"4\""},
        {with(good, [](json& j) { j.erase("version"); }), "version must be \"4\""},
        {with(good, [](json& j) { j.erase("groupKey"); }), "groupKey is missing"},
        {with(good, [](json& j) { j["groupKey"] = 7; }), "groupKey must be a string"},
        {with(good, [](json& j) { j["status"] = "burning"; }),
         "status must be one of firing, resolved, not `burning`"},
        {with(good, [](json& j) { j["alerts"] = json::array(); }), "alerts is empty"},
        {with(good, [](json& j) { j["alerts"] = "x"; }), "alerts must be an array"},
        {with(good, [](json& j) { j["alerts"][0] = 1; }), "alerts[0] is not an object"},
        {with(good, [](json& j) { j["alerts"][0]["startsAt"] = "yesterday"; }),
         "alerts[0].startsAt is not an RFC 3339 time: `yesterday`"},
        {with(good, [](json& j) { j["alerts"][0].erase("fingerprint"); }),
         "alerts[0].fingerprint is missing"},
        {with(good, [](json& j) { j["alerts"][0]["labels"] = "x"; }),
         "alerts[0].labels must be an object"},
        {with(good, [](json& j) { j["alerts"][0]["labels"]["team"] = json::array(); }),
         "alerts[0].labels.team must be a string"},
        {with(good, [](json& j) { j["alerts"][0]["status"] = "pending"; }),
         "alerts[0].status must be one of firing, resolved"},
    };
    Routes r;
    for (const auto& [body, expected] : cases) {
        CAPTURE(body);
        const auto res = r.post(body);
        CHECK(res.status == 400);
        const json j = body_of(res);
        CHECK(j["ok"] == false);
        CHECK_MESSAGE(j.value("error", "").find(expected) != std::string::npos, j.dump());
    }
    CHECK(r.service.list(true).empty());
    CHECK(r.delivered.empty());
}

TEST_CASE("alertmanager: a wrong or missing token gets 401 and changes nothing") {
    Routes r;
    const std::string good = fixture("webhook_firing.am-0.25-capture.json");
    for (const std::string auth : {"", "Bearer wrong", "Bearer s3cret-alerts-token-and-more",
                                   "Basic czNjcmV0", "s3cret-alerts-token", "Bearer"}) {
        CAPTURE(auth);
        const auto res = r.post(good, auth);
        CHECK(res.status == 401);
        CHECK(res.body.find(k_token) == std::string::npos);
    }
    CHECK(r.service.list(true).empty());
    // The scheme is case-insensitive, as RFC 7235 says.
    CHECK(r.post(good, std::string("bearer ") + k_token).status == 200);
}

TEST_CASE("alertmanager: without INCIDENT_BOT_ALERTS_TOKEN the endpoint does not exist") {
    Routes r(":memory:", "");
    const auto res = r.post(fixture("webhook_firing.am-0.25-capture.json"), "Bearer ");
    CHECK(res.status == 404);
    CHECK(r.service.list(true).empty());
    Routes on;
    CHECK(on.post("{}", std::string("Bearer ") + k_token, "/alerts/nagios").status == 404);
    web::WebRequest get;
    get.method = "GET";
    get.target = "/alerts/alertmanager";
    get.headers["authorization"] = std::string("Bearer ") + k_token;
    CHECK(on.routes.handle(get).status == 405);
}

TEST_CASE("alertmanager: the captured sequence opens, feeds and resolves one incident") {
    Routes r;
    auto res = r.post(fixture("webhook_firing.am-0.25-capture.json"));
    REQUIRE(res.status == 200);
    json j = body_of(res);
    CHECK(j["ok"] == true);
    CHECK(j["incident"] == "INC-1");
    CHECK(j["opened"] == true);
    CHECK(j["new_alerts"] == 1);
    CHECK_FALSE(r.delivered.empty());  // channel, opening message, announcement

    r.delivered.clear();
    res = r.post(fixture("webhook_firing.am-0.25-capture.json"));  // a retry
    j = body_of(res);
    CHECK(j["incident"] == "INC-1");
    CHECK(j["new_alerts"] == 0);
    CHECK(r.delivered.empty());

    j = body_of(r.post(fixture("webhook_firing_second_alert.am-0.25-capture.json")));
    CHECK(j["incident"] == "INC-1");
    CHECK(j["new_alerts"] == 1);
    j = body_of(r.post(fixture("webhook_resolved.am-0.25-capture.json")));
    CHECK(j["resolved_alerts"] == 2);
    CHECK(r.service.list(true).size() == 1);
    const auto snap = r.service.snapshot(1);
    CHECK(snap.incident.severity == Severity::sev1);
    CHECK(snap.incident.detected_at == *parse_time("2026-12-01T08:37:43.336Z"));
    CHECK(snap.alerts.size() == 2);
    bool suggested = false;
    for (const auto& e : r.delivered) {
        if (const auto* p = std::get_if<PostMessage>(&e)) {
            suggested = suggested || p->text.find("`/incident resolve") != std::string::npos;
        }
    }
    CHECK(suggested);
}

TEST_CASE(
    "alertmanager: storage that fails gets 503, so Alertmanager retries, and stores nothing") {
    const auto path = std::filesystem::temp_directory_path() /
                      ("incident-alerts-locked-" + std::to_string(::getpid()) + ".db");
    std::filesystem::remove(path);
    {
        Routes r(path.string());
        {
            // Another process holds the write lock for longer than the store waits (5 s).
            SQLite::Database other(path.string(), SQLite::OPEN_READWRITE);
            other.exec("BEGIN EXCLUSIVE");
            const auto res = r.post(fixture("webhook_firing.am-0.25-capture.json"));
            CHECK(res.status == 503);
            CHECK(body_of(res)["error"] == "the alerts could not be stored; retry");
            CHECK(r.delivered.empty());
            other.exec("ROLLBACK");
        }
        CHECK(r.service.list(true).empty());
        // The retry succeeds.
        CHECK(r.post(fixture("webhook_firing.am-0.25-capture.json")).status == 200);
        CHECK(r.service.list(true).size() == 1);
    }
    for (const char* suffix : {"", "-wal", "-shm"}) {
        std::filesystem::remove(path.string() + suffix);
    }
}

#include <doctest/doctest.h>

#include <signal.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include <curl/curl.h>
#include <nlohmann/json.hpp>

#include "adapters/alerts/pagerduty.hpp"
#include "adapters/net/http_client.hpp"
#include "bot/text.hpp"
#include "process.hpp"
#include "protocol_fixture.hpp"
#include "run_async.hpp"
#include "test_certs.hpp"

// The real Prometheus Alertmanager (Debian's prometheus-alertmanager, which deploy/dev.sh
// installs) sends its webhook notifications to the real incident-bot binary. Alertmanager
// groups, repeats and resolves by itself; the test only posts alerts to its API and watches
// the bot's JSON API and console output, polling with deadlines.

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace incident;
using incident::testing::has;
using incident::testing::Process;
using incident::testing::ProcessOptions;
using incident::testing::protocol_fixture;
using incident::testing::TempDir;
using nlohmann::json;
using std::chrono::milliseconds;

namespace {

constexpr const char* k_alertmanager = "/usr/bin/prometheus-alertmanager";
constexpr const char* k_alerts_token = "am-e2e-token-4f1c";
constexpr const char* k_dashboard_token = "dash-e2e-token-9a2b";
constexpr const char* k_pagerduty_secret = "pd-e2e-secret-61d0";

net::HttpResponse http(const std::string& method, const std::string& url, std::string body = {},
                       std::vector<net::Headers::Field> headers = {}) {
    asio::io_context io;
    net::HttpClient client(io.get_executor(), net::testing::system_client_context(),
                           net::HttpClientOptions{milliseconds(10'000)});
    net::HttpRequest request;
    request.method = method;
    request.url = url;
    request.body = std::move(body);
    for (auto& [name, value] : headers) request.headers.set(name, value);
    if (!request.body.empty() && !request.headers.contains("Content-Type")) {
        request.headers.set("Content-Type", "application/json");
    }
    net::HttpResponse response;
    asio::co_spawn(io, client.request(std::move(request)),
                   [&](std::exception_ptr, net::HttpResponse r) { response = std::move(r); });
    io.run();
    return response;
}

// libcurl, as a client that reads the answer while it still sends (what curl, Go and most
// HTTP clients do): how a refused oversized body is seen. Returns the status, 0 on failure.
long curl_post(const std::string& url, const std::string& body, const std::string& authorization,
               std::string& response) {
    CURL* curl = curl_easy_init();
    REQUIRE(curl != nullptr);
    curl_slist* headers = nullptr;
    headers = curl_slist_append(headers, ("Authorization: " + authorization).c_str());
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(
        curl, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* out) {
            static_cast<std::string*>(out)->append(data, size * n);
            return size * n;
        });
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
    long status = 0;
    if (curl_easy_perform(curl) == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return status;
}

// Polls `condition` until it holds or `limit` passes.
bool eventually(const std::function<bool()>& condition, milliseconds limit = milliseconds(20'000)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) return true;
        std::this_thread::sleep_for(milliseconds(25));
    }
    return condition();
}

std::string iso_now() {
    const auto now = std::chrono::duration_cast<milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    return format_time(now);
}

json alert(const std::string& name, const std::string& service, const std::string& instance,
           const std::string& severity, const std::string& summary) {
    return {{"labels",
             {{"alertname", name},
              {"service", service},
              {"instance", instance},
              {"severity", severity}}},
            {"annotations", {{"summary", summary}, {"description", name + " on " + instance}}},
            {"generatorURL", "http://prometheus.example.org:9090/graph?g0.expr=" + name}};
}

struct Stack {
    TempDir dir{"alertmanager-e2e"};
    std::string bot_url;
    std::string am_url;
    std::unique_ptr<Process> bot;
    std::unique_ptr<Process> am;

    Stack() {
        const auto bot_port = net::testing::free_port();
        const auto am_port = net::testing::free_port();
        bot_url = "http://127.0.0.1:" + std::to_string(bot_port);
        am_url = "http://127.0.0.1:" + std::to_string(am_port);

        ProcessOptions bot_options;
        bot_options.args = {"console", "--db", (dir.path / "bot.db").string()};
        bot_options.env = {
            "INCIDENT_BOT_LISTEN=127.0.0.1:" + std::to_string(bot_port),
            std::string("INCIDENT_BOT_ALERTS_TOKEN=") + k_alerts_token,
            std::string("INCIDENT_BOT_DASHBOARD_TOKEN=") + k_dashboard_token,
            std::string("INCIDENT_BOT_PAGERDUTY_WEBHOOK_SECRET=") + k_pagerduty_secret,
            "INCIDENT_BOT_PUBLIC_URL=http://incident-bot.example.org"};
        bot_options.stdin_pipe = true;
        bot_options.out = dir.path / "bot.out";
        bot_options.err = dir.path / "bot.err";
        bot = std::make_unique<Process>(incident::testing::k_binary, bot_options);
        REQUIRE_MESSAGE(eventually([&] { return http("GET", bot_url + "/healthz").status == 200; }),
                        bot->err());

        std::ofstream(dir.path / "alertmanager.yml") << "route:\n"
                                                        "  receiver: bot\n"
                                                        "  group_by: [alertname, service]\n"
                                                        "  group_wait: 200ms\n"
                                                        "  group_interval: 500ms\n"
                                                        "  repeat_interval: 1s\n"
                                                        "receivers:\n"
                                                        "  - name: bot\n"
                                                        "    webhook_configs:\n"
                                                        "      - url: "
                                                     << bot_url
                                                     << "/alerts/alertmanager\n"
                                                        "        send_resolved: true\n"
                                                        "        http_config:\n"
                                                        "          authorization:\n"
                                                        "            type: Bearer\n"
                                                        "            credentials: "
                                                     << k_alerts_token << "\n";
        ProcessOptions am_options;
        am_options.args = {"--config.file=" + (dir.path / "alertmanager.yml").string(),
                           "--storage.path=" + (dir.path / "am-data").string(),
                           "--web.listen-address=127.0.0.1:" + std::to_string(am_port),
                           "--cluster.listen-address=", "--log.level=debug"};
        am_options.out = dir.path / "am.out";
        am_options.err = dir.path / "am.err";
        am = std::make_unique<Process>(k_alertmanager, am_options);
        REQUIRE_MESSAGE(eventually([&] { return http("GET", am_url + "/-/ready").status == 200; }),
                        am->err());
    }

    ~Stack() {
        if (am) {
            am->signal(SIGTERM);
            am->wait_blocking(milliseconds(10'000));
        }
        if (bot) {
            bot->close_stdin();
            bot->wait_blocking(milliseconds(15'000));
        }
    }

    void fire(const json& alerts) {
        const auto res = http("POST", am_url + "/api/v2/alerts", alerts.dump());
        REQUIRE_MESSAGE(res.status == 200, res.status << " " << res.body << res.error);
    }

    net::HttpResponse post_alert(const std::string& body, const std::string& authorization) {
        std::vector<net::Headers::Field> headers;
        if (!authorization.empty()) headers.emplace_back("Authorization", authorization);
        return http("POST", bot_url + "/alerts/alertmanager", body, headers);
    }

    json api(const std::string& path) {
        const auto res = http("GET", bot_url + path, {},
                              {{"Authorization", std::string("Bearer ") + k_dashboard_token}});
        return res.status == 200 ? json::parse(res.body, nullptr, false) : json();
    }
    // The incidents, oldest first.
    std::vector<json> incidents() {
        std::vector<json> out;
        const json list = api("/api/incidents?state=all");
        if (!list.is_object() && !list.is_array()) return out;
        const json& items = list.is_array() ? list : list["incidents"];
        for (const auto& item : items) {
            const json full = api("/api/incidents/" + item["id"].get<std::string>());
            if (full.is_object()) out.push_back(full);
        }
        std::sort(out.begin(), out.end(),
                  [](const json& a, const json& b) { return a["number"] < b["number"]; });
        return out;
    }
    json incident(const std::string& key) { return api("/api/incidents/" + key); }

    // How many notifications the bot has stored for a group (its log line per notification).
    int notifications(const std::string& service) {
        const std::string log = bot->err();
        int count = 0;
        const std::string needle = "alertmanager: group {}:{alertname=";
        for (auto at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) {
            const auto end = log.find('\n', at);
            if (log.substr(at, end - at).find("service=\"" + service + "\"") != std::string::npos) {
                ++count;
            }
        }
        return count;
    }

    void console(const std::string& lines) { REQUIRE(bot->write_stdin(lines)); }
};

int count_kind(const json& incident, const std::string& kind) {
    int n = 0;
    for (const auto& e : incident["timeline"]) n += e["kind"] == kind;
    return n;
}

json find_by_service(const std::vector<json>& incidents, const std::string& service) {
    for (const auto& inc : incidents) {
        if (!inc["alerts"].empty() && inc["alerts"][0]["labels"]["service"] == service) return inc;
    }
    return json();
}

}  // namespace

TEST_CASE("alertmanager e2e: bad requests to the real bot get clear 4xx and store nothing") {
    REQUIRE_MESSAGE(fs::exists(k_alertmanager),
                    "install prometheus-alertmanager (deploy/dev.sh test does)");
    Stack s;
    const std::string auth = std::string("Bearer ") + k_alerts_token;
    auto res = s.post_alert(R"({"version":"4"})", "Bearer not-the-token");
    CHECK(res.status == 401);
    CHECK(s.post_alert(R"({"version":"4"})", "").status == 401);
    res = s.post_alert("{\"version\":\"4\", oops", auth);
    CHECK(res.status == 400);
    CHECK(has(res.body, "the body is not JSON"));
    res = s.post_alert(R"({"version":"4","groupKey":"g","status":"firing","alerts":[{}]})", auth);
    CHECK(res.status == 400);
    CHECK(has(res.body, "alerts[0].status is missing"));
    // A 5 MB body is refused with a clear 413 before it is read in full.
    std::string refused;
    CHECK(curl_post(s.bot_url + "/alerts/alertmanager", std::string(5 * 1024 * 1024, ' '), auth,
                    refused) == 413);
    CHECK(has(refused, "request body too large"));
    CHECK(s.incidents().empty());
    // Still serving afterwards.
    CHECK(http("GET", s.bot_url + "/healthz").status == 200);
}

TEST_CASE("grafana and pagerduty e2e: the real bot takes their documented payloads") {
    REQUIRE_MESSAGE(fs::exists(k_alertmanager),
                    "install prometheus-alertmanager (deploy/dev.sh test does)");
    Stack s;
    CAPTURE(s.bot->err());
    const std::string pd_url = s.bot_url + "/alerts/pagerduty";
    const std::string triggered =
        protocol_fixture("pagerduty", "incident_triggered.docs-envelope.json");

    // Refused: a forged signature, none, a 5 MB body; nothing stored.
    CHECK(http("POST", pd_url, triggered,
               {{"X-PagerDuty-Signature", alerts::sign_pagerduty("guessed", triggered)}})
              .status == 401);
    CHECK(http("POST", pd_url, triggered).status == 401);
    for (const char* path : {"/alerts/pagerduty", "/alerts/grafana"}) {
        std::string refused;
        CHECK(curl_post(s.bot_url + path, std::string(5 * 1024 * 1024, ' '),
                        std::string("Bearer ") + k_alerts_token, refused) == 413);
        CHECK(has(refused, "request body too large"));
    }
    CHECK(s.incidents().empty());

    // Signed as PagerDuty signs: an incident declared by pagerduty, SEV1 from priority P1.
    auto res = http("POST", pd_url, triggered,
                    {{"X-PagerDuty-Signature",
                      "v1=0000000000000000000000000000000000000000000000000000000000000000, " +
                          alerts::sign_pagerduty(k_pagerduty_secret, triggered)}});
    REQUIRE_MESSAGE(res.status == 200, res.body);
    auto all = s.incidents();
    REQUIRE(all.size() == 1);
    CHECK(all[0]["declared_by"]["name"] == "pagerduty");
    CHECK(all[0]["severity"] == "SEV1");
    CHECK(all[0]["alerts"][0]["url"] == "https://acme.pagerduty.com/incidents/PGR0VU2");

    // Grafana's documented contact point payload with the bearer token.
    const std::string grafana = protocol_fixture("grafana", "webhook_firing.docs.json");
    CHECK(http("POST", s.bot_url + "/alerts/grafana", grafana, {{"Authorization", "Bearer wrong"}})
              .status == 401);
    res = http("POST", s.bot_url + "/alerts/grafana", grafana,
               {{"Authorization", std::string("Bearer ") + k_alerts_token}});
    REQUIRE_MESSAGE(res.status == 200, res.body);
    all = s.incidents();
    REQUIRE(all.size() == 2);
    CHECK(all[1]["declared_by"]["name"] == "grafana");
    CHECK(all[1]["alerts"].size() == 2);

    // Neither secret reaches the bot's output.
    CHECK_FALSE(has(s.bot->err(), k_pagerduty_secret));
    CHECK_FALSE(has(s.bot->err(), k_alerts_token));
}

TEST_CASE("alertmanager e2e: groups open incidents, grow, repeat, resolve and fire again") {
    REQUIRE_MESSAGE(fs::exists(k_alertmanager),
                    "install prometheus-alertmanager (deploy/dev.sh test does)");
    Stack s;
    CAPTURE(s.bot->err());

    // Two groups: one incident each, with the severity of their label.
    s.fire(json::array(
        {alert("HighErrorRate", "checkout", "web-1", "critical", "Checkout error rate above 5%"),
         alert("DiskFilling", "db", "db-1", "warning", "Disk on db-1 fills up")}));
    REQUIRE(eventually([&] { return s.incidents().size() == 2; }));
    auto all = s.incidents();
    json checkout = find_by_service(all, "checkout");
    json db = find_by_service(all, "db");
    REQUIRE(checkout.is_object());
    REQUIRE(db.is_object());
    CHECK(checkout["severity"] == "SEV1");
    CHECK(checkout["title"] == "Checkout error rate above 5%");
    CHECK(checkout["declared_by"]["name"] == "alertmanager");
    CHECK(checkout["roles"].empty());
    CHECK(db["severity"] == "SEV3");
    CHECK(db["title"] == "Disk on db-1 fills up");
    const std::string key = checkout["id"];
    CHECK(count_kind(checkout, "alert") == 1);
    CHECK(checkout["alerts"][0]["url"] ==
          "http://prometheus.example.org:9090/graph?g0.expr=HighErrorRate");
    CHECK(checkout["detected_at"] == checkout["alerts"][0]["starts_at"]);
    // The opening message in the incident channel, with the link and the call for a commander.
    REQUIRE(eventually([&] { return has(s.bot->out(), "was opened by alertmanager"); }));
    CHECK(has(s.bot->out(), "http://prometheus.example.org:9090/graph?g0.expr=HighErrorRate"));
    CHECK(has(s.bot->out(), "Nobody is in command yet"));

    // A second alert of the group joins the same incident.
    s.fire(json::array(
        {alert("HighErrorRate", "checkout", "web-2", "critical", "Checkout error rate above 5%")}));
    REQUIRE(eventually([&] { return s.incident(key)["alerts"].size() == 2; }));
    CHECK(s.incidents().size() == 2);
    CHECK(count_kind(s.incident(key), "alert") == 2);

    // Alertmanager repeats the group (repeat_interval 1s): the bot stores nothing new.
    const json before = s.incident(key);
    const int seen = s.notifications("checkout");
    REQUIRE(eventually([&] { return s.notifications("checkout") >= seen + 2; }));
    const json after = s.incident(key);
    CHECK(after["timeline"].size() == before["timeline"].size());
    CHECK(after["alerts"] == before["alerts"]);
    CHECK(s.incidents().size() == 2);

    // Both alerts end: each resolution is on the timeline, and the bot says they all are.
    const std::string now = iso_now();
    json ended = json::array(
        {alert("HighErrorRate", "checkout", "web-1", "critical", "Checkout error rate above 5%"),
         alert("HighErrorRate", "checkout", "web-2", "critical", "Checkout error rate above 5%")});
    for (auto& a : ended) a["endsAt"] = now;
    s.fire(ended);
    REQUIRE(eventually([&] {
        const json inc = s.incident(key);
        return inc["alerts"].size() == 2 && inc["alerts"][0]["status"] == "resolved" &&
               inc["alerts"][1]["status"] == "resolved";
    }));
    CHECK(count_kind(s.incident(key), "alert") == 4);
    REQUIRE(
        eventually([&] { return has(s.bot->out(), "are resolved. When the service is healthy"); }));
    CHECK(s.incident(key)["state"] == "investigating");  // no auto-resolve by default

    // A person takes command and resolves it in the incident's channel.
    s.console("/as carol\n/join #" + checkout["channel"]["name"].get<std::string>() +
              "\n/incident role commander\n/incident resolve error rate back to normal\n");
    REQUIRE(eventually([&] { return s.incident(key)["state"] == "resolved"; }));

    // The group fires again: a new incident that names the resolved one.
    s.fire(json::array(
        {alert("HighErrorRate", "checkout", "web-3", "high", "Checkout error rate above 5%")}));
    REQUIRE(eventually([&] { return s.incidents().size() == 3; }));
    all = s.incidents();
    const json again = all.back();
    CHECK(again["related_to"] == key);
    CHECK(again["severity"] == "SEV2");
    CHECK(again["alerts"].size() == 1);
    CHECK(again["alerts"][0]["labels"]["instance"] == "web-3");
    CHECK(has(s.bot->out(), "This alert group fired before: " + key));
    // The db group was left alone all along.
    CHECK(s.incident(db["id"])["alerts"].size() == 1);

    // Time to detect and to acknowledge reached the stats.
    s.console("/incident stats\n");
    REQUIRE(eventually([&] { return has(s.bot->out(), "Time to acknowledge (incident from"); }));
    CHECK_FALSE(has(s.bot->out(),
                    "Time to acknowledge (incident from alerts to a person's first "
                    "command): mean —"));
}

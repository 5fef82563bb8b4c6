#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <SQLiteCpp/Database.h>

#include "bot/export_json.hpp"
#include "bot/postmortem.hpp"
#include "web_fixture.hpp"

using namespace incident;
using namespace incident::web;
using incident::web::testing::contains;
using incident::web::testing::header;
using incident::web::testing::play_incident;
using incident::web::testing::Web;

namespace {

constexpr std::string_view k_html = "text/html; charset=utf-8";
constexpr std::string_view k_token = "dashboard-s3cret-7f2a";

void check_security_headers(const WebResponse& res) {
    CHECK(header(res, "Content-Security-Policy") ==
          "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action "
          "'self'");
    CHECK(header(res, "X-Content-Type-Options") == "nosniff");
    CHECK(header(res, "Referrer-Policy") == "no-referrer");
}

// Nothing the dashboard sends may contain the token.
void check_no_token(const WebResponse& res) {
    CHECK_FALSE(contains(res.body, k_token));
    for (const auto& [name, value] : res.headers) CHECK_FALSE(contains(value, k_token));
}

DashboardOptions with_token() {
    DashboardOptions options;
    options.token = std::string(k_token);
    return options;
}

std::string session_cookie(const WebResponse& login) {
    const auto set_cookie = header(login, "Set-Cookie");
    REQUIRE(set_cookie);
    const auto end = set_cookie->find(';');
    return set_cookie->substr(0, end);  // "incident_bot_session=..."
}

}  // namespace

TEST_CASE("dashboard: every route answers with its status and content type") {
    Web web;
    play_incident(web.bot);

    struct Case {
        std::string target;
        int status;
        std::string_view type;
    };
    const std::vector<Case> cases = {
        {"/", 200, k_html},
        {"/?state=all&severity=SEV2&q=checkout", 200, k_html},
        {"/incidents/INC-1", 200, k_html},
        {"/incidents/inc-1", 200, k_html},
        {"/incidents/INC-1/postmortem", 200, k_html},
        {"/incidents/INC-1/postmortem.md", 200, "text/markdown; charset=utf-8"},
        {"/stats", 200, k_html},
        {"/stats?weeks=52", 200, k_html},
        {"/api/incidents", 200, "application/json"},
        {"/api/incidents/INC-1", 200, "application/json"},
        {"/healthz", 200, "application/json"},
        {"/metrics", 200, "text/plain; version=0.0.4; charset=utf-8"},
        {"/login", 303, "text/plain; charset=utf-8"},  // no token: nothing to log in to
        {"/nope", 404, k_html},
        {"/incidents/INC-99", 404, k_html},
        {"/incidents/INC-1/nope", 404, k_html},
        {"/incidents/INC-x", 404, k_html},
        {"/incidents/INC-1/", 404, k_html},
        {"/api/incidents/INC-99", 404, "application/json"},
        {"/api/nope", 404, "application/json"},
        {"/?severity=SEV9", 400, k_html},
        {"/?state=sleeping", 400, k_html},
        {"/?q=%zz", 400, k_html},
        {"/?q=a&q=b", 400, k_html},
        {"/api/incidents?severity=SEV9", 400, "application/json"},
        {"/stats?weeks=0", 400, k_html},
        {"/stats?weeks=ten", 400, k_html},
        {"/incidents/INC-1?x=%", 400, k_html},
        {"/%zz", 400, k_html},
    };
    for (const auto& c : cases) {
        INFO("GET " << c.target);
        const WebResponse res = web.get(c.target);
        CHECK(res.status == c.status);
        CHECK(res.content_type == c.type);
        CHECK(!res.body.empty());
        check_security_headers(res);
    }
}

TEST_CASE("dashboard: bad requests say what is wrong") {
    Web web;
    WebResponse res = web.get("/?severity=SEV9");
    CHECK(contains(res.body, "Unknown severity filter &#39;SEV9&#39;"));
    res = web.get("/api/incidents?severity=SEV9");
    const auto j = nlohmann::json::parse(res.body);
    CHECK(j["status"] == 400);
    CHECK(contains(j["error"].get<std::string>(), "SEV1, SEV2, SEV3, SEV4 or SEV5"));
    res = web.get("/?q=%4");
    CHECK(res.status == 400);
    CHECK(contains(res.body, "percent-encoding"));
    res = web.get("no-slash");
    CHECK(res.status == 400);
}

TEST_CASE("dashboard: methods other than GET and HEAD are refused with 405") {
    Web web;
    play_incident(web.bot);
    for (const std::string method : {"POST", "PUT", "DELETE", "PATCH"}) {
        for (const std::string target : {"/", "/incidents/INC-1", "/incidents/INC-1/postmortem",
                                         "/stats", "/api/incidents", "/healthz", "/metrics"}) {
            INFO(method << " " << target);
            const WebResponse res = web.request(method, target);
            CHECK(res.status == 405);
            CHECK(header(res, "Allow") == "GET, HEAD");
        }
    }
    CHECK(web.request("POST", "/api/incidents").content_type == "application/json");
    const WebResponse logout = web.get("/logout");
    CHECK(logout.status == 405);
    CHECK(header(logout, "Allow") == "POST");
    const WebResponse head = web.request("HEAD", "/incidents/INC-1");
    CHECK(head.status == 200);
    CHECK(head.content_type == k_html);
    CHECK(head.body.empty());
    CHECK(web.request("POST", "/nope").status == 404);
}

TEST_CASE("dashboard: incident list") {
    Web web;
    play_incident(web.bot);
    WebResponse res = web.get("/");
    CHECK(contains(res.body, "<a href=\"/incidents/INC-1\">INC-1</a>"));
    CHECK(contains(res.body, "Checkout returns 502s"));
    CHECK(contains(res.body, "class=\"sev sev2\""));
    CHECK(contains(res.body, "resolved in 19m 00s"));
    CHECK(contains(res.body, "<select name=\"severity\">"));
    CHECK(contains(res.body, "data-label=\"Title\""));
    CHECK(!contains(res.body, "<script"));

    const WebResponse empty = web.get("/?q=nothing-like-this");
    CHECK(empty.status == 200);
    CHECK(contains(empty.body, "No incidents match"));
    CHECK(contains(empty.body, "value=\"nothing-like-this\""));
}

TEST_CASE("dashboard: filters on the list and the API") {
    Web web;
    web.bot.command("declare sev1 Database primary down", "alice");
    web.bot.clock.advance(1000);
    web.bot.command("declare sev3 Slow search results", "bob");
    web.bot.clock.advance(1000);
    web.bot.command("declare sev4 Typo on status page", "carol");
    web.bot.command("resolve sev4 fixed", "carol", "C3");
    web.bot.command("postmortem publish", "carol", "C3");
    const Outcome closed = web.bot.command("close", "carol", "C3");
    REQUIRE_MESSAGE(closed.reply.ok, closed.reply.text);

    const auto api = [&](const std::string& query) {
        const WebResponse res = web.get("/api/incidents" + query);
        REQUIRE(res.status == 200);
        std::vector<std::string> ids;
        for (const auto& inc : nlohmann::json::parse(res.body)) ids.push_back(inc["id"]);
        return ids;
    };
    CHECK(api("") == std::vector<std::string>{"INC-2", "INC-1"});
    CHECK(api("?state=all") == std::vector<std::string>{"INC-3", "INC-2", "INC-1"});
    CHECK(api("?state=closed") == std::vector<std::string>{"INC-3"});
    CHECK(api("?severity=SEV1") == std::vector<std::string>{"INC-1"});
    CHECK(api("?severity=sev3&state=all") == std::vector<std::string>{"INC-2"});
    CHECK(api("?q=DATABASE") == std::vector<std::string>{"INC-1"});
    CHECK(api("?q=typo") == std::vector<std::string>{});
    CHECK(api("?q=typo&state=all") == std::vector<std::string>{"INC-3"});
    CHECK(api("?q=inc-2") == std::vector<std::string>{"INC-2"});

    const WebResponse page = web.get("/?severity=SEV1");
    CHECK(contains(page.body, "INC-1"));
    CHECK(!contains(page.body, "Slow search"));
    CHECK(contains(page.body, "<option value=\"SEV1\" selected>"));
    CHECK(contains(page.body, "href=\"/api/incidents?severity=SEV1\""));

    // The API uses the export's JSON shape, field for field.
    const WebResponse list = web.get("/api/incidents?severity=SEV1");
    CHECK(nlohmann::json::parse(list.body)[0] == to_json(*web.bot.service.find(1)));
}

TEST_CASE("dashboard: incident page shows roles, times, actions and the whole timeline") {
    Web web;
    play_incident(web.bot);
    const std::string html = web.get("/incidents/INC-1").body;
    CHECK(contains(html, "<h1>INC-1: Checkout returns 502s</h1>"));
    CHECK(contains(html, "<span class=\"state s-resolved\">resolved</span>"));
    CHECK(contains(html, "<dt>Incident commander</dt><dd>@alice</dd>"));
    CHECK(contains(html, "<dt>Scribe</dt><dd>@carol</dd>"));
    CHECK(contains(html, "Identified → mitigated: 6m 00s"));
    CHECK(contains(html, "Total time to resolve: 19m 00s"));
    CHECK(contains(html, "add a guard for empty pools"));
    CHECK(contains(html, "2026-12-04"));
    CHECK(contains(html, "<li class=\"key\">"));
    CHECK(contains(html, "📌 key event"));
    CHECK(contains(html, "config push set the upstream pool size to 0"));
    // The edit keeps the earlier text; the deletion stays, marked as such.
    CHECK(contains(html, "rolling back config push 4312"));
    CHECK(contains(html, "1 earlier version"));
    CHECK(contains(html, "rolling back the config"));
    CHECK(contains(html, "<span class=\"tag\">edited "));
    CHECK(contains(html, "<li class=\"deleted\">"));
    CHECK(contains(html, "<span class=\"tag\">deleted "));
    CHECK(contains(html, "wrong channel, sorry"));
    CHECK(contains(html, "href=\"/incidents/INC-1/postmortem\""));
    CHECK(contains(html, "href=\"/incidents/INC-1/postmortem.md\""));
}

TEST_CASE("dashboard: a long message is clipped on the pages, whole in the JSON") {
    Web web;
    const std::string ch = web.bot.declare();
    // 40,000 characters (Slack's limit) of three-byte characters: 120,000 bytes.
    std::string text;
    for (int i = 0; i < 40'000; ++i) text += "€";
    const Outcome said = web.bot.say(ch, ch + "-long", text);
    REQUIRE_MESSAGE(said.reply.ok, said.reply.text);
    const std::string marker =
        "… (" + std::to_string(40'000 - k_display_chars) + " more characters, see the JSON export)";
    std::string shown;
    for (std::size_t i = 0; i < k_display_chars; ++i) shown += "€";

    const std::string page = web.get("/incidents/INC-1").body;
    CHECK(contains(page, shown + marker));
    CHECK(!contains(page, text));
    for (const std::string target :
         {"/incidents/INC-1/postmortem", "/incidents/INC-1/postmortem.md"}) {
        INFO(target);
        const std::string body = web.get(target).body;
        CHECK(contains(body, shown + marker));
        CHECK(!contains(body, text));
    }
    const auto api = nlohmann::json::parse(web.get("/api/incidents/INC-1").body);
    bool whole = false;
    for (const auto& e : api["timeline"]) whole |= e.value("text", "") == text;
    CHECK(whole);
}

TEST_CASE("dashboard: post-mortem as HTML and as a Markdown download") {
    Web web;
    play_incident(web.bot);
    const WebResponse page = web.get("/incidents/INC-1/postmortem");
    CHECK(contains(page.body, "<article class=\"md\">"));
    CHECK(contains(page.body, "<h1>INC-1: Checkout returns 502s</h1>"));
    CHECK(contains(page.body, "<table>"));
    CHECK(contains(page.body, "<h2>Root cause analysis (5 whys)</h2>"));

    const WebResponse md = web.get("/incidents/INC-1/postmortem.md");
    CHECK(md.body == render_postmortem(web.bot.service.snapshot(1)));
    CHECK(header(md, "Content-Disposition") == "attachment; filename=\"INC-1-postmortem.md\"");
}

TEST_CASE("dashboard: the API returns the export's JSON for one incident") {
    Web web;
    play_incident(web.bot);
    const WebResponse res = web.get("/api/incidents/INC-1");
    const auto j = nlohmann::json::parse(res.body);
    CHECK(j == to_json(web.bot.service.snapshot(1)));
    CHECK(j["id"] == "INC-1");
    CHECK(j["timeline"].size() > 5);
    CHECK(j["action_items"].size() == 1);

    const auto missing = nlohmann::json::parse(web.get("/api/incidents/INC-42").body);
    CHECK(missing["error"] == "INC-42 does not exist.");
}

TEST_CASE("dashboard: stats page draws two SVG charts") {
    Web web;
    play_incident(web.bot);
    web.bot.clock.advance(8 * 86'400'000LL);
    play_incident(web.bot, "Search is slow");
    const std::string html = web.get("/stats").body;
    std::size_t svgs = 0;
    for (auto at = html.find("<svg"); at != std::string::npos; at = html.find("<svg", at + 1)) {
        ++svgs;
    }
    CHECK(svgs == 2);
    CHECK(contains(html, "Incidents per ISO week, stacked by severity"));
    CHECK(contains(html, "2026-W48 (from 2026-11-23): 1 incident (SEV2: 1)"));
    CHECK(contains(html, "2026-W49 (from 2026-11-30): 1 incident (SEV2: 1)"));
    CHECK(contains(html, "<a href=\"/incidents/INC-2\">"));
    CHECK(contains(html, "<b>2</b>incidents"));
    CHECK(contains(html, "<option value=\"12\" selected>"));
    CHECK(contains(html, "None recorded in this period"));

    web.bot.command("factor process handover & paging were slow", "alice", "C2");
    CHECK(contains(web.get("/stats").body, "<tr><td>Process gaps</td><td>1</td><td>1</td></tr>"));

    CHECK(contains(web.get("/stats").body, "<code>/incident service &lt;name&gt;</code>"));
    web.bot.command("service search<b>", "alice", "C1");
    web.bot.command("service search<b>", "alice", "C2");
    CHECK(contains(web.get("/stats").body, "<tr><td>search&lt;b&gt;</td><td>2</td></tr>"));
}

TEST_CASE("dashboard: sections written in chat replace their placeholders on the page") {
    Web web;
    play_incident(web.bot);
    const std::string before = web.get("/incidents/INC-1/postmortem").body;
    CHECK(contains(before, "who was affected, how many, what they saw."));
    web.bot.command("impact customers <b>30%</b> of checkouts failed", "carol", "C1");
    web.bot.command("rootcause pool size unchecked", "carol", "C1");
    const std::string after = web.get("/incidents/INC-1/postmortem").body;
    CHECK_FALSE(contains(after, "who was affected, how many, what they saw."));
    CHECK_FALSE(contains(after, "<b>30%"));  // typed markup never becomes markup
    CHECK(contains(after, "of checkouts failed"));
    CHECK(contains(after, "pool size unchecked"));
    CHECK(contains(web.get("/incidents/INC-1/postmortem.md").body,
                   "- **Customers:** <b>30%</b> of checkouts failed"));
}

TEST_CASE("dashboard: an incident titled with markup shows as text everywhere") {
    Web web;
    const Outcome out = web.bot.command("declare sev1 <script>alert(1)</script>", "mallory");
    REQUIRE_MESSAGE(out.reply.ok, out.reply.text);
    web.bot.say("C1", "m1", "<img src=x onerror=alert(2)>", "mallory");
    web.bot.command("todo <b>bold</b> @mallory", "mallory", "C1");
    web.bot.command("resolve sev1 <iframe src=//evil>", "mallory", "C1");
    for (const std::string target :
         {"/", "/?state=all", "/incidents/INC-1", "/incidents/INC-1/postmortem", "/stats"}) {
        INFO(target);
        const WebResponse res = web.get(target);
        REQUIRE(res.status == 200);
        CHECK_FALSE(contains(res.body, "<script"));
        CHECK_FALSE(contains(res.body, "<img"));
        CHECK_FALSE(contains(res.body, "<iframe"));
        CHECK_FALSE(contains(res.body, "<b>bold"));
    }
    CHECK(contains(web.get("/").body, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    CHECK(contains(web.get("/incidents/INC-1").body, "&lt;img src=x onerror=alert(2)&gt;"));
    CHECK(contains(web.get("/incidents/INC-1/postmortem").body,
                   "&lt;script&gt;alert(1)&lt;/script&gt;"));
}

TEST_CASE("dashboard: with a token, pages and API need it") {
    Web web(with_token());
    play_incident(web.bot);

    WebResponse res = web.get("/incidents/INC-1?x=1");
    CHECK(res.status == 303);
    CHECK(header(res, "Location") == "/login?next=/incidents/INC-1%3Fx%3D1");
    // An unknown incident does not reveal itself before authentication.
    CHECK(web.get("/incidents/INC-99").status == 303);

    for (const std::string target : {"/api/incidents", "/api/incidents/INC-1", "/metrics"}) {
        INFO(target);
        res = web.get(target);
        CHECK(res.status == 401);
        CHECK(header(res, "WWW-Authenticate") == "Bearer realm=\"incident-bot\"");
        CHECK_FALSE(contains(res.body, "Checkout"));
    }
    CHECK(web.get("/api/incidents").content_type == "application/json");
    CHECK(web.get("/healthz").status == 200);  // for load balancers and probes

    const std::map<std::string, std::string> bearer = {
        {"authorization", "Bearer " + std::string(k_token)}};
    for (const std::string target :
         {"/", "/incidents/INC-1", "/incidents/INC-1/postmortem", "/incidents/INC-1/postmortem.md",
          "/stats", "/api/incidents", "/api/incidents/INC-1", "/metrics"}) {
        INFO(target);
        res = web.get(target, bearer);
        CHECK(res.status == 200);
        check_no_token(res);
    }
    CHECK(web.get("/incidents/INC-99", bearer).status == 404);

    const std::map<std::string, std::string> wrong = {{"authorization", "Bearer nope"}};
    CHECK(web.get("/api/incidents", wrong).status == 401);
    CHECK(web.get("/", wrong).status == 303);
    CHECK(web.get("/api/incidents", {{"authorization", std::string(k_token)}}).status == 401);
    // Pages show a way out once a token is configured.
    CHECK(contains(web.get("/", bearer).body, "action=\"/logout\""));
}

TEST_CASE("dashboard: login form, session cookie, expiry and logout") {
    Web web(with_token());
    play_incident(web.bot);

    WebResponse form = web.get("/login?next=/incidents/INC-1");
    CHECK(form.status == 200);
    CHECK(form.content_type == k_html);
    CHECK(contains(form.body, "<form class=\"filters\" method=\"post\" action=\"/login\">"));
    CHECK(contains(form.body, "type=\"password\" name=\"token\""));
    CHECK(contains(form.body, "name=\"next\" value=\"/incidents/INC-1\""));
    check_no_token(form);

    const std::map<std::string, std::string> form_type = {
        {"content-type", "application/x-www-form-urlencoded"}};
    WebResponse bad = web.request("POST", "/login", form_type, "token=wrong&next=%2F");
    CHECK(bad.status == 401);
    CHECK(contains(bad.body, "That token is not valid."));
    CHECK_FALSE(header(bad, "Set-Cookie"));
    CHECK_FALSE(contains(bad.body, "wrong"));
    CHECK(web.request("POST", "/login", form_type, "next=%2F").status == 400);
    CHECK(web.request("POST", "/login", {{"content-type", "application/json"}}, "{}").status ==
          400);
    CHECK(web.request("POST", "/login", form_type, std::string(5000, 'a')).status == 413);

    const WebResponse ok =
        web.request("POST", "/login", form_type,
                    "token=" + std::string(k_token) + "&next=%2Fincidents%2FINC-1%3Fx%3D1");
    CHECK(ok.status == 303);
    CHECK(header(ok, "Location") == "/incidents/INC-1?x=1");
    const std::string set_cookie = *header(ok, "Set-Cookie");
    CHECK(set_cookie.starts_with("incident_bot_session=v1."));
    CHECK(contains(set_cookie, "; Path=/"));
    CHECK(contains(set_cookie, "; HttpOnly"));
    CHECK(contains(set_cookie, "; SameSite=Strict"));
    CHECK(contains(set_cookie, "; Max-Age=43200"));
    CHECK_FALSE(contains(set_cookie, "; Secure"));
    check_no_token(ok);

    const std::map<std::string, std::string> cookie = {
        {"cookie", "theme=dark; " + session_cookie(ok)}};
    CHECK(web.get("/", cookie).status == 200);
    CHECK(web.get("/api/incidents", cookie).status == 200);
    CHECK(web.get("/metrics", cookie).status == 200);
    // Already signed in: the form sends you on.
    CHECK(web.get("/login?next=/stats", cookie).status == 303);

    // A tampered or expired session is no session.
    std::string tampered = cookie.at("cookie");
    tampered.back() = tampered.back() == '0' ? '1' : '0';
    CHECK(web.get("/", {{"cookie", tampered}}).status == 303);
    web.bot.clock.advance(12 * 3'600'000LL);
    CHECK(web.get("/", cookie).status == 303);
    CHECK(web.get("/api/incidents", cookie).status == 401);

    const WebResponse out = web.request("POST", "/logout");
    CHECK(out.status == 303);
    CHECK(header(out, "Location") == "/login");
    CHECK(contains(*header(out, "Set-Cookie"), "incident_bot_session=; Path=/; Max-Age=0"));
}

TEST_CASE("dashboard: login only redirects to local paths") {
    Web web(with_token());
    const std::map<std::string, std::string> form_type = {
        {"content-type", "application/x-www-form-urlencoded"}};
    for (const std::string next : {"%2F%2Fevil.example%2F", "https%3A%2F%2Fevil.example",
                                   "%2F%5Cevil.example", "%2Fok%0D%0ASet-Cookie%3A+x%3D1", ""}) {
        INFO(next);
        const WebResponse res = web.request("POST", "/login", form_type,
                                            "token=" + std::string(k_token) + "&next=" + next);
        CHECK(res.status == 303);
        CHECK(header(res, "Location") == "/");
    }
    CHECK(contains(web.get("/login?next=//evil.example").body, "name=\"next\" value=\"/\""));
}

TEST_CASE("dashboard: Secure cookie when served over https") {
    DashboardOptions options = with_token();
    options.secure_cookie = true;
    Web web(std::move(options));
    const WebResponse ok = web.request("POST", "/login", {}, "token=" + std::string(k_token));
    CHECK(ok.status == 303);
    CHECK(contains(*header(ok, "Set-Cookie"), "; Secure"));
}

TEST_CASE("dashboard: without a token, login and logout lead home") {
    Web web;
    CHECK(header(web.get("/login"), "Location") == "/");
    CHECK(header(web.request("POST", "/login", {}, "token=x"), "Location") == "/");
    CHECK(header(web.request("POST", "/logout"), "Location") == "/");
    CHECK_FALSE(contains(web.get("/").body, "/logout"));
}

TEST_CASE("dashboard: healthz reports every check, 503 when one fails") {
    nlohmann::json state = {{"database", {{"ok", true}}},
                            {"slack", {{"ok", true}, {"detail", "socket mode connected"}}}};
    DashboardOptions options;
    options.health = [&state] { return state; };
    Web web(std::move(options));

    WebResponse res = web.get("/healthz");
    CHECK(res.status == 200);
    auto j = nlohmann::json::parse(res.body);
    CHECK(j["status"] == "ok");
    CHECK(j["checks"] == state);

    state["slack"] = {{"ok", false}, {"detail", "reconnecting in 4s"}};
    res = web.get("/healthz");
    CHECK(res.status == 503);
    j = nlohmann::json::parse(res.body);
    CHECK(j["status"] == "unavailable");
    CHECK(j["checks"]["slack"]["detail"] == "reconnecting in 4s");

    state = {{"database", {{"detail", "no ok field"}}}};
    CHECK(web.get("/healthz").status == 503);
    state = nlohmann::json::array();
    CHECK(web.get("/healthz").status == 503);

    DashboardOptions failing;
    failing.health = []() -> nlohmann::json { throw std::runtime_error("db gone"); };
    Web broken(std::move(failing));
    res = broken.get("/healthz");
    CHECK(res.status == 503);
    CHECK_FALSE(contains(res.body, "db gone"));

    Web bare;  // no checks supplied: the dashboard itself answers
    CHECK(bare.get("/healthz").status == 200);
}

TEST_CASE("dashboard: /metrics exposes the counters and open incidents by severity") {
    Web web;
    web.bot.command("declare sev1 Database primary down", "alice");
    web.bot.command("declare sev2 Checkout slow", "alice");
    web.bot.command("declare sev2 Login slow", "alice");
    web.bot.command("resolve sev2 fixed", "alice", "C3");
    web.metrics.event_received("slack");
    web.metrics.event_acked("slack", 0.02);

    const WebResponse res = web.get("/metrics");
    CHECK(res.status == 200);
    CHECK(contains(res.body, "# TYPE incident_bot_open_incidents gauge\n"));
    CHECK(contains(res.body, "incident_bot_open_incidents{severity=\"SEV1\"} 1\n"));
    CHECK(contains(res.body, "incident_bot_open_incidents{severity=\"SEV2\"} 1\n"));
    CHECK(contains(res.body, "incident_bot_open_incidents{severity=\"SEV5\"} 0\n"));
    CHECK(contains(res.body, "incident_bot_events_received_total{platform=\"slack\"} 1\n"));
    CHECK(contains(res.body,
                   "incident_bot_ack_latency_seconds_bucket{platform=\"slack\",le=\"0.025\"} 1\n"));
    CHECK(contains(res.body, "incident_bot_ack_latency_seconds_count{platform=\"slack\"} 1\n"));
}

TEST_CASE("dashboard: every page and /metrics name the replica and the jobs it leads") {
    ReplicaRole role{"host-a/127.0.0.1:8080", {{"housekeeping", false}, {"reminders", true}}};
    DashboardOptions options;
    options.replica = [&role] { return role; };
    Web web(std::move(options));
    web.bot.command("declare sev2 Checkout slow", "alice");

    for (const std::string target : {"/", "/incidents/INC-1", "/stats"}) {
        CAPTURE(target);
        CHECK(contains(web.get(target).body,
                       "<span class=\"replica\">replica host-a/127.0.0.1:8080 · leads "
                       "reminders</span>"));
    }
    std::string metrics = web.get("/metrics").body;
    CHECK(contains(metrics, "# TYPE incident_bot_replica_leads gauge\n"));
    CHECK(contains(metrics,
                   "incident_bot_replica_leads{replica=\"host-a/127.0.0.1:8080\","
                   "job=\"reminders\"} 1\n"));
    CHECK(contains(metrics,
                   "incident_bot_replica_leads{replica=\"host-a/127.0.0.1:8080\","
                   "job=\"housekeeping\"} 0\n"));

    // Another replica took the lease over: this one waits.
    role.jobs["reminders"] = false;
    CHECK(contains(web.get("/").body, "replica host-a/127.0.0.1:8080 · standby</span>"));
    metrics = web.get("/metrics").body;
    CHECK(contains(metrics, "job=\"reminders\"} 0\n"));

    Web single;  // no replica supplied: the header names none
    CHECK_FALSE(contains(single.get("/").body, "class=\"replica\""));
    CHECK_FALSE(contains(single.get("/metrics").body, "incident_bot_replica_leads"));
}

TEST_CASE("dashboard: a failing database is a 500 without its details") {
    const auto path = std::filesystem::temp_directory_path() /
                      ("incident-web-test-" + std::to_string(::getpid()) + ".db");
    std::filesystem::remove(path);
    {
        SqliteStore store(path.string());
        ManualClock clock(incident::testing::k_start);
        IncidentService service(store, clock);
        Metrics metrics;
        Dashboard dashboard(service, metrics, {});
        // Another connection takes the table away, as a corrupt or replaced file would.
        SQLite::Database(path.string(), SQLite::OPEN_READWRITE).exec("DROP TABLE incidents");
        for (const std::string target : {"/", "/incidents/INC-1", "/api/incidents", "/metrics"}) {
            INFO(target);
            const WebResponse res = dashboard.handle(WebRequest{"GET", target, {}, {}, {}});
            CHECK(res.status == 500);
            CHECK_FALSE(contains(res.body, "no such table"));
            check_security_headers(res);
        }
        CHECK(dashboard.handle(WebRequest{"GET", "/api/incidents", {}, {}, {}}).content_type ==
              "application/json");
    }
    for (const std::string suffix : {"", "-wal", "-shm"}) {
        std::filesystem::remove(path.string() + suffix);
    }
}

namespace {

// Runs tests/web/validate_ics.py (python3-icalendar) on `ics`; its output, or why it failed.
std::string validate_ics(const std::string& ics, int& status) {
    return incident::web::testing::run_validator(INCIDENT_BOT_VALIDATE_ICS, ics, ".ics", status);
}

}  // namespace

TEST_CASE("dashboard: published versions have permanent pages, a searchable list, a draft link") {
    Web web;
    play_incident(web.bot);
    CHECK(contains(web.get("/postmortems").body, "No post-mortem has been published yet"));
    CHECK(contains(web.get("/").body, "<a href=\"/postmortems\">Post-mortems</a>"));
    web.bot.command("rootcause pool size unchecked", "carol", "C1");
    REQUIRE(web.bot.command("postmortem publish", "alice", "C1").reply.ok);
    web.bot.command("rootcause pool size never validated", "carol", "C1");

    const std::string list = web.get("/postmortems").body;
    CHECK(contains(list, "<a href=\"/incidents/INC-1/postmortem/v1\">Checkout returns 502s</a>"));
    const WebResponse v1 = web.get("/incidents/INC-1/postmortem/v1");
    REQUIRE(v1.status == 200);
    CHECK(contains(v1.body, "pool size unchecked"));
    CHECK_FALSE(contains(v1.body, "never validated"));
    CHECK(contains(v1.body, "published version 1"));
    const std::string draft = web.get("/incidents/INC-1/postmortem").body;
    CHECK(contains(draft, "never validated"));
    CHECK(contains(draft, "<a href=\"/incidents/INC-1/postmortem/v1\">version 1</a>"));

    REQUIRE(web.bot.command("postmortem publish", "alice", "C1").reply.ok);
    CHECK(contains(web.get("/incidents/INC-1/postmortem/v1").body,
                   "A newer version exists: <a href=\"/incidents/INC-1/postmortem/v2\">"));
    CHECK(contains(web.get("/incidents/INC-1/postmortem/v2").body, "never validated"));
    const WebResponse missing = web.get("/incidents/INC-1/postmortem/v3");
    CHECK(missing.status == 404);
    CHECK(contains(missing.body, "INC-1 has no published version 3."));
    CHECK(web.get("/incidents/INC-1/postmortem/vx").status == 404);
    CHECK(web.get("/incidents/INC-1/postmortem/v0").status == 404);

    CHECK(contains(web.get("/postmortems?q=validated").body, "/incidents/INC-1/postmortem/v2"));
    const std::string none = web.get("/postmortems?q=%3Cscript%3E").body;
    CHECK(contains(none, "No published post-mortem matches <b>&lt;script&gt;</b>"));
    CHECK_FALSE(contains(none, "<script>"));
    CHECK(web.get("/postmortems?q=" + std::string(201, 'a')).status == 400);
}

TEST_CASE("dashboard: the review meeting as a calendar file a calendar app reads") {
    Web web;
    play_incident(web.bot);
    const WebResponse before = web.get("/incidents/INC-1/review.ics");
    CHECK(before.status == 404);
    CHECK(contains(before.body, "/incident review YYYY-MM-DD HH:MM"));
    REQUIRE(web.bot.command("review 2026-11-30 14:00", "carol", "C1").reply.ok);
    const WebResponse res = web.get("/incidents/INC-1/review.ics");
    REQUIRE(res.status == 200);
    CHECK(res.content_type == "text/calendar; charset=utf-8");
    CHECK(contains(header(res, "Content-Disposition").value_or(""), "INC-1-review.ics"));
    int status = -1;
    const std::string parsed = validate_ics(res.body, status);
    CAPTURE(parsed);
    REQUIRE(status == 0);
    CHECK(parsed ==
          "2026-11-30T14:00:00+00:00\n1:00:00\nPost-mortem review: INC-1 Checkout returns 502s\n");
    CHECK(contains(res.body, "https://bot.example.com/incidents/INC-1/postmortem"));
}

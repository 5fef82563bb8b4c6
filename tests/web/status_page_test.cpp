#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "web_fixture.hpp"

// The public status page: /status, /status.json and /status/feed.atom, served to anyone even
// when the dashboard wants a token, and showing nothing but what was published.
using namespace incident;
using namespace incident::web;
using incident::web::testing::contains;
using incident::web::testing::header;
using incident::web::testing::run_validator;
using incident::web::testing::Web;

namespace {

constexpr std::string_view k_token = "dashboard-s3cret-7f2a";
// Words that only chatter, an internal update, a title or a person's name hold.
const std::vector<std::string> k_internal = {"zebracorn",
                                             "quokkaplan",
                                             "Secret vault title",
                                             "Unpublished title",
                                             "alice",
                                             "carol",
                                             "dave",
                                             "INC-1",
                                             "INC-2",
                                             "sev2"};

DashboardOptions with_token() {
    DashboardOptions options;
    options.token = std::string(k_token);
    options.status_title = "Example & Co status";
    return options;
}

// Two incidents: the first publishes, the second only talks internally.
void play(Web& web) {
    auto& bot = web.bot;
    const std::string ch = bot.declare("Secret vault title", "alice");
    bot.say(ch, ch + "-m1", "the zebracorn cluster is down again", "dave");
    REQUIRE(bot.command("update quokkaplan: failing over to the standby", "alice", ch).reply.ok);
    REQUIRE(bot.command("role comms @carol", "alice", ch).reply.ok);
    bot.clock.advance(60'000);
    REQUIRE(bot.command("statuspage Some card payments fail <script>alert(1)</script> & retry.",
                        "carol", ch)
                .reply.ok);
    REQUIRE(bot.command("component Payments major-outage", "carol", ch).reply.ok);
    bot.clock.advance(60'000);
    REQUIRE(bot.command("statuspage state identified We found the cause.", "carol", ch).reply.ok);

    const std::string second = bot.declare("Unpublished title", "dave");
    REQUIRE(bot.command("update quokkaplan second", "dave", second).reply.ok);
}

void check_nothing_internal(const std::string& body) {
    for (const auto& word : k_internal) CHECK_MESSAGE(!contains(body, word), word);
}

}  // namespace

TEST_CASE("status page: served without a token while the dashboard wants one") {
    Web web(with_token());
    play(web);
    CHECK(web.get("/").status == 303);  // the dashboard itself asks to sign in
    CHECK(web.get("/api/incidents").status == 401);
    for (const auto& [target, type] :
         {std::pair<std::string, std::string>{"/status", "text/html; charset=utf-8"},
          {"/status.json", "application/json"},
          {"/status/feed.atom", "application/atom+xml; charset=utf-8"}}) {
        const WebResponse res = web.get(target);
        CHECK_MESSAGE(res.status == 200, target);
        CHECK(res.content_type == type);
        CHECK_FALSE(contains(res.body, k_token));
        CHECK(header(res, "X-Content-Type-Options") == "nosniff");
        check_nothing_internal(res.body);
        CHECK(web.request("POST", target).status == 405);
        const WebResponse head = web.request("HEAD", target);
        CHECK(head.status == 200);
        CHECK(head.body.empty());
    }
}

TEST_CASE("status page: the HTML shows components, the published messages, escaped") {
    Web web(with_token());
    play(web);
    const std::string html = web.get("/status").body;
    CHECK(contains(html, "<title>Example &amp; Co status</title>"));
    CHECK(contains(html, "Some systems are affected."));
    CHECK(
        contains(html, "<span>Payments</span><span class=\"c-major-outage\">Major outage</span>"));
    CHECK(contains(html, "<span>API</span><span class=\"c-operational\">Operational</span>"));
    CHECK(contains(html,
                   "Some card payments fail &lt;script&gt;alert(1)&lt;/script&gt; &amp; retry."));
    CHECK_FALSE(contains(html, "<script>"));
    CHECK(contains(html, "We found the cause."));
    CHECK(contains(html, "<span class=\"state\">Identified</span>"));
    CHECK(contains(html, "No incidents reported."));  // nothing resolved yet
    // Nothing links into the dashboard.
    CHECK_FALSE(contains(html, "href=\"/incidents"));
    CHECK_FALSE(contains(html, "href=\"/\""));
}

TEST_CASE("status page: the JSON lists only incidents with an external message") {
    Web web;
    play(web);
    const auto j = nlohmann::json::parse(web.get("/status.json").body);
    CHECK(j["title"] == "Service status");
    REQUIRE(j["components"].size() == 3);
    CHECK(j["components"][2]["name"] == "Payments");
    CHECK(j["components"][2]["status"] == "major-outage");
    REQUIRE(j["incidents"].size() == 1);
    const auto& inc = j["incidents"][0];
    CHECK(inc["state"] == "identified");
    REQUIRE(inc["updates"].size() == 2);
    CHECK(inc["updates"][0]["text"] == "We found the cause.");
    CHECK(inc["updates"][1]["text"] ==
          "Some card payments fail <script>alert(1)</script> & retry.");
    CHECK(inc["updates"][1]["at"] == "2026-11-23T10:01:00Z");
    CHECK(j["past_incidents"].empty());

    // Resolved, it moves to the past; 91 days on, it is gone.
    REQUIRE(web.bot.command("statuspage state resolved All payments work again.", "alice", "C1")
                .reply.ok);
    auto later = nlohmann::json::parse(web.get("/status.json").body);
    CHECK(later["incidents"].empty());
    CHECK(later["past_incidents"].size() == 1);
    web.bot.clock.advance(Timestamp(91) * 86'400'000);
    later = nlohmann::json::parse(web.get("/status.json").body);
    CHECK(later["past_incidents"].empty());
}

TEST_CASE("status page: the Atom feed is valid RFC 4287 as Python's xml.etree reads it") {
    DashboardOptions options = with_token();
    options.public_url = "https://bot.example.com/";
    Web web(std::move(options));
    play(web);
    // A control character cannot be in XML at all; it is dropped, not sent.
    REQUIRE(web.bot.command("statuspage Bell \x07 here", "carol", "C1").reply.ok);
    const WebResponse res = web.get("/status/feed.atom");
    REQUIRE(res.status == 200);
    int status = -1;
    const std::string parsed = run_validator(INCIDENT_BOT_VALIDATE_ATOM, res.body, ".atom", status);
    REQUIRE_MESSAGE(status == 0, parsed);
    CHECK(contains(parsed,
                   "\tInvestigating: Some card payments fail <script>alert(1)</script> & "
                   "retry.\tSome card payments fail <script>alert(1)</script> & retry.\n"));
    CHECK(contains(parsed, "\tIdentified: We found the cause.\tWe found the cause.\n"));
    CHECK(contains(parsed, "\tIdentified: Bell  here\t"));
    CHECK(contains(parsed, "https://bot.example.com/status#update-"));
    CHECK(contains(res.body, "<id>https://bot.example.com/status/feed.atom</id>"));
    CHECK(contains(res.body, "<updated>2026-11-23T10:02:00Z</updated>"));
    check_nothing_internal(res.body);

    // Without a public URL the ids are URNs, and an empty feed is still valid.
    Web empty;
    const std::string feed = empty.get("/status/feed.atom").body;
    CHECK(contains(feed, "<id>urn:incident-bot:status</id>"));
    CHECK(run_validator(INCIDENT_BOT_VALIDATE_ATOM, feed, ".atom", status).empty());
    CHECK(status == 0);
}

TEST_CASE("status page: the validator itself rejects a feed without what RFC 4287 requires") {
    int status = 0;
    const std::string out = run_validator(
        INCIDENT_BOT_VALIDATE_ATOM,
        "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>t</title></feed>", ".atom", status);
    CHECK(status != 0);
    CHECK(contains(out, "atom:id"));
}

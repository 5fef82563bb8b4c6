#include <doctest/doctest.h>

#include "adapters/web/charts.hpp"
#include "adapters/web/html.hpp"
#include "adapters/web/markdown.hpp"
#include "adapters/web/pages.hpp"
#include "bot/postmortem.hpp"
#include "web_fixture.hpp"

using namespace incident;
using namespace incident::web;
using incident::web::testing::contains;

TEST_CASE("html: escaping") {
    CHECK(html_escape("<script>alert('x') & \"y\"</script>") ==
          "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;");
    CHECK(html_escape("plain ✓") == "plain ✓");
}

TEST_CASE("html: page chrome") {
    const std::string p = page("<b>title</b>", "<p>body</p>", Chrome{true});
    CHECK(p.starts_with("<!doctype html>"));
    CHECK(contains(p, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"));
    CHECK(contains(p, "<title>&lt;b&gt;title&lt;/b&gt; · incident-bot</title>"));
    CHECK(contains(p, "<style>"));
    CHECK(contains(p, "action=\"/logout\""));
    CHECK(!contains(p, "<script"));
    CHECK(!contains(page("t", "", Chrome{false}), "/logout"));
    CHECK(contains(severity_badge(Severity::sev1), "class=\"sev sev1\""));
}

TEST_CASE("markdown: GFM tables and strikethrough render") {
    const std::string html =
        markdown_to_html("# Title\n\n| a | b |\n|---|---|\n| 1 | two<br>lines |\n\n~~gone~~\n");
    CHECK(contains(html, "<h1>Title</h1>"));
    CHECK(contains(html, "<table>"));
    CHECK(contains(html, "<td>two\nlines</td>"));
    CHECK(contains(markdown_to_html("a<br>b"), "<p>a<br />\nb</p>"));
    CHECK(contains(html, "<del>gone</del>"));
}

TEST_CASE("markdown: raw HTML from chat is shown as text, never passed through") {
    const std::string html = markdown_to_html(
        "# INC-1: <script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n"
        "Inline <b onclick=\"x()\">bold</b> and [link](javascript:alert(1))\n\n"
        "<div>\nblock\n</div>\n");
    CHECK(!contains(html, "<script"));
    CHECK(!contains(html, "<img"));
    CHECK(!contains(html, "<b "));
    CHECK(!contains(html, "<div"));
    CHECK(!contains(html, "javascript:"));
    CHECK(contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    CHECK(contains(html, "&lt;img src=x onerror=alert(1)&gt;"));
    CHECK(contains(html, "&lt;b onclick=&quot;x()&quot;&gt;bold&lt;/b&gt;"));
}

TEST_CASE("markdown: the real post-mortem renders its tables") {
    incident::testing::Bot bot;
    incident::web::testing::play_incident(bot);
    const std::string html = markdown_to_html(render_postmortem(bot.service.snapshot(1)));
    CHECK(contains(html, "<h1>INC-1: Checkout returns 502s</h1>"));
    CHECK(contains(html, "<th>Milestone</th>"));
    CHECK(contains(html, "<td>Final severity</td>"));
    CHECK(contains(html, "<h2>Corrective actions</h2>"));
    CHECK(contains(html, "<del>wrong channel, sorry</del>"));
    CHECK(!contains(html, "raw HTML omitted"));
}

TEST_CASE("charts: ISO weeks") {
    // 2026-11-23 is a Monday in ISO week 48.
    const IsoWeek w = iso_week(incident::testing::k_start);
    CHECK(w.year == 2026);
    CHECK(w.week == 48);
    CHECK(w.label() == "2026-W48");
    CHECK(w.monday == 1'795'392'000'000);
    // 2027-01-01 (a Friday) still belongs to 2026-W53; 2024-12-30 (Monday) to 2025-W01.
    CHECK(iso_week(1'798'761'600'000).label() == "2026-W53");
    CHECK(iso_week(1'735'516'800'000).label() == "2025-W01");
    // Sunday 23:59:59 stays in its week.
    CHECK(iso_week(w.monday + 7 * 86'400'000 - 1000).week == 48);
    CHECK(iso_week(w.monday + 7 * 86'400'000).week == 49);
}

TEST_CASE("charts: weekly severity chart stacks by severity and escapes") {
    std::vector<Incident> incidents(3);
    incidents[0].number = 1;
    incidents[0].severity = Severity::sev1;
    incidents[0].declared_at = incident::testing::k_start;
    incidents[1].number = 2;
    incidents[1].severity = Severity::sev2;
    incidents[1].declared_at = incident::testing::k_start + 3'600'000;
    incidents[2].number = 3;  // merged: counted with its primary
    incidents[2].state = State::merged;
    incidents[2].declared_at = incident::testing::k_start;
    const std::string svg = weekly_severity_chart(incidents, incident::testing::k_start, 4);
    CHECK(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    CHECK(svg.ends_with("</svg>"));
    CHECK(contains(svg, "2026-W48 (from 2026-11-23): 2 incidents (SEV1: 1, SEV2: 1)"));
    CHECK(contains(svg, "2026-W45 (from 2026-11-02): 0 incidents"));
    CHECK(contains(svg, "fill=\"#b42318\""));
    CHECK(contains(svg, "fill=\"#d9480f\""));
}

TEST_CASE("charts: time to resolve, one linked bar per resolved incident") {
    std::vector<Incident> incidents(2);
    incidents[0].number = 1;
    incidents[0].title = "<script>alert(1)</script>";
    incidents[0].declared_at = 0;
    incidents[0].resolved_at = 3'900'000;
    incidents[1].number = 2;  // still open: no bar
    const std::string svg = resolve_time_chart(incidents, 30);
    CHECK(contains(svg, "<a href=\"/incidents/INC-1\">"));
    CHECK(contains(svg, "1h 05m"));
    CHECK(!contains(svg, "INC-2"));
    CHECK(!contains(svg, "<script"));
    CHECK(contains(svg, "&lt;script&gt;"));
    CHECK(contains(resolve_time_chart({}, 30), "No resolved incidents"));
}

TEST_CASE("pages: every user string is escaped") {
    const std::string evil = "<script>alert(1)</script>";
    IncidentSnapshot snap;
    snap.incident.number = 1;
    snap.incident.title = evil;
    snap.incident.summary = evil;
    snap.incident.channel_name = evil;
    snap.incident.platform = evil;
    snap.incident.declared_by = Actor{"U1", evil};
    snap.incident.postmortem_owner = evil;
    snap.roles.push_back(RoleAssignment{Role::scribe, Actor{"U2", evil}, Actor{}, 0});
    TimelineEntry e;
    e.author = Actor{"U3", evil};
    e.text = evil;
    e.edited_at = 5;
    e.previous_texts = {evil};
    snap.timeline.push_back(e);
    ActionItem a;
    a.number = 1;
    a.text = evil;
    a.owner = evil;
    snap.actions.push_back(a);
    const std::string html = incident_page(snap, 0, Chrome{});
    CHECK(!contains(html, "<script"));
    CHECK(contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));

    ListFilter filter;
    filter.q = "\"><script>";
    const std::string list = list_page({snap.incident}, filter, 0, Chrome{});
    CHECK(!contains(list, "<script"));
    CHECK(contains(list, "value=\"&quot;&gt;&lt;script&gt;\""));

    CHECK(!contains(login_page("/\"><script>", evil), "<script"));
    CHECK(!contains(error_page(400, evil, Chrome{}), "<script"));
}

#include <doctest/doctest.h>

#include <sstream>

#include "adapters/console/console_adapter.hpp"
#include "bot/rich_text.hpp"
#include "fixture.hpp"

using namespace incident;
using incident::testing::Bot;

namespace {

struct Console {
    Bot bot;
    std::ostringstream out;
    ConsoleAdapter console{bot.service, bot.router, out, "incidents", "t1"};

    std::string run(const std::string& script) {
        out.str("");
        std::istringstream in(script);
        console.run(in, false);
        return out.str();
    }
};

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("console: declare moves into the new channel, chatter is captured there") {
    Console c;
    const std::string out = c.run(
        "/as alice\n/incident declare sev1 API down\nlooking at dashboards\n"
        "/as bob\nTODO: add a synthetic check @bob\n+:pushpin: 1\n/edit 1 looking at grafana\n");
    CHECK(has(out, "[#general] 🚨 INC-1 declared (SEV1, critical): API down"));
    CHECK(has(out, "[#incidents] INC-1 (SEV1) API down: declared by @alice"));
    CHECK(has(out, "[console] channel #inc-1-api-down created"));
    CHECK(has(out, "[#inc-1-api-down] Action item 1 recorded: add a synthetic check @bob"));
    CHECK(c.console.channel() == "inc-1-api-down");
    const auto timeline = c.bot.service.timeline(1);
    bool pinned_edited = false;
    for (const auto& e : timeline) {
        if (e.message_id == "t1.1") {
            pinned_edited =
                e.key_event && e.text == "looking at grafana" && e.author.name == "alice";
        }
    }
    CHECK(pinned_edited);
}

TEST_CASE("console: errors are shown to the caller and change nothing") {
    Console c;
    std::string out = c.run("/incident status resolved\n");
    CHECK(has(out, "[#general, only you] ⚠ This is not an incident channel"));
    out = c.run("+:pushpin: 9\n/edit 4\n/frobnicate\n/incident frob\n");
    CHECK(has(out, "usage: +:emoji: <message number>"));
    CHECK(has(out, "usage: /edit <message number> <text>"));
    CHECK(has(out, "Unknown console command `/frobnicate`"));
    CHECK(has(out, "Unknown command `frob`"));
    CHECK(c.bot.service.list(true).empty());
}

TEST_CASE("console: threads, deletions and /quit") {
    Console c;
    const std::string out = c.run(
        "/incident declare Disk full\nroot cause?\n/reply 1 log rotation broke\n/delete 1\n"
        "/quit\nthis is never read\n");
    CHECK(has(out, "INC-1 declared"));
    const auto timeline = c.bot.service.timeline(1);
    int messages = 0;
    for (const auto& e : timeline) {
        if (e.kind != EntryKind::message) continue;
        ++messages;
        if (e.message_id == "t1.1") CHECK(e.deleted_at);
        if (e.message_id == "t1.2") CHECK(e.thread_id == "t1.1");
    }
    CHECK(messages == 2);
}

TEST_CASE("rich text: each adapter renders the domain's *emphasis* in its own syntax") {
    CHECK(render_emphasis("*INC-1* (SEV2) is now *identified*.", "", "") ==
          "INC-1 (SEV2) is now identified.");
    CHECK(render_emphasis("*INC-1* (SEV2)", "**", "**") == "**INC-1** (SEV2)");
    // Not emphasis: arithmetic, a glob, Markdown bold, an unclosed star, across lines.
    for (const char* text : {"2 * 3 = 6", "logs/*.txt", "**bold**", "*open", "*a\nb*"}) {
        CHECK(render_emphasis(text, "", "") == text);
    }
}

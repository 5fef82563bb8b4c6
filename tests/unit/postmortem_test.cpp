#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "bot/export_json.hpp"
#include "bot/postmortem.hpp"
#include "fixture.hpp"

using namespace incident;
using incident::testing::Bot;

namespace {

// A small but complete incident, built the way chat would build it.
void play_fixed_incident(Bot& bot) {
    const std::string ch = bot.declare("Checkout returns 502s", "alice");
    bot.clock.advance(60'000);
    bot.say(ch, "1700000001.000100", "502s from the edge since 09:58, started after deploy 4312?",
            "bob");
    bot.command("role scribe @carol", "alice", ch);
    bot.command("role sme @dave", "alice", ch);
    bot.clock.advance(120'000);
    bot.say(ch, "1700000002.000100", "config push changed the upstream pool | size to 0", "dave");
    bot.event(ReactionChanged{bot.header(ch), "1700000002.000100", "pushpin",
                              Actor{"U-carol", "carol"}, true});
    bot.command("status identified", "alice", ch);
    bot.clock.advance(60'000);
    bot.say(ch, "1700000003.000100", "TODO: @dave add a guard for empty pools due:2026-12-04",
            "dave");
    bot.say(ch, "1700000004.000100", "rolling back the config", "dave");
    bot.event(MessageEdited{bot.header(ch), "1700000004.000100", "rolling back config push 4312"});
    bot.say(ch, "1700000005.000100", "wrong channel, sorry", "erin");
    bot.event(MessageDeleted{bot.header(ch), "1700000005.000100"});
    bot.command("update Rollback in progress; checkout degraded", "alice", ch);
    bot.clock.advance(300'000);
    bot.command("status monitoring", "alice", ch);
    bot.command("todo alert on upstream pool size @carol", "alice", ch);
    bot.clock.advance(600'000);
    bot.command("resolve sev2 Config push emptied the upstream pool; rolled back.", "alice", ch);
    bot.command("done 1", "dave", ch);
    bot.command("postmortem owner @carol due 2026-12-07", "alice", ch);
    bot.command("factor process the deploy checklist has no pool-size check", "carol", ch);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

TEST_CASE("post-mortem golden file") {
    Bot bot;
    play_fixed_incident(bot);
    const std::string md = render_postmortem(bot.service.snapshot(1));
    CHECK(md == render_postmortem(bot.service.snapshot(1)));  // deterministic
    const std::string path = std::string(INCIDENT_BOT_GOLDEN_DIR) + "/postmortem_inc1.md";
    if (std::getenv("INCIDENT_BOT_UPDATE_GOLDEN")) {
        std::ofstream(path, std::ios::binary) << md;
    }
    const std::string golden = read_file(path);
    REQUIRE_MESSAGE(!golden.empty(),
                    "missing " << path << "; run with INCIDENT_BOT_UPDATE_GOLDEN=1");
    CHECK(md == golden);
}

TEST_CASE("post-mortem has every section with data filled in") {
    Bot bot;
    play_fixed_incident(bot);
    const std::string md = render_postmortem(bot.service.snapshot(1));
    for (const std::string section :
         {"# INC-1: Checkout returns 502s", "## Summary", "## Impact", "**Customers:**",
          "**Internal operations:**", "**Availability:**", "## Timeline (key events, UTC)",
          "## Root cause analysis (5 whys)", "### Technical failures", "### Process gaps",
          "### Monitoring & alerting", "## Corrective actions", "## Preventive measures",
          "## Lessons learned", "### Review of the response", "## Related incidents",
          "## Follow-up", "## Appendix: channel log"}) {
        CHECK_MESSAGE(md.find(section) != std::string::npos, section);
    }
    CHECK(md.find("| Final severity | SEV2 (major) |") != std::string::npos);
    CHECK(md.find("| Incident commander | @alice |") != std::string::npos);
    CHECK(md.find("| Scribe | @carol |") != std::string::npos);
    CHECK(md.find("| Identified | 2026-11-23T10:03:00Z | 3m 00s after declaration |") !=
          std::string::npos);
    CHECK(md.find("Total time to resolve: 19m 00s") != std::string::npos);
    CHECK(md.find("Config push emptied the upstream pool; rolled back.") != std::string::npos);
    // Key events: the pinned message (with its pipe escaped) and the state changes.
    CHECK(
        md.find("| key message | @dave | config push changed the upstream pool \\| size to 0 |") !=
        std::string::npos);
    CHECK(md.find("investigating → identified") != std::string::npos);
    CHECK(
        md.find(
            "| 1 | @dave add a guard for empty pools | @dave | 2026-12-04 | done | todo_line |") !=
        std::string::npos);
    CHECK(md.find("| 2 | alert on upstream pool size @carol | @carol | — | open | command |") !=
          std::string::npos);
    CHECK(md.find("- Post-mortem owner: @carol") != std::string::npos);
    CHECK(md.find("- Due: 2026-12-07") != std::string::npos);
    CHECK(md.find("rolling back config push 4312 *(edited") != std::string::npos);
    CHECK(md.find("earlier: \"rolling back the config\"") != std::string::npos);
    CHECK(md.find("~~wrong channel, sorry~~ *(deleted") != std::string::npos);
}

TEST_CASE("merged incidents appear in the primary's post-mortem") {
    Bot bot;
    bot.declare("Primary");
    const std::string second = bot.declare("Duplicate report");
    bot.say(second, "x1", "TODO: reply to the customer @erin");
    bot.command("merge INC-1", "alice", second);
    const std::string md = render_postmortem(bot.service.snapshot(1));
    CHECK(md.find("- INC-2: Duplicate report (SEV2, merged)") != std::string::npos);
    CHECK(md.find("| 1 | INC-2 | reply to the customer @erin |") != std::string::npos);
    CHECK(md.find("### INC-2: Duplicate report") != std::string::npos);
    CHECK(render_postmortem(bot.service.snapshot(2)).find("- Merged into INC-1") !=
          std::string::npos);
}

TEST_CASE("JSON export has stable field names") {
    Bot bot;
    play_fixed_incident(bot);
    const auto j = to_json(bot.service.snapshot(1));
    CHECK(j["id"] == "INC-1");
    CHECK(j["severity"] == "SEV2");
    CHECK(j["final_severity"] == "SEV2");
    CHECK(j["state"] == "resolved");
    CHECK(j["declared_at"] == "2026-11-23T10:00:00Z");
    CHECK(j["postmortem"]["owner"] == "@carol");
    CHECK(j["action_items"].size() == 2);
    CHECK(j["action_items"][0]["status"] == "done");
    bool edited = false;
    for (const auto& e : j["timeline"]) {
        if (e["message_id"] == "1700000004.000100") {
            edited =
                e["previous_texts"][0] == "rolling back the config" && !e["edited_at"].is_null();
        }
    }
    CHECK(edited);
}

TEST_CASE("post-mortem: recorded contributing factors fill their category, merged ones named") {
    Bot bot;
    const std::string primary = bot.declare("Checkout is down");
    bot.command("factor technical connection pool | exhausted", "bob", primary);
    const std::string other = bot.declare("Payments slow");
    bot.command("factor monitoring no alert on pool saturation", "carol", other);
    REQUIRE(bot.command("merge INC-1", "alice", other).reply.ok);

    const std::string md = render_postmortem(bot.service.snapshot(1));
    const auto section =
        md.substr(md.find("## Contributing factors"),
                  md.find("## Corrective actions") - md.find("## Contributing factors"));
    CHECK(section ==
          "## Contributing factors\n\n"
          "### Technical failures\n\n- connection pool | exhausted *(@bob)*\n\n"
          "### Process gaps\n\n*e.g. communication delays, outdated runbooks.*\n\n"
          "### Monitoring & alerting\n\n- no alert on pool saturation *(@carol, INC-2)*\n\n");

    const auto json = to_json(bot.service.snapshot(1));
    REQUIRE(json["contributing_factors"].size() == 1);
    CHECK(json["contributing_factors"][0]["category"] == "technical");
    CHECK(json["contributing_factors"][0]["author"]["name"] == "bob");
    CHECK(json["merged"][0]["contributing_factors"][0]["category"] == "monitoring");
}

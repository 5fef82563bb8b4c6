#include <doctest/doctest.h>

#include "commands/parser.hpp"
#include "fixture.hpp"

using namespace incident;
using incident::testing::Bot;

namespace {

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// An error reply that names the problem, and nothing changed in the store.
void check_refused(Bot& bot, const std::string& text, const std::string& expected,
                   const std::string& channel = "general") {
    CAPTURE(text);
    const auto before = bot.service.list(true).size();
    const std::size_t entries_before =
        before ? bot.service.timeline(bot.service.list(true).front().number).size() : 0;
    const Outcome out = bot.command(text, "alice", channel);
    CHECK_FALSE(out.reply.ok);
    CHECK_MESSAGE(contains(out.reply.text, expected), out.reply.text);
    CHECK(out.effects.empty());
    CHECK(bot.service.list(true).size() == before);
    if (before) {
        CHECK(bot.service.timeline(bot.service.list(true).front().number).size() == entries_before);
    }
}

}  // namespace

TEST_CASE("args keep free text as typed") {
    const commands::Args args("  sev2   Checkout   is down ");
    REQUIRE(args.size() == 4);
    CHECK(args[0] == "sev2");
    CHECK(args.rest(1) == "Checkout   is down");
    CHECK(args.rest(9).empty());
    CHECK(args.shifted()[0] == "Checkout");
}

TEST_CASE("mentions in console, Mattermost and Slack forms") {
    CHECK(commands::parse_mention("@bob")->id == "bob");
    CHECK(commands::parse_mention("<@U123|bob>")->id == "U123");
    CHECK(commands::parse_mention("<@U123|bob>")->name == "bob");
    CHECK(commands::parse_mention("<@U123>")->id == "U123");
    CHECK_FALSE(commands::parse_mention("bob"));
    CHECK_FALSE(commands::parse_mention("@"));
}

TEST_CASE("help is generated from the registered commands") {
    Bot bot;
    const Outcome out = bot.command("help");
    CHECK(out.reply.ok);
    for (const auto& spec : bot.router.commands()) {
        CHECK_MESSAGE(contains(out.reply.text, "/incident " + spec.name), spec.name);
    }
    CHECK(bot.command("").reply.text == out.reply.text);
}

TEST_CASE("unknown commands are refused with a suggestion") {
    Bot bot;
    check_refused(bot, "delcare sev1 oops", "Did you mean `declare`?");
    check_refused(bot, "frobnicate", "Unknown command `frobnicate`");
}

TEST_CASE("declare: missing title and bad severity") {
    Bot bot;
    check_refused(bot, "declare", "needs a title");
    check_refused(bot, "declare sev2", "needs a title");
    check_refused(bot, "declare sev9 Everything is on fire", "not a severity");
    check_refused(bot, "declare " + std::string(300, 'x'), "longer than 200");
}

TEST_CASE("commands about an incident need its channel or INC-<n>") {
    Bot bot;
    for (const std::string cmd : {"status identified", "sev 2", "role scribe", "update hi",
                                  "note hi", "todo x", "todos", "done 1", "resolve", "reopen",
                                  "merge INC-1", "postmortem", "close", "info", "timeline"}) {
        check_refused(bot, cmd, "not an incident channel");
    }
    check_refused(bot, "info INC-42", "INC-42 does not exist");
}

TEST_CASE("argument errors name the problem and the usage") {
    Bot bot;
    const std::string channel = bot.declare();
    check_refused(bot, "status", "Which state?", channel);
    check_refused(bot, "status sleeping", "`sleeping` is not a state", channel);
    check_refused(bot, "status closed", "not a state you can set here", channel);
    check_refused(bot, "sev", "Which severity?", channel);
    check_refused(bot, "sev 0", "not a severity", channel);
    check_refused(bot, "sev 2", "already SEV2", channel);
    check_refused(bot, "role", "Which role?", channel);
    check_refused(bot, "role janitor", "not a role", channel);
    check_refused(bot, "role scribe bob", "not a @user", channel);
    check_refused(bot, "update", "Say what changed", channel);
    check_refused(bot, "note", "needs text", channel);
    check_refused(bot, "todo", "Say what needs doing", channel);
    check_refused(bot, "todo fix it due:2026-13-01", "not a due date", channel);
    check_refused(bot, "done", "Which action item?", channel);
    check_refused(bot, "done x", "not an action item number", channel);
    check_refused(bot, "done 7", "no action item 7", channel);
    check_refused(bot, "merge", "Merge into which incident?", channel);
    check_refused(bot, "merge INC-x", "is not INC-<n>", channel);
    check_refused(bot, "merge INC-1", "merged into itself", channel);
    check_refused(bot, "merge INC-99", "INC-99 does not exist", channel);
    check_refused(bot, "postmortem owner bob", "not a @user", channel);
    check_refused(bot, "postmortem due 2026-02-30", "not a date", channel);
    check_refused(bot, "postmortem banana", "don't understand `banana`", channel);
    check_refused(bot, "postmortem publish", "Resolve the incident before publishing", channel);
    check_refused(bot, "close", "resolve it first", channel);
    check_refused(bot, "close please", "don't understand", channel);
    check_refused(bot, "reopen", "Only a resolved incident can be reopened", channel);
    check_refused(bot, "list everything", "Unknown option", channel);
    check_refused(bot, "stats soon", "not a number of days", channel);
    check_refused(bot, "subscribe sev8", "not a severity", channel);
    check_refused(bot, "resolve sev7 done", "not a severity", channel);
}

TEST_CASE("invalid UTF-8 and oversized commands change nothing") {
    Bot bot;
    check_refused(bot, "declare bad \xC3\x28 title", "not valid UTF-8");
    check_refused(bot, "note " + std::string(5000, 'a'), "longer than 4000");
}

TEST_CASE("INC-<n> targets an incident from anywhere") {
    Bot bot;
    bot.declare("First");
    bot.declare("Second");
    Outcome out = bot.command("status INC-1 identified");
    CHECK_MESSAGE(out.reply.ok, out.reply.text);
    CHECK(bot.service.require(1).state == State::identified);
    CHECK(bot.service.require(2).state == State::investigating);
    // In INC-2's channel, "merge INC-1" names the primary.
    out = bot.command("merge INC-1", "alice", "C2");
    CHECK_MESSAGE(out.reply.ok, out.reply.text);
    CHECK(bot.service.require(2).state == State::merged);
    CHECK(bot.service.require(2).merged_into == 1);
}

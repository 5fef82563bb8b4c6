// Buttons, modals and shortcuts (issue 19): a summary button opens its form with views.open,
// a view_submission is checked like the command and does what the command does, once.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "harness.hpp"
#include "http_harness.hpp"

using namespace incident;
using namespace incident::testing;
using net::testing::run_async;
using net::testing::wait_until;
using nlohmann::json;
namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// The live summary in `channel`: its ts and the message as it stands.
std::pair<std::string, json> summary_in(SlackHarness& h, const std::string& channel) {
    for (const auto& [ts, message] : h.fake->messages) {
        if (message.value("channel", "") == channel &&
            contains(message.value("blocks", json::array()).dump(), "INC-")) {
            return {ts, message};
        }
    }
    return {"", json()};
}

json button_of(const json& message, const std::string& action_id) {
    for (const auto& block : message.value("blocks", json::array())) {
        for (const auto& e : block.value("elements", json::array())) {
            if (e.value("action_id", "") == action_id) return e;
        }
    }
    FAIL("no button " << action_id);
    return json();
}

// The view views.open opened last.
json last_view(const FakeSlack& fake) {
    return fake.views.empty() ? json() : fake.views.rbegin()->second;
}

// Waits for the n-th opened view (or a refusal, which fails the test with Slack's words).
asio::awaitable<json> view_opened(SlackHarness& h, std::size_t n) {
    const bool done = co_await wait_until(
        [&] { return h.fake->views.size() >= n || !h.fake->refused_views.empty(); },
        milliseconds(5000));
    REQUIRE(done);
    for (const auto& why : h.fake->refused_views) MESSAGE("views.open refused: " << why);
    REQUIRE(h.fake->refused_views.empty());
    REQUIRE(h.fake->views.size() == n);
    co_return last_view(*h.fake);
}

std::size_t posts_with(const FakeSlack& fake, const std::string& method, const std::string& text) {
    std::size_t n = 0;
    for (const auto& c : fake.calls_of(method)) n += c.args.value("text", "") == text;
    return n;
}

std::size_t entries_of(IncidentService& service, EntryKind kind) {
    std::size_t n = 0;
    for (const auto& e : service.timeline(1)) n += e.kind == kind;
    return n;
}

}  // namespace

TEST_CASE(
    "slack forms: a summary button opens its modal with the press's trigger, a bad value is "
    "named in the modal, a good one does what the command does, once") {
    SlackHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(
            co_await wait_until([&] { return h.adapter->socket_connected(); }, milliseconds(5000)));
        const std::string channel = co_await h.declare();
        const auto [ts, summary] = summary_in(h, channel);
        REQUIRE_FALSE(ts.empty());
        std::vector<std::string> labels;
        for (const auto& block : summary["blocks"]) {
            for (const auto& e : block.value("elements", json::array())) {
                if (e.value("type", "") == "button")
                    labels.push_back(e["text"]["text"].get<std::string>());
            }
        }
        CHECK(labels == std::vector<std::string>{"Post update", "Change severity", "Change state",
                                                 "Assign role", "Add action item", "Resolve",
                                                 "Info"});

        // Change severity: views.open with the trigger of the press, at once.
        const std::string trigger = h.fake->trigger();
        const auto pressed = std::chrono::steady_clock::now();
        h.fake->deliver(interactive_envelope(
            "press-1", button_press(trigger, channel, ts, "U1", "alice",
                                    button_of(summary, "form:severity"), "1800000200.000001")));
        const json view = co_await view_opened(h, 1);
        CHECK(std::chrono::steady_clock::now() - pressed < std::chrono::seconds(3));
        REQUIRE(co_await h.acked("env-press-1"));
        CHECK_FALSE(h.ack_of("env-press-1").contains("payload"));
        const auto opened = h.fake->calls_of("views.open");
        REQUIRE(opened.size() == 1);
        CHECK(opened[0].args["trigger_id"] == trigger);
        CHECK(view["callback_id"] == "incident_form:severity");
        CHECK(view["title"]["text"] == "Change severity");
        CHECK(json::parse(view["private_metadata"].get<std::string>())["incident"] == 1);
        REQUIRE(view["blocks"].size() == 1);
        CHECK(view["blocks"][0]["block_id"] == "severity");
        CHECK(view["blocks"][0]["element"]["type"] == "static_select");
        CHECK(view["blocks"][0]["element"]["initial_option"]["value"] == "sev2");

        // A value the select does not offer (a forged request): named in the modal, nothing
        // changes.
        h.fake->deliver(interactive_envelope(
            "submit-1", view_submission(view, "U1", "alice", {{"severity", "sev9"}})));
        REQUIRE(co_await h.acked("env-submit-1"));
        const json refused = h.ack_of("env-submit-1");
        CHECK(refused["payload"]["response_action"] == "errors");
        CHECK(contains(refused["payload"]["errors"].value("severity", ""), "Choose one"));
        CHECK(h.service.find(1)->severity == Severity::sev2);
        CHECK(entries_of(h.service, EntryKind::severity) == 0);

        // A good one closes the modal and says in the channel what `/incident sev 1` says.
        h.fake->deliver(interactive_envelope(
            "submit-2", view_submission(view, "U1", "alice", {{"severity", "sev1"}})));
        REQUIRE(co_await h.acked("env-submit-2"));
        CHECK_FALSE(h.ack_of("env-submit-2").contains("payload"));
        REQUIRE(co_await h.idle());
        CHECK(h.service.find(1)->severity == Severity::sev1);
        CHECK(entries_of(h.service, EntryKind::severity) == 1);
        const std::string said = "INC-1 severity is now SEV1 (critical).";
        CHECK(posts_with(*h.fake, "chat.postMessage", said) == 1);

        // Submitted again (a second click on Submit) and redelivered: nothing twice.
        h.fake->deliver(interactive_envelope(
            "submit-3", view_submission(view, "U1", "alice", {{"severity", "sev1"}})));
        REQUIRE(co_await h.acked("env-submit-3"));
        h.fake->deliver(interactive_envelope(
            "submit-2", view_submission(view, "U1", "alice", {{"severity", "sev1"}})));
        REQUIRE(co_await wait_until(
            [&] {
                int n = 0;
                for (const auto& a : h.fake->acks)
                    n += a.value("envelope_id", "") == "env-submit-2";
                return n == 2;
            },
            milliseconds(5000)));
        REQUIRE(co_await h.idle());
        CHECK(entries_of(h.service, EntryKind::severity) == 1);
        CHECK(posts_with(*h.fake, "chat.postMessage", said) == 1);

        // Add action item: a text input, a user select, a date picker.
        h.fake->deliver(interactive_envelope(
            "press-2", button_press(h.fake->trigger(), channel, ts, "U1", "alice",
                                    button_of(summary, "form:action"), "1800000200.000002")));
        const json action = co_await view_opened(h, 2);
        CHECK(action["callback_id"] == "incident_form:action");
        REQUIRE(action["blocks"].size() == 3);
        CHECK(action["blocks"][0]["element"]["type"] == "plain_text_input");
        CHECK(action["blocks"][1]["element"]["type"] == "users_select");
        CHECK(action["blocks"][1]["optional"] == true);
        CHECK(action["blocks"][2]["element"]["type"] == "datepicker");

        h.fake->deliver(interactive_envelope(
            "submit-4",
            view_submission(
                action, "U1", "alice",
                {{"text", "rotate the keys"}, {"owner", "U2"}, {"due", "2026-02-30"}})));
        REQUIRE(co_await h.acked("env-submit-4"));
        CHECK(contains(h.ack_of("env-submit-4")["payload"]["errors"].value("due", ""),
                       "is not a date"));
        CHECK(h.service.actions(1).empty());

        h.fake->deliver(interactive_envelope(
            "submit-5",
            view_submission(
                action, "U1", "alice",
                {{"text", "rotate the keys"}, {"owner", "U2"}, {"due", "2026-12-03"}})));
        REQUIRE(co_await h.acked("env-submit-5"));
        CHECK_FALSE(h.ack_of("env-submit-5").contains("payload"));
        REQUIRE(co_await h.idle());
        // As `/incident todo rotate the keys <@U2|bob> due:2026-12-03` typed in the channel.
        const auto items = h.service.actions(1);
        REQUIRE(items.size() == 1);
        CHECK(items[0].text == "rotate the keys <@U2|bob>");
        CHECK(items[0].owner == "<@U2|bob>");
        CHECK(items[0].due == "2026-12-03");
        CHECK(items[0].author.id == "U1");
        CHECK(posts_with(*h.fake, "chat.postMessage",
                         "Action item 1 added to INC-1: 1. [ ] rotate the keys <@U2|bob> (due "
                         "2026-12-03)") == 1);
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE(
    "slack forms over signed HTTP: the button's modal, a refused and an accepted submission, "
    "unsigned ones change nothing") {
    HttpHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        const std::string form = "application/x-www-form-urlencoded";
        auto r = co_await h.post(
            "/slack/commands",
            form_of(slash_payload("h1", "CGENERAL", "U1", "alice", "declare sev2 API down")), form);
        REQUIRE(r.status == 200);
        REQUIRE(co_await h.idle());
        const std::string channel = h.service.find(1)->channel_id;
        const auto [ts, summary] = summary_in(h, channel);
        REQUIRE_FALSE(ts.empty());

        const std::string trigger = h.fake->trigger();
        r = co_await h.post(
            "/slack/interactive",
            interactive_form(button_press(trigger, channel, ts, "U3", "carol",
                                          button_of(summary, "form:role"), "1800000200.000003")),
            form);
        CHECK(r.status == 200);
        CHECK(r.body.empty());
        const json view = co_await view_opened(h, 1);
        CHECK(h.fake->calls_of("views.open")[0].args["trigger_id"] == trigger);
        CHECK(view["callback_id"] == "incident_form:role");

        // No role chosen: the errors are the response body.
        // (Bodies are built first: GCC 12 rejects braced lists inside a co_await expression.)
        const std::string no_role =
            interactive_form(view_submission(view, "U3", "carol", {{"user", "U3"}}));
        r = co_await h.post("/slack/interactive", no_role, form);
        CHECK(r.status == 200);
        const json errors = json::parse(r.body, nullptr, false);
        CHECK(errors["response_action"] == "errors");
        CHECK(errors["errors"]["role"] == "Required: Role.");
        CHECK(h.service.roles(1).size() == 1);  // the commander

        // Unsigned, and signed with another secret: 401, nothing changes.
        const std::string good = interactive_form(
            view_submission(view, "U3", "carol", {{"role", "scribe"}, {"user", "U3"}}));
        r = co_await h.post("/slack/interactive", good, form, std::nullopt, std::string());
        CHECK(r.status == 401);
        r = co_await h.post(
            "/slack/interactive", good, form, std::nullopt,
            slack::sign_request("another-secret", std::to_string(h.clock.now() / 1000), good));
        CHECK(r.status == 401);
        CHECK(h.service.roles(1).size() == 1);

        r = co_await h.post("/slack/interactive", good, form);
        CHECK(r.status == 200);
        CHECK(r.body.empty());  // closes the modal
        REQUIRE(co_await h.idle());
        const auto scribe = [&] {
            int n = 0;
            for (const auto& role : h.service.roles(1)) {
                n += role.role == Role::scribe && role.person.id == "U3" &&
                     role.person.name == "carol";
            }
            return n;
        };
        CHECK(scribe() == 1);
        const std::string said = "@carol is now scribe of INC-1.";
        CHECK(posts_with(*h.fake, "chat.postMessage", said) == 1);
        const std::size_t role_entries = entries_of(h.service, EntryKind::role);

        // The same submission again: answered, not done again.
        r = co_await h.post("/slack/interactive", good, form);
        CHECK(r.status == 200);
        REQUIRE(co_await h.idle());
        CHECK(scribe() == 1);
        CHECK(entries_of(h.service, EntryKind::role) == role_entries);
        CHECK(posts_with(*h.fake, "chat.postMessage", said) == 1);
        h.adapter->stop();
        h.server.stop();
    });
    CHECK(finished);
}

TEST_CASE(
    "slack declare form: `/incident declare` alone and the global shortcut open it, and the "
    "submission declares with its description as a key event") {
    SlackHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(
            co_await wait_until([&] { return h.adapter->socket_connected(); }, milliseconds(5000)));
        // A slash command's trigger_id opens the form; the command itself says nothing.
        const std::string slash_trigger = h.fake->trigger();
        h.fake->deliver(slash_envelope(slash_trigger, "CGENERAL", "U1", "alice", "declare"));
        const json from_slash = co_await view_opened(h, 1);
        REQUIRE(co_await h.acked("env-" + slash_trigger));
        CHECK_FALSE(h.ack_of("env-" + slash_trigger).contains("payload"));
        CHECK(from_slash["callback_id"] == "incident_form:declare");
        REQUIRE(from_slash["blocks"].size() == 3);
        CHECK(from_slash["blocks"][1]["element"]["initial_option"]["value"] == "sev3");
        CHECK(h.service.list(true).empty());

        // The global shortcut "Declare incident".
        const std::string trigger = h.fake->trigger();
        h.fake->deliver(interactive_envelope(
            "shortcut-1", global_shortcut(trigger, "declare_incident", "U2", "bob")));
        const json from_shortcut = co_await view_opened(h, 2);
        REQUIRE(co_await h.acked("env-shortcut-1"));
        CHECK(h.fake->calls_of("views.open")[1].args["trigger_id"] == trigger);
        CHECK(from_shortcut["callback_id"] == "incident_form:declare");

        h.fake->deliver(interactive_envelope(
            "submit-1", view_submission(from_shortcut, "U2", "bob", {{"severity", "sev1"}})));
        REQUIRE(co_await h.acked("env-submit-1"));
        CHECK(h.ack_of("env-submit-1")["payload"]["errors"]["title"] == "Required: Title.");
        CHECK(h.service.list(true).empty());

        h.fake->deliver(
            interactive_envelope("submit-2", view_submission(from_shortcut, "U2", "bob",
                                                             {{"title", "Payments are failing"},
                                                              {"severity", "sev1"},
                                                              {"description", "EU cards only"}})));
        REQUIRE(co_await h.acked("env-submit-2"));
        CHECK_FALSE(h.ack_of("env-submit-2").contains("payload"));
        REQUIRE(co_await h.idle());
        const auto inc = h.service.find(1);
        REQUIRE(inc);
        CHECK(inc->title == "Payments are failing");
        CHECK(inc->severity == Severity::sev1);
        CHECK(inc->declared_by.id == "U2");
        int described = 0;
        for (const auto& e : h.service.timeline(1)) {
            described += e.kind == EntryKind::note && e.key_event && e.text == "EU cards only";
        }
        CHECK(described == 1);
        // No channel to answer in: the declare's reply comes as a direct message.
        REQUIRE(h.fake->ims.count("U2"));
        const auto dms = h.fake->posted_in(h.fake->ims["U2"]);
        REQUIRE(dms.size() == 1);
        CHECK(contains(dms[0].value("text", ""), "INC-1 declared (SEV1"));

        // The slash command's form answers in the channel it came from.
        h.fake->deliver(interactive_envelope(
            "submit-3", view_submission(from_slash, "U1", "alice",
                                        {{"title", "Search is slow"}, {"severity", "sev4"}})));
        REQUIRE(co_await h.acked("env-submit-3"));
        REQUIRE(co_await h.idle());
        REQUIRE(h.service.find(2));
        CHECK(h.service.find(2)->severity == Severity::sev4);
        bool answered = false;
        for (const auto& post : h.fake->posted_in("CGENERAL")) {
            answered |= contains(post.value("text", ""), "INC-2 declared (SEV4");
        }
        CHECK(answered);
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE(
    "slack message shortcuts: a message becomes a key event like 📌, once, and Make action item "
    "opens the form with its text") {
    SlackHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(
            co_await wait_until([&] { return h.adapter->socket_connected(); }, milliseconds(5000)));
        const std::string channel = co_await h.declare();
        const std::string ts = "1800000300.000100";
        h.fake->deliver(events_envelope(
            "EvK1", message_event(channel, "U2", ts, "db primary failed over to the replica")));
        REQUIRE(co_await h.acked("env-EvK1"));
        REQUIRE(h.messages(1) == 1);
        const auto key_event = [&](const std::string& message) {
            for (const auto& e : h.service.timeline(1)) {
                if (e.message_id == message) return e.key_event;
            }
            return false;
        };
        CHECK_FALSE(key_event(ts));

        const json marked =
            message_shortcut(h.fake->trigger(), "incident_key_event", channel, "U3", "carol", ts,
                             "U2", "db primary failed over to the replica", "1800000301.000001");
        h.fake->deliver(interactive_envelope("mark-1", marked));
        REQUIRE(co_await h.acked("env-mark-1"));
        REQUIRE(co_await h.idle());
        CHECK(key_event(ts));
        CHECK(h.messages(1) == 1);  // the message it had, not a copy
        const std::string said =
            "📌 Marked as a key event of INC-1: it is on the post-mortem's timeline.";
        CHECK(posts_with(*h.fake, "chat.postEphemeral", said) == 1);
        // Redelivered: said once.
        h.fake->deliver(interactive_envelope("mark-1b", marked));
        REQUIRE(co_await h.acked("env-mark-1b"));
        REQUIRE(co_await h.idle());
        CHECK(posts_with(*h.fake, "chat.postEphemeral", said) == 1);

        // A message from before the bot listened is recorded, then marked.
        const std::string older = "1800000100.000100";
        h.fake->deliver(interactive_envelope(
            "mark-2",
            message_shortcut(h.fake->trigger(), "incident_key_event", channel, "U3", "carol", older,
                             "U1", "the pager went off", "1800000302.000001")));
        REQUIRE(co_await h.acked("env-mark-2"));
        REQUIRE(co_await h.idle());
        CHECK(key_event(older));
        CHECK(h.messages(1) == 2);

        // Outside an incident channel: said so, nothing recorded.
        h.fake->deliver(interactive_envelope(
            "mark-3",
            message_shortcut(h.fake->trigger(), "incident_key_event", "CGENERAL", "U3", "carol",
                             "1800000303.000100", "U1", "lunch?", "1800000303.000001")));
        REQUIRE(co_await h.acked("env-mark-3"));
        REQUIRE(co_await h.idle());
        bool told = false;
        for (const auto& c : h.fake->calls_of("chat.postEphemeral")) {
            told |= c.args.value("channel", "") == "CGENERAL" &&
                    contains(c.args.value("text", ""), "not an incident channel");
        }
        CHECK(told);

        // Make action item: the form, with the message's words to start from.
        h.fake->deliver(interactive_envelope(
            "item-1",
            message_shortcut(h.fake->trigger(), "incident_action_item", channel, "U3", "carol", ts,
                             "U2", "check the replica lag\nbefore failing back",
                             "1800000304.000001")));
        const json form = co_await view_opened(h, 1);
        CHECK(form["callback_id"] == "incident_form:action");
        CHECK(form["blocks"][0]["element"]["initial_value"] ==
              "check the replica lag before failing back");
        h.fake->deliver(interactive_envelope(
            "item-2", view_submission(form, "U3", "carol",
                                      {{"text", "check the replica lag before failing back"}})));
        REQUIRE(co_await h.acked("env-item-2"));
        REQUIRE(co_await h.idle());
        REQUIRE(h.service.actions(1).size() == 1);
        CHECK(h.service.actions(1)[0].text == "check the replica lag before failing back");
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE(
    "slack forms: a double click opens one modal, and an expired trigger is logged and told to the "
    "one who pressed") {
    SlackHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(
            co_await wait_until([&] { return h.adapter->socket_connected(); }, milliseconds(5000)));
        const std::string channel = co_await h.declare();
        const auto [ts, summary] = summary_in(h, channel);
        const json state = button_of(summary, "form:state");
        h.fake->deliver(
            interactive_envelope("click-1", button_press(h.fake->trigger(), channel, ts, "U1",
                                                         "alice", state, "1800000400.000001")));
        h.fake->deliver(
            interactive_envelope("click-2", button_press(h.fake->trigger(), channel, ts, "U1",
                                                         "alice", state, "1800000400.000002")));
        const json view = co_await view_opened(h, 1);
        REQUIRE(co_await h.acked("env-click-2"));
        // The states investigating may move to.
        std::vector<std::string> states;
        for (const auto& o : view["blocks"][0]["element"]["options"])
            states.push_back(o["value"].get<std::string>());
        CHECK(states == std::vector<std::string>{"identified", "monitoring", "resolved"});
        // Another form opens: the second click had been decided on before it.
        h.fake->deliver(interactive_envelope(
            "click-3", button_press(h.fake->trigger(), channel, ts, "U1", "alice",
                                    button_of(summary, "form:update"), "1800000400.000003")));
        co_await view_opened(h, 2);
        CHECK(h.fake->count("views.open") == 2);

        // Too late for the trigger: Slack refuses, the presser hears why.
        h.fake->trigger_lifetime = milliseconds(0);
        h.fake->deliver(interactive_envelope(
            "click-4", button_press(h.fake->trigger(), channel, ts, "U2", "bob",
                                    button_of(summary, "form:resolve"), "1800000400.000004")));
        REQUIRE(co_await wait_until(
            [&] {
                for (const auto& c : h.fake->calls_of("chat.postEphemeral")) {
                    if (c.args.value("user", "") == "U2" &&
                        contains(c.args.value("text", ""), "expired_trigger_id")) {
                        return true;
                    }
                }
                return false;
            },
            milliseconds(5000)));
        CHECK(h.fake->views.size() == 2);
        CHECK(h.service.find(1)->state == State::investigating);
        h.adapter->stop();
    });
    CHECK(finished);
}

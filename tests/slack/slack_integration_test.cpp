#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "adapters/net/http_client.hpp"
#include "adapters/slack/signing.hpp"
#include "adapters/web/sign_in.hpp"
#include "bot/postmortem.hpp"
#include "harness.hpp"
#include "http_harness.hpp"
#include "log_capture.hpp"

using namespace incident;
using namespace incident::testing;
using net::testing::run_async;
using net::testing::sleep_for;
using net::testing::wait_until;
using nlohmann::json;
namespace asio = boost::asio;
using std::chrono::milliseconds;

TEST_CASE("slack socket mode: declare through post-mortem, with capture") {
    SlackHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(
            co_await wait_until([&] { return h.adapter->socket_connected(); }, milliseconds(5000)));
        const std::string channel = co_await h.declare();

        // The slash command is answered in the ack, in the channel.
        const json ack = h.ack_of("env-t-declare");
        CHECK(ack["payload"]["response_type"] == "in_channel");
        CHECK(ack["payload"]["text"].get<std::string>().find("INC-1 declared (SEV2") !=
              std::string::npos);
        // "inc-1-checkout-down" was taken: the next free name is used.
        const auto created = h.fake->calls_of("conversations.create");
        REQUIRE(created.size() >= 2);
        CHECK(created[0].args["name"] == "inc-1-checkout-down");
        CHECK(h.service.find(1)->channel_name == "inc-1-checkout-down-2");
        CHECK(h.fake->calls_of("conversations.invite").at(0).args["users"] == "U1");
        CHECK(h.fake->calls_of("conversations.setTopic")
                  .at(0)
                  .args["topic"]
                  .get<std::string>()
                  .find("SEV2 · investigating · IC @alice") != std::string::npos);
        bool summary = false, announced = false;
        for (const auto& c : h.fake->calls_of("chat.postMessage")) {
            summary |=
                c.args["channel"] == channel && c.args.contains("blocks") &&
                c.args["blocks"].dump().find(R"("action_id":"form:role")") != std::string::npos;
            announced |= c.args["text"].get<std::string>().find("declared by") != std::string::npos;
        }
        CHECK(summary);
        CHECK(announced);
        // The taken name looked up once (not the bot's channel: a new name), the announcement
        // channel once.
        CHECK(h.fake->count("conversations.list") == 2);

        // Chatter, TODO, edit, delete and pushpin, each stored before its ack.
        h.fake->deliver(events_envelope(
            "Ev1", message_event(channel, "U2", "1800000001.000100", "db is slow")));
        h.fake->deliver(
            events_envelope("Ev2", message_event(channel, "U3", "1800000002.000100",
                                                 "TODO: @bob add an index due:2026-12-01")));
        h.fake->deliver(events_envelope(
            "Ev3", message_event(channel, "U2", "1800000003.000100", "rollback stated")));
        h.fake->deliver(events_envelope(
            "Ev4", edit_event(channel, "U2", "1800000003.000100", "rollback started")));
        h.fake->deliver(
            events_envelope("Ev5", message_event(channel, "U2", "1800000004.000100", "oops")));
        h.fake->deliver(events_envelope("Ev6", delete_event(channel, "1800000004.000100")));
        h.fake->deliver(events_envelope(
            "Ev7", reaction_event(true, channel, "U3", "1800000001.000100", "pushpin")));
        json bot = message_event(channel, "UBOT", "1800000005.000100", "I am a bot");
        bot["bot_id"] = "B1";
        h.fake->deliver(events_envelope("Ev8", bot));
        json join =
            message_event(channel, "U3", "1800000006.000100", "<@U3> has joined the channel");
        join["subtype"] = "channel_join";
        h.fake->deliver(events_envelope("Ev9", join));
        REQUIRE(co_await h.acked("env-Ev9"));
        CHECK(h.fake->unacked() == 0);

        const auto timeline = h.service.timeline(1);
        std::map<std::string, TimelineEntry> by_ts;
        for (const auto& e : timeline) {
            if (e.kind == EntryKind::message) by_ts[e.message_id] = e;
        }
        CHECK(by_ts.size() == 4);
        CHECK(by_ts["1800000001.000100"].author.name == "bob");  // users.info
        CHECK(by_ts["1800000001.000100"].key_event);
        CHECK(by_ts["1800000003.000100"].text == "rollback started");
        CHECK(by_ts["1800000003.000100"].previous_texts ==
              std::vector<std::string>{"rollback stated"});
        CHECK(by_ts["1800000004.000100"].deleted_at);
        const auto items = h.service.actions(1);
        REQUIRE(items.size() == 1);
        CHECK(items[0].owner == "@bob");
        CHECK(items[0].due == "2026-12-01");
        CHECK(h.fake->count("users.info") == 2);  // names are cached

        // Redelivery and duplicate event ids change nothing.
        json again =
            events_envelope("Ev2", message_event(channel, "U3", "1800000002.000100",
                                                 "TODO: @bob add an index due:2026-12-01"));
        again["envelope_id"] = "env-Ev2-retry";
        again["retry_attempt"] = 1;
        again["retry_reason"] = "timeout";
        h.fake->deliver(again);
        REQUIRE(co_await h.acked("env-Ev2-retry"));
        CHECK(h.messages(1) == 4);
        CHECK(h.service.actions(1).size() == 1);

        // Resolve and post-mortem through slash commands in the incident channel.
        h.fake->deliver(slash_envelope("t2", channel, "U1", "alice", "status identified"));
        h.fake->deliver(
            slash_envelope("t3", channel, "U1", "alice", "resolve sev2 Added the index"));
        h.fake->deliver(slash_envelope("t4", channel, "U1", "alice",
                                       "postmortem owner <@U3|carol> due 2026-12-08"));
        h.fake->deliver(slash_envelope("t4b", channel, "U3", "carol",
                                       "impact customers checkout failed for 30% of users"));
        h.fake->deliver(slash_envelope("t5", channel, "U2", "bob", "status sleepy"));
        REQUIRE(co_await h.acked("env-t5"));
        CHECK(h.ack_of("env-t5")["payload"]["response_type"] ==
              "ephemeral");  // errors: only the caller
        CHECK(h.ack_of("env-t5")["payload"]["text"].get<std::string>().find("not a state") !=
              std::string::npos);
        // A post-mortem section, written from chat: confirmed in the channel, not chatter.
        CHECK(h.ack_of("env-t4b")["payload"]["response_type"] == "in_channel");
        CHECK(h.ack_of("env-t4b")["payload"]["text"].get<std::string>().find(
                  "Impact on customers of INC-1 recorded") != std::string::npos);
        REQUIRE(co_await h.idle());
        const Incident inc = *h.service.find(1);
        CHECK(inc.state == State::resolved);
        CHECK(inc.postmortem_owner == "<@U3|carol>");
        CHECK(render_postmortem(h.service.snapshot(1))
                  .find("- **Customers:** checkout failed for 30% of users\n") !=
              std::string::npos);
        const std::string md = render_postmortem(h.service.snapshot(1));
        CHECK(md.find("| Final severity | SEV2 (major) |") != std::string::npos);
        CHECK(md.find("**@bob** 📌: db is slow") != std::string::npos);
        CHECK(md.find("| 1 | @bob add an index | @bob | 2026-12-01 | open | todo_line |") !=
              std::string::npos);
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE("slack socket mode: refresh_requested and an abrupt close lose no event") {
    SlackHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(
            co_await wait_until([&] { return h.adapter->socket_connected(); }, milliseconds(5000)));
        const std::string channel = co_await h.declare();

        h.fake->request_refresh();
        REQUIRE(co_await wait_until(
            [&] { return h.fake->connections == 2 && h.adapter->socket_connected(); },
            milliseconds(5000)));

        // A burst, and the connection dropped in the middle of it: whatever was not acked is
        // redelivered on the next connection and stored exactly once.
        for (int i = 0; i < 30; ++i) {
            const std::string ts = "18000001" + std::to_string(10 + i) + ".000100";
            h.fake->deliver(
                events_envelope("Burst" + std::to_string(i),
                                message_event(channel, "U2", ts, "line " + std::to_string(i))));
            if (i == 12) h.fake->drop();
        }
        REQUIRE(
            co_await wait_until([&] { return h.fake->connections >= 3 && h.fake->unacked() == 0; },
                                milliseconds(8000)));
        CHECK(h.messages(1) == 30);
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE("slack socket mode: malformed and unknown frames change nothing") {
    SlackHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(
            co_await wait_until([&] { return h.adapter->socket_connected(); }, milliseconds(5000)));
        const std::string channel = co_await h.declare();
        const auto entries = h.service.timeline(1).size();
        h.fake->send_raw("this is not json");
        h.fake->send_raw("[1,2,3]");
        h.fake->send_raw(R"({"type":"mystery","envelope_id":"env-mystery","payload":{}})");
        h.fake->deliver({{"envelope_id", "env-bad-event"},
                         {"type", "events_api"},
                         {"payload", {{"type", "event_callback"}}}});
        h.fake->deliver(events_envelope(
            "EvBadUtf",
            message_event(channel, "U2", "1800000300.000100", std::string(1024 * 1024 + 1, 'x'))));
        REQUIRE(co_await h.acked("env-EvBadUtf"));
        CHECK(h.adapter->socket_connected());
        CHECK(h.ack_of("env-mystery").is_object());
        // Over the bound against abuse (1 MiB, far above Slack's 40,000 characters): refused.
        CHECK(h.service.timeline(1).size() == entries);
        h.fake->deliver(events_envelope(
            "EvOk", message_event(channel, "U2", "1800000301.000100", "still here")));
        REQUIRE(co_await h.acked("env-EvOk"));
        CHECK(h.messages(1) == 1);
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE(
    "slack socket mode: a poison envelope (a lone UTF-16 surrogate) is acked once, stored with "
    "U+FFFD, and the next envelope goes through") {
    LogCapture log;
    SlackHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(
            co_await wait_until([&] { return h.adapter->socket_connected(); }, milliseconds(5000)));
        const std::string channel = co_await h.declare();

        // What Slack relays when a client sent half a surrogate pair: nlohmann rejects it.
        std::string poison =
            events_envelope("EvPoison", message_event(channel, "U2", "1800000400.000100",
                                                      "before SURROGATE after"))
                .dump();
        poison.replace(poison.find("SURROGATE"), 9, "\\ud800");
        REQUIRE_FALSE(json::accept(poison));
        h.fake->deliver("env-EvPoison", poison);
        // Beyond repair (cut short), but it names its envelope.
        h.fake->deliver("env-cut",
                        R"({"envelope_id":"env-cut","type":"events_api","payload":{"type":)");
        h.fake->deliver(events_envelope(
            "EvAfter", message_event(channel, "U2", "1800000401.000100", "next one")));
        REQUIRE(co_await h.acked("env-EvAfter"));
        CHECK(co_await h.acked("env-EvPoison"));
        CHECK(co_await h.acked("env-cut"));
        CHECK(h.fake->unacked() == 0);
        std::map<std::string, int> acks;
        for (const auto& a : h.fake->acks) {
            if (a.is_object()) ++acks[a.value("envelope_id", "")];
        }
        CHECK(acks["env-EvPoison"] == 1);
        CHECK(acks["env-cut"] == 1);
        CHECK(h.adapter->socket_connected());
        CHECK(h.fake->connections == 1);

        std::vector<std::string> texts;
        for (const auto& e : h.service.timeline(1)) {
            if (e.kind == EntryKind::message) texts.push_back(e.text);
        }
        REQUIRE(texts.size() == 2);
        CHECK(texts[0] == "before \xEF\xBF\xBD after");
        CHECK(texts[1] == "next one");
        int logged = 0;
        for (const auto& line : log.lines())
            logged += line.find("env-EvPoison") != std::string::npos;
        CHECK(logged == 1);
        CHECK(log.contains("env-cut"));
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE("slack web api: 429 is waited out, the message is delayed and not dropped") {
    SlackHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(
            co_await wait_until([&] { return h.adapter->socket_connected(); }, milliseconds(5000)));
        const std::string channel = co_await h.declare();
        h.fake->rate_limit["chat.postMessage"] = 2;
        const auto started = std::chrono::steady_clock::now();
        h.fake->deliver(slash_envelope("t-up1", channel, "U1", "alice", "update first"));
        h.fake->deliver(slash_envelope("t-up2", channel, "U1", "alice", "update second"));
        REQUIRE(co_await h.acked("env-t-up2"));
        REQUIRE(co_await wait_until([&] { return h.adapter->pending_effects() == 0; },
                                    milliseconds(10'000)));
        const auto took = std::chrono::steady_clock::now() - started;
        CHECK(took >= milliseconds(1900));  // two Retry-After: 1 waits (timer slack allowed)
        std::vector<std::string> order;
        for (const auto& c : h.fake->calls_of("chat.postMessage")) {
            const std::string text = c.args["text"];
            if (text.find("update from @alice") != std::string::npos)
                order.push_back(text.substr(text.find(": ", text.find("update from")) + 2, 5));
        }
        // Each update was attempted until accepted, and they arrived in order.
        REQUIRE(order.size() >= 2);
        CHECK(order.back() == "secon");
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE("slack: subscribers get a direct message, others do not") {
    SlackHarness h;
    h.fake->user_names["U4"] = "dave";
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(
            co_await wait_until([&] { return h.adapter->socket_connected(); }, milliseconds(5000)));
        // Runs one slash command and returns the text of its answer (in the ack).
        int n = 0;
        const auto command = [&](const std::string& channel, const std::string& user,
                                 const std::string& name,
                                 const std::string& text) -> asio::awaitable<std::string> {
            const std::string trigger = "t-sub-" + std::to_string(++n);
            h.fake->deliver(slash_envelope(trigger, channel, user, name, text));
            REQUIRE(co_await h.acked("env-" + trigger));
            REQUIRE(co_await h.idle());
            co_return h.ack_of("env-" + trigger)["payload"].value("text", std::string());
        };

        // carol: every SEV2 or worse; dave: SEV1 only, so not this SEV2 incident.
        std::string answer = co_await command("CGENERAL", "U3", "carol", "subscribe sev2");
        CHECK(answer.find(
                  "Subscribed: you will get a direct message about every incident SEV2 or worse") !=
              std::string::npos);
        answer = co_await command("CGENERAL", "U4", "dave", "subscribe sev1");
        CHECK(answer.find("Subscribed") != std::string::npos);
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        // bob: this incident, from its channel.
        answer = co_await command(channel, "U2", "bob", "subscribe");
        CHECK(answer.find("Subscribed: you will get a direct message about INC-1.") !=
              std::string::npos);

        co_await command(channel, "U1", "alice", "status identified");
        co_await command(channel, "U1", "alice", "update rolling back the deploy");
        answer = co_await command("CGENERAL", "U3", "carol", "unsubscribe sev2");
        CHECK(answer.find("Unsubscribed from every incident SEV2 or worse.") != std::string::npos);
        co_await command(channel, "U1", "alice", "resolve sev2 Rolled back");
        REQUIRE(h.service.find(1)->state == State::resolved);

        // Each DM goes to the IM that conversations.open returned for that user, never to a
        // user ID; the IM is opened once per user.
        const auto opened = h.fake->calls_of("conversations.open");
        REQUIRE(opened.size() == 2);
        CHECK(opened[0].args == json{{"users", "U3"}});
        CHECK(opened[1].args == json{{"users", "U2"}});
        REQUIRE(h.fake->ims.count("U2") == 1);
        REQUIRE(h.fake->ims.count("U3") == 1);
        const auto texts = [&](const std::string& user) {
            std::vector<std::string> out;
            for (const auto& m : h.fake->posted_in(h.fake->ims.at(user)))
                out.push_back(m.value("text", ""));
            return out;
        };
        const std::string head = "*INC-1* (SEV2) Checkout down: ";
        const std::string link = " — https://bot.example.com/incidents/INC-1";
        const std::string declared = head + "declared by @alice" + link;
        const std::string identified = head + "is now *identified* (@alice)" + link;
        const std::string update = head + "update from @alice: rolling back the deploy" + link;
        const std::string resolved = head + "resolved by @alice: Rolled back" + link;
        CHECK(texts("U3") == std::vector<std::string>{declared, identified, update});
        CHECK(texts("U2") == std::vector<std::string>{identified, update, resolved});

        // alice (never subscribed) and dave (SEV1 only) got nothing; nothing went to a user ID.
        CHECK(h.fake->ims.count("U1") == 0);
        CHECK(h.fake->ims.count("U4") == 0);
        for (const auto& c : h.fake->calls_of("chat.postMessage")) {
            CHECK_FALSE(c.args.value("channel", "").starts_with("U"));
        }
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE("slack: an owner named as plain @name is found by name and gets the direct message") {
    SlackHarness h;
    // More people than one page of the lookup holds, so that it follows the cursor.
    for (int i = 10; i < 260; ++i)
        h.fake->user_names["U" + std::to_string(i)] = "user" + std::to_string(i);
    h.fake->user_names["UZDAVE"] = "dave";
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(
            co_await wait_until([&] { return h.adapter->socket_connected(); }, milliseconds(5000)));
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        // Not escaped by Slack (the dashboard's owner field, or a command with escaping off).
        h.fake->deliver(
            slash_envelope("t-owner", channel, "U1", "alice", "todo page the vendor @Dave"));
        REQUIRE(co_await h.acked("env-t-owner"));
        REQUIRE(co_await h.idle());
        CHECK(h.fake->calls_of("users.list").size() == 2);
        const auto opened = h.fake->calls_of("conversations.open");
        REQUIRE(opened.size() == 1);
        CHECK(opened[0].args == json{{"users", "UZDAVE"}});
        REQUIRE(h.fake->ims.count("UZDAVE") == 1);
        const auto posted = h.fake->posted_in(h.fake->ims.at("UZDAVE"));
        REQUIRE(posted.size() == 1);
        CHECK(posted[0]
                  .value("text", "")
                  .find("@alice made you the owner of action item 1 of INC-1") !=
              std::string::npos);
        CHECK(h.outbox.counts().failed_total() == 0);

        // Nobody by that name: the delivery fails for good, saying so, and nothing is posted.
        h.fake->deliver(
            slash_envelope("t-nobody", channel, "U1", "alice", "todo call the vendor @nobody"));
        REQUIRE(co_await h.acked("env-t-nobody"));
        REQUIRE(co_await h.idle());
        CHECK(h.fake->calls_of("conversations.open").size() == 1);
        const auto failed = h.outbox.failed();
        REQUIRE(failed.size() == 1);
        CHECK(failed[0].error.find("there is no Slack user @nobody") != std::string::npos);
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE("slack socket mode over TLS with a test CA") {
    SlackHarness h(SlackHarnessOptions::over_tls());
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(
            co_await wait_until([&] { return h.adapter->socket_connected(); }, milliseconds(8000)));
        const std::string channel = co_await h.declare();
        CHECK(channel.starts_with("C"));
        h.fake->deliver(events_envelope(
            "EvTls", message_event(channel, "U2", "1800000001.000100", "over tls")));
        REQUIRE(co_await h.acked("env-EvTls"));
        CHECK(h.messages(1) == 1);
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE("slack socket mode: a wrong app token is reported and retried, not fatal") {
    SlackHarness h;
    h.fake->app_token = "xapp-something-else";
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await wait_until([&] { return h.fake->count("apps.connections.open") >= 2; },
                                    milliseconds(5000)));
        CHECK_FALSE(h.adapter->socket_connected());
        CHECK(h.adapter->health()["last_error"].get<std::string>().find("invalid_auth") !=
              std::string::npos);
        CHECK(h.adapter->health().dump().find("xapp-") == std::string::npos);
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE(
    "slack http: signed commands and events are accepted, tampered, stale and unsigned ones change "
    "nothing") {
    HttpHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        const std::string form = "application/x-www-form-urlencoded";
        const std::string declare =
            form_of(slash_payload("h1", "CGENERAL", "U1", "alice", "declare sev1 API down"));

        auto r = co_await h.post(
            "/slack/commands", declare + "x", form, std::nullopt,
            slack::sign_request(h.secret, std::to_string(h.clock.now() / 1000), declare));
        CHECK(r.status == 401);
        CHECK(r.body.find("signature mismatch") != std::string::npos);
        r = co_await h.post("/slack/commands", declare, form, h.clock.now() / 1000 - 600);
        CHECK(r.status == 401);
        CHECK(r.body.find("5 minutes") != std::string::npos);
        r = co_await h.post("/slack/commands", declare, form, std::nullopt, std::string());
        CHECK(r.status == 401);
        CHECK(h.service.list(true).empty());

        r = co_await h.post("/slack/commands", declare, form);
        CHECK(r.status == 200);
        const json reply = json::parse(r.body);
        CHECK(reply["response_type"] == "in_channel");
        CHECK(reply["text"].get<std::string>().find("INC-1 declared (SEV1") != std::string::npos);
        REQUIRE(co_await h.idle());
        const std::string channel = h.service.find(1)->channel_id;
        REQUIRE_FALSE(channel.empty());

        // url_verification, events with a retried delivery, malformed JSON.
        r = co_await h.post("/slack/events",
                            R"({"token":"x","challenge":"abc123","type":"url_verification"})",
                            "application/json");
        CHECK(r.status == 200);
        CHECK(json::parse(r.body)["challenge"] == "abc123");
        const std::string event =
            events_envelope(
                "EvH1", message_event(channel, "U2", "1800000001.000100", "via http"))["payload"]
                .dump();
        r = co_await h.post("/slack/events", event, "application/json");
        CHECK(r.status == 200);
        r = co_await h.post("/slack/events", event, "application/json");  // X-Slack-Retry-Num: 1
        CHECK(r.status == 200);
        CHECK(h.messages(1) == 1);
        r = co_await h.post("/slack/events", "{not json", "application/json");
        CHECK(r.status == 400);
        r = co_await h.post("/slack/events", std::string(100 * 1024, 'a'), "application/json");
        CHECK(r.status == 413);
        r = co_await h.post("/slack/commands", "text=%ZZ", form);
        CHECK(r.status == 400);

        // A button press runs its command as the person who pressed it.
        const json action{{"type", "block_actions"},
                          {"user", {{"id", "U3"}, {"username", "carol"}}},
                          {"channel", {{"id", channel}, {"name", "inc-1"}}},
                          {"actions", json::array({{{"action_id", "incident:role INC-1 scribe"},
                                                    {"value", "role INC-1 scribe"},
                                                    {"action_ts", "1800000009.1"}}})}};
        const net::FormFields press{{"payload", action.dump()}};
        r = co_await h.post("/slack/interactive", net::encode_form(press), form);
        CHECK(r.status == 200);
        REQUIRE(co_await h.idle());
        bool scribe = false;
        for (const auto& role : h.service.roles(1))
            scribe |= role.role == Role::scribe && role.person.name == "carol";
        CHECK(scribe);
        h.adapter->stop();
        h.server.stop();
    });
    CHECK(finished);
}

TEST_CASE("slack: /incident login answers only the caller with a one-time sign-in link") {
    SlackHarness h;
    web::SignIn sign_in(h.store, "slack test key", 3'600'000, "https://bot.example.com/");
    h.service.use_sign_in([&](const std::string& platform, const Actor& person, Timestamp at) {
        return sign_in.link(platform, person, at);
    });
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(
            co_await wait_until([&] { return h.adapter->socket_connected(); }, milliseconds(5000)));
        h.fake->deliver(slash_envelope("t-login", "CGENERAL", "U1", "alice", "login"));
        REQUIRE(co_await h.acked("env-t-login"));
        const json payload = h.ack_of("env-t-login")["payload"];
        CHECK(payload["response_type"] == "ephemeral");
        const std::string text = payload["text"].get<std::string>();
        const std::string base = "https://bot.example.com/login/";
        const auto at = text.find(base);
        REQUIRE(at != std::string::npos);
        const std::string token =
            text.substr(at + base.size(), text.find_first_of(" \n", at) - at - base.size());
        // The link names the Slack identity that asked, and works once.
        const auto redeemed = sign_in.redeem(token, h.clock.now());
        CHECK(redeemed.status == web::SignIn::Status::ok);
        CHECK(redeemed.person.platform == "slack");
        CHECK(redeemed.person.actor.id == "U1");
        CHECK(sign_in.redeem(token, h.clock.now()).status == web::SignIn::Status::used);
        // Nothing was posted where others could see it.
        REQUIRE(co_await h.idle());
        for (const auto& c : h.fake->calls_of("chat.postMessage")) {
            CHECK(c.args.dump().find("/login/") == std::string::npos);
        }
        CHECK(h.fake->calls_of("chat.postEphemeral").empty());
    });
    CHECK(finished);
}

#include <doctest/doctest.h>

#include <map>

#include "adapters/web/sign_in.hpp"
#include "bot/postmortem.hpp"
#include "harness.hpp"

using namespace incident;
using namespace incident::testing;
using net::testing::run_async;
using net::testing::wait_until;
using nlohmann::json;
namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

std::map<std::string, TimelineEntry> messages_by_id(IncidentService& service) {
    std::map<std::string, TimelineEntry> out;
    for (const auto& e : service.timeline(1)) {
        if (e.kind == EntryKind::message) out[e.message_id] = e;
    }
    return out;
}

bool posted_in(const FakeMattermost& fake, const std::string& channel, const std::string& text) {
    for (const auto& c : fake.calls_of("POST", "posts")) {
        if (c.body.value("channel_id", "") == channel &&
            c.body.value("message", "").find(text) != std::string::npos) {
            return true;
        }
    }
    return false;
}

// The only direct channel the bot opened is with `user`, and `text` was posted in it.
bool only_dm_to(const FakeMattermost& fake, const std::string& user, const std::string& text) {
    const auto direct = fake.calls_of("POST", "channels/direct");
    if (direct.size() != 1 || direct[0].body != json::array({fake.bot_user_id, user})) {
        return false;
    }
    std::string dm;
    for (const auto& [id, c] : fake.channels) {
        if (c.type == "D") dm = id;
    }
    return posted_in(fake, dm, text);
}

std::string id_of(const json& post) {
    return post.at("id").get<std::string>();
}

}  // namespace

TEST_CASE(
    "mattermost start-up: signs in, finds the team, registers /incident, authenticates the "
    "socket") {
    MattermostHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        CHECK(h.fake->count("GET", "users/me") == 1);
        CHECK(h.fake->count("GET", "teams/name/ops") == 1);
        const auto listed = h.fake->calls_of("GET", "commands");
        REQUIRE(listed.size() == 1);
        CHECK(listed[0].path == "commands?team_id=" + h.fake->team_id + "&custom_only=true");
        CHECK(listed[0].authorization == "Bearer " + h.fake->token);
        const auto created = h.fake->calls_of("POST", "commands");
        REQUIRE(created.size() == 1);
        CHECK(created[0].body["trigger"] == "incident");
        CHECK(created[0].body["method"] == "P");
        CHECK(created[0].body["team_id"] == h.fake->team_id);
        CHECK(created[0].body["url"] == h.bot_url() + "/mattermost/command");
        CHECK(h.adapter->health()["command"] == "registered");
        CHECK(h.adapter->health()["command_token"] == "set");  // adopted from the new command

        // The first frame is the challenge, with the token, seq 1; the first URL has no query.
        REQUIRE(!h.fake->received.empty());
        CHECK(
            h.fake->received[0] ==
            json::parse(
                R"({"seq":1,"action":"authentication_challenge","data":{"token":"mmbottoken00000000000000000"}})"));
        CHECK(h.fake->socket_targets.at(0) == "/api/v4/websocket");
        CHECK(h.fake->hellos == 1);
        CHECK(co_await wait_until([&] { return h.adapter->next_sequence() == 1; },
                                  milliseconds(2000)));
        const json health = h.adapter->health();
        CHECK(health["connected"] == true);
        CHECK(health["team_id"] == h.fake->team_id);
        CHECK(health.dump().find(h.fake->token) == std::string::npos);
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE(
    "mattermost start-up: an existing /incident command is reused, a foreign one is reported") {
    SUBCASE("ours already exists: no second command, its token is adopted") {
        MattermostHarness h;
        h.fake->commands.push_back(json{{"id", "cmd1"},
                                        {"trigger", "incident"},
                                        {"url", h.bot_url() + "/mattermost/command"},
                                        {"token", "existingtoken0000000000000"},
                                        {"creator_id", h.fake->bot_user_id}});
        h.adapter->start();
        const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
            REQUIRE(co_await h.ready());
            CHECK(h.fake->count("POST", "commands") == 0);
            CHECK(h.adapter->health()["command"] == "registered (it already existed)");
            const std::string body = h.fake->command_body(h.fake->town_square_id, h.alice(), "help",
                                                          "existingtoken0000000000000");
            const auto r = co_await h.post_command(body, "application/x-www-form-urlencoded");
            CHECK(r.status == 200);
            h.adapter->stop();
        });
        CHECK(finished);
    }
    SUBCASE("the bot may not manage commands: said exactly why, the socket still works") {
        LogCapture log;
        MattermostHarness h(with_command_token("configured-token"));
        h.fake->commands_forbidden = true;
        h.adapter->start();
        const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
            REQUIRE(co_await wait_until([&] { return h.adapter->socket_connected(); },
                                        milliseconds(5000)));
            const std::string status = h.adapter->health()["command"];
            CHECK(status.find("not registered") == 0);
            CHECK(status.find("HTTP 403") != std::string::npos);
            CHECK(status.find("manage_slash_commands") != std::string::npos);
            CHECK(log.contains("/incident command not registered"));
            h.adapter->stop();
        });
        CHECK(finished);
    }
}

TEST_CASE(
    "mattermost: declare through post-mortem, with chatter, edit, delete, pushpin and TODO "
    "capture") {
    MattermostHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const json reply = co_await h.fake->run_command(h.fake->town_square_id, h.alice(),
                                                        "declare sev2 Checkout down");
        CHECK(reply["response_type"] == "in_channel");
        CHECK(reply["text"].get<std::string>().find("INC-1 declared (SEV2") != std::string::npos);
        REQUIRE(co_await h.idle());
        const Incident declared = *h.service->find(1);
        const std::string channel = declared.channel_id;
        REQUIRE_FALSE(channel.empty());
        CHECK(declared.platform == "mattermost");

        // "inc-1-checkout-down" was taken: the next free name is used.
        const auto created = h.fake->calls_of("POST", "channels");
        REQUIRE(created.size() >= 2);
        CHECK(created[0].body["name"] == "inc-1-checkout-down");
        CHECK(created[0].body["type"] == "O");
        CHECK(created[0].body["display_name"] == "INC-1: Checkout down");
        CHECK(declared.channel_name == "inc-1-checkout-down-2");
        const auto& made = h.fake->channels.at(channel);
        CHECK(made.name == "inc-1-checkout-down-2");
        CHECK(made.members.count(h.alice()) == 1);
        CHECK(made.header.find("SEV2 · investigating · IC @alice") != std::string::npos);
        CHECK(posted_in(*h.fake, channel, "#### :rotating_light: INC-1: Checkout down"));
        // The announcement channel did not exist: looked up, created, announced in.
        CHECK(h.fake->count("GET", "teams/" + h.fake->team_id + "/channels/name/incidents") == 1);
        std::string announce;
        for (const auto& [id, c] : h.fake->channels) {
            if (c.name == "incidents") announce = id;
        }
        REQUIRE_FALSE(announce.empty());
        CHECK(posted_in(*h.fake, announce, "declared by @alice"));

        // Chatter, TODO, edit, delete, pushpin, a thread reply, a system post.
        const json slow = h.fake->post_message(channel, h.bob(), "db is slow");
        const json todo =
            h.fake->post_message(channel, h.carol(), "TODO: @bob add an index due:2026-12-01");
        const json typo = h.fake->post_message(channel, h.bob(), "rollback stated");
        h.fake->edit_post(id_of(typo), "rollback started");
        const json oops = h.fake->post_message(channel, h.bob(), "oops");
        h.fake->delete_post(id_of(oops));
        h.fake->react(true, id_of(slow), h.carol(), "pushpin");
        h.fake->post_message(channel, h.carol(), "looking at the slow query log", id_of(slow));
        json join{{"id", mm_id("sysjoin")},
                  {"channel_id", channel},
                  {"user_id", h.carol()},
                  {"message", "carol joined the channel."},
                  {"type", "system_join_channel"},
                  {"create_at", 1},
                  {"update_at", 1}};
        h.fake->publish("posted", json{{"post", join.dump()}}, json{{"channel_id", channel}});
        // Chatter elsewhere is none of our business.
        h.fake->post_message(h.fake->town_square_id, h.bob(), "lunch?");
        REQUIRE(co_await h.idle());

        auto by_id = messages_by_id(*h.service);
        CHECK(by_id.size() == 5);
        const std::string slow_id = id_of(slow);
        CHECK(by_id[slow_id].author.name == "bob");
        CHECK(by_id[slow_id].author.id == h.bob());
        CHECK(by_id[slow_id].key_event);
        CHECK(by_id[slow_id].at == slow["create_at"].get<std::int64_t>());
        CHECK(by_id[id_of(typo)].text == "rollback started");
        CHECK(by_id[id_of(typo)].previous_texts == std::vector<std::string>{"rollback stated"});
        CHECK(by_id[id_of(oops)].deleted_at);
        bool threaded = false;
        for (const auto& [id, e] : by_id) threaded |= e.thread_id == slow_id;
        CHECK(threaded);
        const auto items = h.service->actions(1);
        REQUIRE(items.size() == 1);
        CHECK(items[0].owner == "@bob");
        CHECK(items[0].due == "2026-12-01");
        CHECK(items[0].author.name == "carol");
        CHECK(h.fake->count("GET", "users/" + h.bob()) == 1);  // names are cached

        // Unpinning unmarks it.
        h.fake->react(false, id_of(slow), h.carol(), "pushpin");
        REQUIRE(co_await h.idle());
        CHECK_FALSE(messages_by_id(*h.service)[slow_id].key_event);
        h.fake->react(true, id_of(slow), h.carol(), "pushpin");
        REQUIRE(co_await h.idle());
        CHECK(messages_by_id(*h.service)[slow_id].key_event);

        // Resolve and post-mortem through slash commands in the incident channel.
        json r = co_await h.fake->run_command(channel, h.alice(), "status identified");
        CHECK(r["response_type"] == "in_channel");
        r = co_await h.fake->run_command(channel, h.alice(), "resolve sev2 Added the index");
        r = co_await h.fake->run_command(channel, h.alice(),
                                         "postmortem owner @carol due 2026-12-08");
        // A post-mortem section, written from chat: confirmed in the channel, not chatter.
        r = co_await h.fake->run_command(channel, h.carol(),
                                         "impact customers checkout failed for 30% of users");
        CHECK(r["response_type"] == "in_channel");
        CHECK(r["text"].get<std::string>().find("Impact on customers of INC-1 recorded") !=
              std::string::npos);
        r = co_await h.fake->run_command(channel, h.bob(), "status sleepy");
        CHECK(r["response_type"] == "ephemeral");  // errors: only the caller sees them
        CHECK(r["text"].get<std::string>().find("not a state") != std::string::npos);
        REQUIRE(co_await h.idle());
        const Incident inc = *h.service->find(1);
        CHECK(inc.state == State::resolved);
        CHECK(inc.postmortem_owner == "@carol");
        // The header follows the state: SetTopic became a channel patch.
        CHECK(h.fake->channels.at(channel).header.find("SEV2 · resolved") != std::string::npos);
        CHECK(h.fake->count("PUT", "channels/" + channel + "/patch") >= 2);
        // The bot's own posts and the in_channel replies were not captured as chatter.
        CHECK(h.messages(1) == 5);

        const std::string md = render_postmortem(h.service->snapshot(1));
        CHECK(md.find("| Final severity | SEV2 (major) |") != std::string::npos);
        CHECK(md.find("| Channel | #inc-1-checkout-down-2 |") != std::string::npos);
        CHECK(md.find("**@bob** 📌: db is slow") != std::string::npos);
        CHECK(md.find("**@carol** (in thread): looking at the slow query log") !=
              std::string::npos);
        CHECK(md.find("~~oops~~") != std::string::npos);
        CHECK(md.find("| 1 | @bob add an index | @bob | 2026-12-01 | open | todo_line |") !=
              std::string::npos);
        CHECK(md.find("- Post-mortem owner: @carol") != std::string::npos);
        CHECK(md.find("- **Customers:** checkout failed for 30% of users\n") != std::string::npos);
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE("mattermost: duplicate deliveries and repeated post ids change nothing") {
    MattermostHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        const json todo = h.fake->post_message(channel, h.carol(), "TODO: rotate the keys");
        REQUIRE(co_await h.idle());
        const auto entries = h.service->timeline(1).size();
        CHECK(h.service->actions(1).size() == 1);

        // The same frame again (same seq), and the same post as a new event (next seq).
        const std::string frame =
            h.fake->publish("posted", json{{"post", todo.dump()}, {"sender_name", "@carol"}},
                            json{{"channel_id", channel}});
        h.fake->resend(frame);
        h.fake->resend(frame);
        h.fake->react(true, id_of(todo), h.bob(), "memo");
        const std::string memo =
            h.fake->publish("reaction_added",
                            json{{"reaction", json{{"user_id", h.bob()},
                                                   {"post_id", id_of(todo)},
                                                   {"emoji_name", "memo"},
                                                   {"create_at", h.fake->clock}}
                                                  .dump()}},
                            json{{"channel_id", channel}});
        h.fake->resend(memo);
        REQUIRE(co_await h.idle());
        CHECK(h.service->timeline(1).size() == entries);
        CHECK(h.messages(1) == 1);
        // The memo reaction made one item from the message; its repeats made none.
        CHECK(h.service->actions(1).size() == 2);

        // A double-submitted declare (same trigger id) is answered, not redone.
        const std::string body =
            h.fake->command_body(h.fake->town_square_id, h.alice(), "declare sev3 Search is slow",
                                 h.fake->commands.at(0)["token"].get<std::string>());
        const auto first = co_await h.post_command(body, "application/x-www-form-urlencoded");
        const auto second = co_await h.post_command(body, "application/x-www-form-urlencoded");
        CHECK(first.status == 200);
        CHECK(second.body == first.body);
        REQUIRE(co_await h.idle());
        CHECK(h.service->list(true).size() == 2);
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE(
    "mattermost: a dropped socket is resumed and the missed events are replayed, each stored "
    "once") {
    LogCapture log;
    MattermostHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        h.fake->post_message(channel, h.bob(), "before the drop");
        REQUIRE(co_await h.idle());
        const std::int64_t expected_seq = h.adapter->next_sequence();

        // Dropped without a close frame; what happens meanwhile waits in the dead queue.
        h.fake->drop();
        REQUIRE(co_await wait_until([&] { return !h.fake->connected(); }, milliseconds(2000)));
        const json a = h.fake->post_message(channel, h.bob(), "while away 1");
        const json b = h.fake->post_message(channel, h.carol(), "while away 2");
        h.fake->edit_post(id_of(a), "while away 1 (edited)");
        h.fake->react(true, id_of(b), h.alice(), "pushpin");
        h.fake->post_message(channel, h.carol(), "TODO: @alice write the timeline");
        REQUIRE(co_await wait_until(
            [&] { return h.fake->connections == 2 && h.adapter->socket_connected(); },
            milliseconds(5000)));
        REQUIRE(co_await h.idle());

        const std::string target = h.fake->socket_targets.at(1);
        CHECK(target.find("connection_id=" + mm_id("conn", 1)) != std::string::npos);
        CHECK(target.find("sequence_number=" + std::to_string(expected_seq)) != std::string::npos);
        CHECK(h.fake->replays == 1);
        CHECK(h.fake->hellos == 1);  // resumed: no new hello
        CHECK(h.messages(1) == 4);
        auto by_id = messages_by_id(*h.service);
        CHECK(by_id[id_of(a)].text == "while away 1 (edited)");
        CHECK(by_id[id_of(b)].key_event);
        CHECK(h.service->actions(1).size() == 1);
        CHECK(log.contains("mattermost: reconnecting in"));
        CHECK(log.contains("resuming connection"));

        // A burst with the connection dropped in the middle: all stored exactly once.
        for (int i = 0; i < 30; ++i) {
            h.fake->post_message(channel, h.bob(), "burst " + std::to_string(i));
            if (i == 12) h.fake->drop();
        }
        REQUIRE(co_await wait_until(
            [&] { return h.fake->connections >= 3 && h.adapter->socket_connected(); },
            milliseconds(5000)));
        REQUIRE(co_await h.idle());
        CHECK(h.messages(1) == 34);
        CHECK(h.adapter->health()["reconnects"].get<int>() >= 2);
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE(
    "mattermost: when the server cannot replay (restart), the incident channels are re-read over "
    "REST") {
    MattermostHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        const json kept = h.fake->post_message(channel, h.bob(), "before the restart");
        REQUIRE(co_await h.idle());

        h.fake->forget_connections();
        h.fake->drop();
        REQUIRE(co_await wait_until([&] { return !h.fake->connected(); }, milliseconds(2000)));
        // Lost to the WebSocket: no connection knows them.
        const json lost = h.fake->post_message(channel, h.carol(), "said during the restart");
        h.fake->edit_post(id_of(kept), "before the restart (edited)");
        REQUIRE(co_await wait_until(
            [&] { return h.fake->hellos == 2 && h.adapter->socket_connected(); },
            milliseconds(5000)));
        REQUIRE(co_await wait_until([&] { return h.messages(1) == 2; }, milliseconds(5000)));
        REQUIRE(co_await h.idle());
        CHECK(h.fake->count("GET", "channels/" + channel + "/posts?since=") >= 1);
        auto by_id = messages_by_id(*h.service);
        CHECK(by_id[id_of(lost)].author.name == "carol");
        CHECK(by_id[id_of(kept)].text == "before the restart (edited)");
        // Seen again later on the socket: still once.
        h.fake->publish("posted", json{{"post", lost.dump()}}, json{{"channel_id", channel}});
        REQUIRE(co_await h.idle());
        CHECK(h.messages(1) == 2);
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE(
    "mattermost: a wrong command token gets 401 and a log line naming the problem, never the "
    "token") {
    LogCapture log;
    MattermostHarness h(with_command_token("right-command-token-000000"));
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const std::string form = "application/x-www-form-urlencoded";
        const std::string wrong =
            h.fake->command_body(h.fake->town_square_id, h.alice(), "declare sev1 API down",
                                 "wrong-command-token-111111");
        auto r = co_await h.post_command(wrong, form);
        CHECK(r.status == 401);
        CHECK(r.body.find("does not match MATTERMOST_COMMAND_TOKEN") != std::string::npos);
        r = co_await h.post_command(wrong, form, "Token wrong-command-token-111111");
        CHECK(r.status == 401);
        const std::string none =
            h.fake->command_body(h.fake->town_square_id, h.alice(), "declare sev1 API down", "");
        r = co_await h.post_command(none, form);
        CHECK(r.status == 401);
        CHECK(r.body.find("no token") != std::string::npos);
        r = co_await h.post_command("text=%ZZ", form);
        CHECK(r.status == 400);
        r = co_await h.post_command("{not json", "application/json");
        CHECK(r.status == 400);
        CHECK(h.service->list(true).empty());
        CHECK(log.contains("mattermost: rejected /mattermost/command from 127.0.0.1"));
        CHECK(log.contains("does not match MATTERMOST_COMMAND_TOKEN"));
        for (const auto& line : log.lines()) {
            CHECK(line.find("wrong-command-token") == std::string::npos);
            CHECK(line.find("right-command-token") == std::string::npos);
            CHECK(line.find(h.fake->token) == std::string::npos);
        }

        // The right token in the header only (an OAuth-less server sends both), and JSON.
        const std::string ok =
            h.fake->command_body(h.fake->town_square_id, h.alice(), "declare sev1 API down", "");
        r = co_await h.post_command(ok, form, "Token right-command-token-000000");
        CHECK(r.status == 200);
        CHECK(json::parse(r.body)["response_type"] == "in_channel");
        json as_json{{"channel_id", h.fake->town_square_id},
                     {"user_id", h.bob()},
                     {"user_name", "bob"},
                     {"text", "list"},
                     {"token", "right-command-token-000000"},
                     {"trigger_id", "tj1"}};
        r = co_await h.post_command(as_json.dump(), "application/json");
        CHECK(r.status == 200);
        CHECK(json::parse(r.body)["text"].get<std::string>().find("INC-1") != std::string::npos);
        CHECK(h.service->list(true).size() == 1);
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE("mattermost: a wrong bot token is reported in health and the log, retried, never fatal") {
    SUBCASE("REST refuses the token") {
        LogCapture log;
        MattermostHarness h;
        h.fake->token = "a-different-token-00000000";
        h.adapter->start();
        const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
            REQUIRE(co_await wait_until([&] { return h.fake->count("GET", "users/me") >= 3; },
                                        milliseconds(5000)));
            CHECK_FALSE(h.adapter->socket_connected());
            const json health = h.adapter->health();
            CHECK(health["ok"] == false);
            CHECK(health["last_error"].get<std::string>().find(
                      "MATTERMOST_TOKEN was rejected: HTTP 401") != std::string::npos);
            CHECK(health.dump().find("mmbottoken") == std::string::npos);
            CHECK(log.contains("MATTERMOST_TOKEN was rejected"));
            CHECK(log.contains("mattermost: reconnecting in"));
            CHECK(h.fake->connections == 0);
            // The HTTP endpoint still answers.
            const auto r = co_await h.post_command("token=x&user_id=u&channel_id=c",
                                                   "application/x-www-form-urlencoded");
            CHECK(r.status == 401);
            h.adapter->stop();
        });
        CHECK(finished);
    }
    SUBCASE("the WebSocket refuses the token") {
        LogCapture log;
        MattermostHarness h;
        h.fake->socket_token = "socket-wants-another-token";
        h.adapter->start();
        const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
            REQUIRE(
                co_await wait_until([&] { return h.fake->connections >= 2; }, milliseconds(5000)));
            CHECK_FALSE(h.adapter->socket_connected());
            const std::string error = h.adapter->health()["last_error"];
            CHECK(error.find("without accepting authentication_challenge") != std::string::npos);
            CHECK(error.find("MATTERMOST_TOKEN") != std::string::npos);
            CHECK(log.contains("without accepting authentication_challenge"));
            h.adapter->stop();
        });
        CHECK(finished);
    }
}

TEST_CASE("mattermost: malformed frames and a posted with broken inner JSON change nothing") {
    LogCapture log;
    MattermostHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        const auto entries = h.service->timeline(1).size();
        h.fake->send_raw("this is not json");
        h.fake->send_raw("[1,2,3]");
        h.fake->send_raw(R"({"status":"OK","seq_reply":99})");
        h.fake->send_raw(R"({"event":"posted","seq":"x"})");
        const json broadcast{{"channel_id", channel}};
        h.fake->publish("posted", json{{"post", "{\"id\":\"x\",\"message\":"}}, broadcast);
        h.fake->publish("posted", json{{"post", 42}}, broadcast);
        h.fake->publish("posted", json::object(), broadcast);
        h.fake->publish("reaction_added", json{{"reaction", "nope"}}, broadcast);
        h.fake->publish("post_edited", json{{"post", "[]"}}, broadcast);
        h.fake->publish("typing", json{{"parent_id", ""}}, broadcast);
        // Over the bound against abuse, far above Mattermost's 16,383 runes: refused.
        const std::string huge(1024 * 1024 + 1, 'x');
        h.fake->post_message(channel, h.bob(), huge);
        REQUIRE(co_await h.idle());
        CHECK(h.adapter->socket_connected());
        CHECK(h.fake->connections == 1);
        CHECK(h.service->timeline(1).size() == entries);
        CHECK(log.contains("ignoring a websocket frame: malformed JSON"));
        CHECK(log.contains(
            "ignoring malformed event: posted: data.post does not hold a JSON object"));
        h.fake->post_message(channel, h.bob(), "still here");
        REQUIRE(co_await h.idle());
        CHECK(h.messages(1) == 1);
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE("mattermost rest: 429 is waited out, posts are delayed in order and never dropped") {
    MattermostHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        h.fake->rate_limit["POST posts"] = 2;
        auto started = std::chrono::steady_clock::now();
        co_await h.fake->run_command(channel, h.alice(), "update first");
        co_await h.fake->run_command(channel, h.alice(), "update second");
        REQUIRE(co_await h.idle());
        CHECK(std::chrono::steady_clock::now() - started >= std::chrono::seconds(2));
        std::vector<std::string> order;
        for (const auto& [id, post] : h.fake->posts) {
            (void)id;
            const std::string text = post.value("message", "");
            if (post.value("user_id", "") != h.fake->bot_user_id) continue;
            if (text.find("update from @alice: first") != std::string::npos)
                order.push_back("first");
            if (text.find("update from @alice: second") != std::string::npos)
                order.push_back("second");
        }
        // Both were posted, once each, first before second (post ids grow with time).
        CHECK(order == std::vector<std::string>{"first", "second"});

        // Only X-RateLimit-Reset (seconds until the reset, as the server sends it).
        h.fake->rate_limit_with_reset_header = true;
        h.fake->rate_limit["POST posts"] = 1;
        started = std::chrono::steady_clock::now();
        co_await h.fake->run_command(channel, h.alice(), "update third");
        REQUIRE(co_await h.idle());
        CHECK(std::chrono::steady_clock::now() - started >= std::chrono::seconds(1));
        bool third = false;
        for (const auto& c : h.fake->calls_of("POST", "posts")) {
            third |=
                c.body.value("message", "").find("update from @alice: third") != std::string::npos;
        }
        CHECK(third);
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE("mattermost over TLS: https REST and a wss WebSocket with a test CA") {
    MattermostHarness h(with_tls());
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        CHECK(h.fake->url().starts_with("https://"));
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        h.fake->post_message(channel, h.bob(), "over tls");
        REQUIRE(co_await h.idle());
        CHECK(h.messages(1) == 1);
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE("mattermost: subscribers get a direct message") {
    MattermostHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const json sub =
            co_await h.fake->run_command(h.fake->town_square_id, h.carol(), "subscribe all");
        CHECK(sub["text"].get<std::string>().find("ubscribed") != std::string::npos);
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        CHECK(only_dm_to(*h.fake, h.carol(), "INC-1"));
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE("mattermost: an owner typed as @name gets the direct message of the assignment") {
    MattermostHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        // A slash command carries the mention as typed: "@bob", not Bob's user id.
        const json todo =
            co_await h.fake->run_command(channel, h.alice(), "todo page the vendor @bob");
        CHECK(todo.dump().find("Action item 1") != std::string::npos);
        REQUIRE(co_await h.idle());
        const auto lookups = h.fake->calls_of("GET", "users/username/bob");
        CHECK(lookups.size() == 1);
        CHECK(only_dm_to(*h.fake, h.bob(), "@alice made you the owner of action item 1 of INC-1"));
        CHECK(h.outbox->counts().failed_total() == 0);
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE("mattermost: a hung server is noticed by ping/pong and the connection is resumed") {
    LogCapture log;
    MattermostHarnessOptions options;
    options.ping_interval = milliseconds(100);
    MattermostHarness h(options);
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        // The next connection is accepted, replays, and then the server stops responding.
        h.fake->hang_next_connection();
        h.fake->drop();
        h.fake->post_message(channel, h.bob(), "said to a hung server");
        REQUIRE(co_await wait_until(
            [&] { return h.fake->connections == 3 && h.adapter->socket_connected(); },
            milliseconds(5000)));
        REQUIRE(co_await h.idle());
        CHECK(log.contains("WebSocket connection lost: no frame or pong for "));
        CHECK(log.contains("(dead after 200 ms)"));
        CHECK(h.fake->hellos == 1);
        CHECK(h.messages(1) == 1);
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE("mattermost: after a bot restart, what was said meanwhile is read over REST") {
    MattermostHarness h;
    std::unique_ptr<mattermost::MattermostAdapter> first;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        const json before = h.fake->post_message(channel, h.bob(), "before the restart");
        REQUIRE(co_await h.idle());

        // The bot goes away; people keep talking.
        h.adapter->stop();
        first = std::move(h.adapter);
        REQUIRE(co_await wait_until([&] { return !h.fake->connected(); }, milliseconds(2000)));
        const json during =
            h.fake->post_message(channel, h.carol(), "TODO: @carol check the replicas");
        h.fake->edit_post(id_of(before), "before the restart (edited)");

        h.adapter = h.make_adapter();
        h.adapter->start();
        REQUIRE(
            co_await wait_until([&] { return h.adapter->socket_connected(); }, milliseconds(5000)));
        REQUIRE(co_await wait_until([&] { return h.messages(1) == 2; }, milliseconds(5000)));
        REQUIRE(co_await h.idle());
        CHECK(h.fake->count("POST", "commands") ==
              1);  // the command from the first start is reused
        auto by_id = messages_by_id(*h.service);
        CHECK(by_id[id_of(before)].text == "before the restart (edited)");
        CHECK(by_id[id_of(during)].author.name == "carol");
        CHECK(h.service->actions(1).size() == 1);
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE("mattermost: /incident login answers only the caller with a one-time sign-in link") {
    MattermostHarness h;
    web::SignIn sign_in(h.store, "mattermost test key", 3'600'000, "https://bot.example.com/");
    h.service->use_sign_in([&](const std::string& platform, const Actor& person, Timestamp at) {
        return sign_in.link(platform, person, at);
    });
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const json reply = co_await h.fake->run_command(h.fake->town_square_id, h.alice(), "login");
        CHECK(reply["response_type"] == "ephemeral");
        const std::string text = reply["text"].get<std::string>();
        const std::string base = "https://bot.example.com/login/";
        const auto at = text.find(base);
        REQUIRE(at != std::string::npos);
        const std::string token =
            text.substr(at + base.size(), text.find_first_of(" \n", at) - at - base.size());
        const auto redeemed = sign_in.redeem(token, h.clock->now());
        CHECK(redeemed.status == web::SignIn::Status::ok);
        CHECK(redeemed.person.platform == "mattermost");
        CHECK(redeemed.person.actor.id == h.alice());
        CHECK(redeemed.person.actor.name == "alice");
        CHECK(sign_in.redeem(token, h.clock->now()).status == web::SignIn::Status::used);
        REQUIRE(co_await h.idle());
        CHECK_FALSE(posted_in(*h.fake, h.fake->town_square_id, "/login/"));
    });
    CHECK(finished);
}

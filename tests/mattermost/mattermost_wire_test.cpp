#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "adapters/mattermost/decode.hpp"
#include "adapters/mattermost/mattermost_adapter.hpp"
#include "adapters/mattermost/rest_api.hpp"
#include "adapters/net/http_types.hpp"

using namespace incident;
using namespace incident::mattermost;
using nlohmann::json;

namespace {

std::string fixture(const std::string& name) {
    const std::filesystem::path path =
        std::filesystem::path(INCIDENT_BOT_PROTOCOL_DIR) / "mattermost" / "fixtures" / name;
    std::ifstream in(path, std::ios::binary);
    REQUIRE_MESSAGE(in, "missing fixture " << path.string());
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

Frame frame_of(const std::string& text) {
    std::string error;
    const auto f = parse_frame(text, error);
    REQUIRE_MESSAGE(f, error);
    return *f;
}

}  // namespace

TEST_CASE("mattermost frames: hello, responses and the auth challenge from the API docs") {
    const Frame hello = frame_of(fixture("ws_hello.api-docs.json"));
    CHECK(hello.kind == Frame::Kind::event);
    CHECK(hello.event == "hello");
    CHECK(hello.seq == 0);
    const Hello h = decode_hello(hello);
    CHECK(h.user_id == "ay5sq51sebfh58ktrce5ijtcwy");
    CHECK(h.server_version == "3.6.0.1451.1c38da627ebb4e3635677db6939e9195");
    CHECK(h.connection_id.empty());  // the docs' example predates connection ids

    const Frame ok = frame_of(fixture("ws_response_ok.api-docs.json"));
    CHECK(ok.kind == Frame::Kind::response);
    CHECK(ok.seq_reply == 1);
    CHECK(ok.status == "OK");
    const Frame fail = frame_of(fixture("ws_response_fail.api-docs.json"));
    CHECK(fail.status == "FAIL");
    CHECK(fail.seq_reply == 2);
    CHECK(fail.error == "some.error.id.here: Some error message here");

    // Our challenge has the documented shape, field for field.
    const json expected = json::parse(fixture("ws_auth_challenge.api-docs.json"));
    CHECK(json::parse(authentication_challenge(1, "mattermosttokengoeshere")) == expected);

    // The precomputed path writes spaces after the colons.
    const Frame spaced = frame_of(
        R"({"event": "typing", "data": {"parent_id": ""}, "broadcast": {"channel_id": "c"}, "seq": 7})");
    CHECK(spaced.event == "typing");
    CHECK(spaced.seq == 7);
}

TEST_CASE("mattermost frames: garbage is refused with a reason") {
    std::string error;
    CHECK_FALSE(parse_frame("not json", error));
    CHECK(error.starts_with("malformed JSON"));
    CHECK_FALSE(parse_frame("[1,2,3]", error));
    CHECK_FALSE(parse_frame(R"({"data":{}})", error));
    CHECK_FALSE(parse_frame(R"({"event":"posted","seq":"7"})", error));
    CHECK_FALSE(parse_frame(R"({"event":"","seq":1})", error));
    CHECK_FALSE(parse_frame(R"({"seq_reply":"x"})", error));
}

TEST_CASE("mattermost posted: the captured public-channel post decodes, post JSON inside JSON") {
    const Frame f = frame_of(fixture("ws_posted.gabrc52-capture.json"));
    CHECK(f.seq == 5);
    const DecodedEvent d = decode_event(f, DecodeContext{"botbotbotbotbotbotbotbotbo", "c1"});
    REQUIRE(d.event);
    const auto& m = std::get<MessagePosted>(*d.event);
    CHECK(m.header.platform == "mattermost");
    CHECK(m.header.event_id == "posted:5greg5b4w3rojmqc188znn8s7c");
    CHECK(m.header.channel_id == "1waumyyd6jyczrxntuiopybygy");
    CHECK(m.header.at == 1682311948645);
    CHECK(m.message_id == "5greg5b4w3rojmqc188znn8s7c");
    CHECK(m.thread_id.empty());
    CHECK(m.author.id == "cmr7sncacib4xfhd6yo3n4tf5e");
    CHECK(m.text == "message sent");
    CHECK_FALSE(m.from_bot);
    CHECK(d.sender_name == "rgabriel");

    // The same post redelivered (another seq, another connection) has the same event id.
    json again = json::parse(fixture("ws_posted.gabrc52-capture.json"));
    again["seq"] = 42;
    const DecodedEvent d2 = decode_event(frame_of(again.dump()), DecodeContext{"", "c2"});
    CHECK(header_of(*d2.event).event_id == m.header.event_id);

    // Posted by the bot's own user: flagged, so it is not chatter.
    const DecodedEvent own = decode_event(f, DecodeContext{"cmr7sncacib4xfhd6yo3n4tf5e", ""});
    CHECK(std::get<MessagePosted>(*own.event).from_bot);
}

TEST_CASE("mattermost posted: the captured DM decodes, and so do threads, system and bot posts") {
    const DecodedEvent dm =
        decode_event(frame_of(fixture("ws_posted_dm.stereotypez-mattermost.json")), {});
    REQUIRE(dm.event);
    CHECK(std::get<MessagePosted>(*dm.event).text ==
          "oh there once was a hero named ragnar the red");
    CHECK(std::get<MessagePosted>(*dm.event).header.channel_id == "3xqxgouhqjnm5k49qohjort7yc");

    const auto posted = [](json post) {
        json frame{{"event", "posted"},
                   {"data", {{"post", post.dump()}, {"sender_name", "@bob"}}},
                   {"broadcast", {{"channel_id", "chan"}}},
                   {"seq", 3}};
        return decode_event(frame_of(frame.dump()), DecodeContext{"thebot", "conn"});
    };
    json base{{"id", "p1"},      {"channel_id", "chan"}, {"user_id", "bob"}, {"message", "hi"},
              {"create_at", 10}, {"update_at", 10},      {"type", ""},       {"root_id", "p0"}};
    CHECK(std::get<MessagePosted>(*posted(base).event).thread_id == "p0");
    CHECK_FALSE(std::get<MessagePosted>(*posted(base).event).from_bot);

    json system = base;
    system["type"] = "system_join_channel";
    CHECK(std::get<MessagePosted>(*posted(system).event).from_bot);
    json bot = base;
    bot["props"] = {{"from_bot", "true"}};
    CHECK(std::get<MessagePosted>(*posted(bot).event).from_bot);
    json webhook = base;
    webhook["props"] = {{"from_webhook", "true"}};  // in_channel slash command replies
    CHECK(std::get<MessagePosted>(*posted(webhook).event).from_bot);
    json own = base;
    own["user_id"] = "thebot";
    CHECK(std::get<MessagePosted>(*posted(own).event).from_bot);

    // A broken inner post changes nothing: malformed, with a reason.
    json broken{{"event", "posted"}, {"data", {{"post", "{\"id\":\"p1\","}}}, {"seq", 4}};
    const DecodedEvent b = decode_event(frame_of(broken.dump()), {});
    CHECK_FALSE(b.event);
    CHECK(b.malformed.find("does not hold a JSON object") != std::string::npos);
    json number{{"event", "posted"}, {"data", {{"post", 42}}}, {"seq", 4}};
    CHECK_FALSE(decode_event(frame_of(number.dump()), {}).malformed.empty());
    json missing{{"event", "posted"}, {"data", json::object()}, {"seq", 4}};
    CHECK_FALSE(decode_event(frame_of(missing.dump()), {}).malformed.empty());
    json no_id{{"event", "posted"}, {"data", {{"post", R"({"message":"x"})"}}}, {"seq", 4}};
    CHECK_FALSE(decode_event(frame_of(no_id.dump()), {}).malformed.empty());

    json typing{{"event", "typing"}, {"data", json::object()}, {"seq", 5}};
    CHECK(decode_event(frame_of(typing.dump()), {}).ignored == "event typing");
}

TEST_CASE("mattermost edits and deletions: one id per change, stable across redelivery") {
    const auto event = [](const std::string& name, json post) {
        json frame{{"event", name},
                   {"data", {{"post", post.dump()}}},
                   {"broadcast", {{"channel_id", "chan"}}},
                   {"seq", 9}};
        return decode_event(frame_of(frame.dump()), DecodeContext{"thebot", "conn"});
    };
    json post{{"id", "p1"},      {"channel_id", "chan"}, {"user_id", "bob"}, {"message", "v2"},
              {"create_at", 10}, {"update_at", 20},      {"edit_at", 20}};
    const DecodedEvent e1 = event("post_edited", post);
    const auto& edit = std::get<MessageEdited>(*e1.event);
    CHECK(edit.message_id == "p1");
    CHECK(edit.text == "v2");
    CHECK(edit.header.at == 20);
    CHECK(header_of(*event("post_edited", post).event).event_id == edit.header.event_id);
    post["message"] = "v3";
    post["update_at"] = 30;
    post["edit_at"] = 30;
    CHECK(header_of(*event("post_edited", post).event).event_id != edit.header.event_id);

    post["delete_at"] = 40;
    const DecodedEvent d = event("post_deleted", post);
    const auto& del = std::get<MessageDeleted>(*d.event);
    CHECK(del.message_id == "p1");
    CHECK(del.header.at == 40);
    CHECK(del.header.event_id == "post_deleted:p1");

    post["props"] = {{"from_bot", "true"}};
    CHECK_FALSE(event("post_edited", post).event);  // edits of bot posts are not chatter
}

TEST_CASE("mattermost reactions: the captured reaction_added, and removals told apart") {
    const Frame f = frame_of(fixture("ws_reaction_added.gabrc52-capture.json"));
    const DecodedEvent d = decode_event(f, DecodeContext{"thebot", "conn1"});
    REQUIRE(d.event);
    const auto& r = std::get<ReactionChanged>(*d.event);
    CHECK(r.added);
    CHECK(r.reaction == "eyes");
    CHECK(r.message_id == "u4y918f9o3gotgzefgoc1zcj9h");
    CHECK(r.actor.id == "cmr7sncacib4xfhd6yo3n4tf5e");
    CHECK(r.header.channel_id == "1waumyyd6jyczrxntuiopybygy");  // from broadcast
    CHECK(r.header.at == 1682313115731);
    CHECK(decode_event(f, DecodeContext{"thebot", "conn2"}).event);
    CHECK(header_of(*decode_event(f, DecodeContext{"x", "conn2"}).event).event_id ==
          r.header.event_id);

    json removed = json::parse(fixture("ws_reaction_added.gabrc52-capture.json"));
    removed["event"] = "reaction_removed";
    json inner = json::parse(removed["data"]["reaction"].get<std::string>());
    inner["create_at"] = 0;
    removed["data"]["reaction"] = inner.dump();
    const DecodedEvent first = decode_event(frame_of(removed.dump()), DecodeContext{"", "conn1"});
    CHECK_FALSE(std::get<ReactionChanged>(*first.event).added);
    removed["seq"] = 20;
    const DecodedEvent second = decode_event(frame_of(removed.dump()), DecodeContext{"", "conn1"});
    CHECK(header_of(*first.event).event_id != header_of(*second.event).event_id);
    CHECK(header_of(*second.event).event_id ==
          header_of(*decode_event(frame_of(removed.dump()), DecodeContext{"", "conn1"}).event)
              .event_id);

    // By the bot itself: ignored. Without emoji: malformed.
    CHECK_FALSE(decode_event(f, DecodeContext{"cmr7sncacib4xfhd6yo3n4tf5e", ""}).event);
    json bad = json::parse(fixture("ws_reaction_added.gabrc52-capture.json"));
    bad["data"]["reaction"] = "{\"user_id\":\"u\",\"post_id\":\"p\"}";
    CHECK_FALSE(decode_event(frame_of(bad.dump()), {}).malformed.empty());
    bad["data"]["reaction"] = "not json";
    CHECK_FALSE(decode_event(frame_of(bad.dump()), {}).malformed.empty());
}

TEST_CASE("mattermost slash command: the documented form body, and the same as JSON") {
    const std::string body = fixture("slash_command_request_body.dev-docs.txt");
    std::string trimmed = body;
    while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == '\r'))
        trimmed.pop_back();
    CHECK(trimmed.size() == 567);  // the Content-Length shown in the docs
    std::string error;
    const auto fields = parse_command_body("application/x-www-form-urlencoded", trimmed, error);
    REQUIRE(fields);
    CHECK(fields->at("text") == "toronto week");
    CHECK(fields->at("command") == "/weather");
    CHECK(fields->at("response_url") ==
          "http://localhost:8066/hooks/commands/i11f6nnfgfyk8eg56x9omc6dpa");
    const auto request = decode_slash_command(*fields, 1234);
    REQUIRE(request);
    CHECK(request->platform == "mattermost");
    CHECK(request->channel_id == "fukxanjgjbnp7ng383at53k1sy");
    CHECK(request->channel_name == "town-square");
    CHECK(request->caller == Actor{"erj6qck3rfgtujs86w5r6rckzh", "alan"});
    CHECK(request->text == "toronto week");
    CHECK(request->request_id.starts_with("ZWZ5ZjRndzR4"));
    CHECK(request->at == 1234);

    CHECK(verify_command_token("qzgakf1nx3yt9dr4n8585ihbxy", *fields, "").ok);
    CHECK(verify_command_token("qzgakf1nx3yt9dr4n8585ihbxy", *fields,
                               "Token qzgakf1nx3yt9dr4n8585ihbxy")
              .ok);
    const TokenCheck wrong = verify_command_token("another-token-entirely-xyz", *fields,
                                                  "Token qzgakf1nx3yt9dr4n8585ihbxy");
    CHECK_FALSE(wrong.ok);
    CHECK(wrong.error.find("qzgakf") == std::string::npos);
    CHECK(wrong.error.find("another-token") == std::string::npos);
    CHECK_FALSE(verify_command_token("", *fields, "").ok);
    CommandFields no_token = *fields;
    no_token.erase("token");
    CHECK_FALSE(verify_command_token("qzgakf1nx3yt9dr4n8585ihbxy", no_token, "").ok);
    CHECK(verify_command_token("qzgakf1nx3yt9dr4n8585ihbxy", no_token,
                               "Token qzgakf1nx3yt9dr4n8585ihbxy")
              .ok);
    CHECK_FALSE(verify_command_token("qzgakf1nx3yt9dr4n8585ihbxy", no_token,
                                     "Bearer qzgakf1nx3yt9dr4n8585ihbxy")
                    .ok);

    json as_json = json::object();
    for (const auto& [k, v] : *fields) as_json[k] = v;
    const auto from_json =
        parse_command_body("application/json; charset=utf-8", as_json.dump(), error);
    REQUIRE(from_json);
    CHECK(*from_json == *fields);
    CHECK(parse_command_body("", as_json.dump(), error));  // sniffed

    CHECK_FALSE(parse_command_body("application/json", "[1]", error));
    CHECK_FALSE(parse_command_body("application/json", "{broken", error));
    CHECK_FALSE(parse_command_body("application/x-www-form-urlencoded", "text=%ZZ", error));
    CommandFields no_user = *fields;
    no_user.erase("user_id");
    CHECK_FALSE(decode_slash_command(no_user, 0));
}

TEST_CASE("mattermost tokens compare in constant time, whatever their lengths") {
    CHECK(tokens_equal("abc", "abc"));
    CHECK_FALSE(tokens_equal("abc", "abd"));
    CHECK_FALSE(tokens_equal("abc", "abcd"));
    CHECK_FALSE(tokens_equal("", "a"));
}

TEST_CASE("mattermost names, URLs and rate-limit headers") {
    CHECK(channel_name_of("#Incidents") == "incidents");
    CHECK(channel_name_of("~ops-alerts_") == "ops-alerts");
    CHECK(channel_name_of("???").empty());
    CHECK(truncate_runes("héllo", 2) == "hé");
    CHECK(truncate_runes("🚨🚨🚨", 2) == "🚨🚨");
    CHECK(truncate_runes("short", 64) == "short");

    CHECK(websocket_endpoint("https://chat.example.com/") ==
          "wss://chat.example.com/api/v4/websocket");
    CHECK(websocket_endpoint("http://127.0.0.1:8065") == "ws://127.0.0.1:8065/api/v4/websocket");
    CHECK(websocket_endpoint("https://example.com/mm") == "wss://example.com/mm/api/v4/websocket");
    CHECK(websocket_endpoint("ftp://x").empty());

    using std::chrono::milliseconds;
    net::HttpResponse r;
    r.status = 429;
    CHECK_FALSE(rate_limit_delay(r, 1'700'000'000));
    r.headers.set("X-RateLimit-Reset", "1");  // seconds until the reset, as the server sends
    CHECK(rate_limit_delay(r, 1'700'000'000) == milliseconds(1000));
    r.headers.set("X-RateLimit-Reset", "1700000003");  // an epoch, as the docs describe
    CHECK(rate_limit_delay(r, 1'700'000'000) == milliseconds(3000));
    r.headers.set("Retry-After", "2");  // wins
    CHECK(rate_limit_delay(r, 1'700'000'000) == milliseconds(2000));
    r.headers.set("Retry-After", "soon");
    r.headers.erase("X-RateLimit-Reset");
    CHECK_FALSE(rate_limit_delay(r, 1'700'000'000));
}

TEST_CASE("mattermost markdown: the domain's *bold* becomes **bold**, nothing else changes") {
    CHECK(markdown_from_mrkdwn("*INC-1* (SEV2) Checkout: declared") ==
          "**INC-1** (SEV2) Checkout: declared");
    CHECK(markdown_from_mrkdwn("INC-1 is now *identified*.") == "INC-1 is now **identified**.");
    CHECK(markdown_from_mrkdwn("already **bold** here") == "already **bold** here");
    CHECK(markdown_from_mrkdwn("2*3*4 and a * star") == "2*3*4 and a * star");
    CHECK(markdown_from_mrkdwn("*open\nclose*") == "*open\nclose*");
    CHECK(markdown_from_mrkdwn("* not bold *") == "* not bold *");
    CHECK(markdown_from_mrkdwn("") == "");
    CHECK(markdown_from_mrkdwn("*") == "*");
}

TEST_CASE("mattermost post_edited: the captured edit and the same post pinned, decoded") {
    const std::string captured = fixture("ws_post_edited.gabrc52-capture.json");
    const auto edited = decode_event(frame_of(captured), {});
    REQUIRE(edited.event);
    const auto* e = std::get_if<MessageEdited>(&*edited.event);
    REQUIRE(e);
    CHECK(e->message_id == "5greg5b4w3rojmqc188znn8s7c");
    CHECK(e->text == "message edited");
    REQUIRE(e->pinned);
    CHECK_FALSE(*e->pinned);

    // Pinned as the server does it (tests/protocol/README.md): is_pinned and update_at change.
    json frame = json::parse(captured);
    json post = json::parse(frame["data"]["post"].get<std::string>());
    post["is_pinned"] = true;
    post["update_at"] = 1682311960000;
    frame["data"]["post"] = post.dump();
    const auto pinned = decode_event(frame_of(frame.dump()), {});
    REQUIRE(pinned.event);
    const auto* p = std::get_if<MessageEdited>(&*pinned.event);
    REQUIRE(p);
    CHECK(p->text == "message edited");
    REQUIRE(p->pinned);
    CHECK(*p->pinned);
    // Another change of the post: another event id, so it is not taken for a redelivery.
    CHECK(p->header.event_id != e->header.event_id);

    // A server that does not send is_pinned says nothing about pins.
    post.erase("is_pinned");
    frame["data"]["post"] = post.dump();
    const auto silent = decode_event(frame_of(frame.dump()), {});
    REQUIRE(silent.event);
    CHECK_FALSE(std::get<MessageEdited>(*silent.event).pinned);
}

TEST_CASE("mattermost interactive messages: the documented button, request and dialog payloads") {
    // Our buttons use the documented fields of an action (plus type and style, which
    // PostAction has), and nothing else.
    const json docs = json::parse(fixture("post_buttons.docs.json"));
    const InteractionSigner signer("secret");
    const json ours = summary_props(signer, 7, "https://bot.example.com/mattermost/actions");
    REQUIRE(ours["attachments"].size() == 1);
    const json& doc_action = docs["attachments"][0]["actions"][0];
    for (const auto& action : ours["attachments"][0]["actions"]) {
        for (const auto& [key, value] : action.items()) {
            CHECK_MESSAGE((doc_action.contains(key) || key == "type" || key == "style"), key);
        }
        CHECK(action["integration"].size() == doc_action["integration"].size());
        CHECK(signer.verify_context(action["integration"]["context"])->incident == 7);
    }
    // Without a public URL nothing could receive a click: no buttons.
    CHECK(summary_props(signer, 7, "").empty());

    std::string error;
    const auto request = parse_action_request(fixture("action_request.docs.json"), error);
    REQUIRE_MESSAGE(request, error);
    CHECK(request->user_id == "rd49ehbqyjytddasoownkuqrxe");
    CHECK(request->post_id == "gqrnh3675jfxzftnjyjfe4udeh");
    CHECK(request->channel_id == "j6j53p28k6urx15fpcgsr20psq");
    CHECK(request->trigger_id.empty());  // the docs' example predates trigger ids
    CHECK(request->context == json{{"action", "do_something"}});
    CHECK_FALSE(signer.verify_context(request->context));
    CHECK_FALSE(parse_action_request("[1]", error));
    CHECK_FALSE(parse_action_request("{\"context\": {}}", error));
    CHECK(error == "no user_id");

    const auto submission = parse_dialog_submission(fixture("dialog_submission.docs.json"), error);
    REQUIRE_MESSAGE(submission, error);
    CHECK(submission->callback_id == "<callback ID provided by the integration>");
    CHECK(submission->state == "<state provided by the integration>");
    CHECK(submission->user_id == "<user ID of the user who submitted the dialog>");
    CHECK_FALSE(submission->cancelled);
    REQUIRE(submission->values.size() == 2);
    CHECK(submission->values[0] ==
          std::pair<std::string, std::string>{"some_element_name", "<value of that element>"});
    CHECK_FALSE(signer.verify_state(submission->state, submission->user_id));
    CHECK_FALSE(
        parse_dialog_submission("{\"type\": \"block_actions\", \"user_id\": \"u\"}", error));
    CHECK_FALSE(parse_dialog_submission(
        "{\"type\": \"dialog_submission\", \"user_id\": \"u\", \"submission\": {\"a\": [1]}}",
        error));

    // The answers that keep a dialog open.
    const json errors = json::parse(fixture("dialog_submission_errors.docs.json"));
    CHECK(errors["errors"].is_object());
    const json whole = json::parse(fixture("dialog_submission_error.docs.json"));
    CHECK(whole["error"].is_string());

    // A state is bound to its incident, form, nonce and user.
    const std::string state = signer.dialog_state(3, commands::FormId::severity, "abc123", "user1");
    const auto verified = signer.verify_state(state, "user1");
    REQUIRE(verified);
    CHECK(verified->incident == 3);
    CHECK(verified->form == commands::FormId::severity);
    CHECK(verified->nonce == "abc123");
    CHECK_FALSE(signer.verify_state(state, "user2"));
    CHECK_FALSE(InteractionSigner("other").verify_state(state, "user1"));
}

TEST_CASE("mattermost PostList: the documented page of posts, and the outbox marker found in it") {
    json list = json::parse(fixture("channel_posts.api-docs.json"));
    const std::string id = list["order"][0];
    const std::string author = list["posts"][id]["user_id"];
    const Timestamp created = list["posts"][id]["create_at"];
    // The captured post carries no marker.
    CHECK(marked_post(list, "42", author, 0).empty());

    list["posts"][id]["props"][std::string(k_outbox_marker_prop)] = "42";
    CHECK(marked_post(list, "42", author, created) == id);
    CHECK(marked_post(list, "42", "", created) == id);  // the bot's id not known yet
    CHECK(marked_post(list, "43", author, created).empty());
    CHECK(marked_post(list, "42", "someoneelse000000000000000", created).empty());
    // Made before the entry was written (less the clocks' margin): another entry's post.
    CHECK(marked_post(list, "42", author, created + 1).empty());
    list["posts"][id]["props"][std::string(k_outbox_marker_prop)] = 42;
    CHECK(marked_post(list, "42", author, 0).empty());
    CHECK(marked_post(json::array(), "42", author, 0).empty());
    CHECK(marked_post(json{{"posts", json::array()}}, "42", author, 0).empty());
}

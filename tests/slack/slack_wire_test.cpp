#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "adapters/net/form.hpp"
#include "adapters/slack/decode.hpp"
#include "adapters/slack/signing.hpp"
#include "adapters/slack/web_api.hpp"

using namespace incident;
using namespace incident::slack;
using nlohmann::json;

namespace {

const std::string k_body =
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
    "G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-"
    "collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F3977008"
    "85554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c4"
    "47fce8b6703c";
const std::string k_secret = "8f742231b10e8888abcd99yyyzzz85a5";
const std::string k_signature =
    "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

// Copied from shared/protocol into tests/protocol.
std::optional<std::string> fixture(const std::string& name) {
    const std::filesystem::path path =
        std::filesystem::path(INCIDENT_BOT_PROTOCOL_DIR) / "slack" / "fixtures" / name;
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

TEST_CASE("slack signing: the documented known-answer vector") {
    CHECK(k_body.size() == 362);
    CHECK(sign_request(k_secret, "1531420618", k_body) == k_signature);
    CHECK(verify_request(k_secret, "1531420618", k_signature, k_body, 1531420618).ok);
    CHECK(verify_request(k_secret, "1531420618", k_signature, k_body, 1531420618 + 299).ok);
    CHECK(
        verify_request(k_secret, "1531420618", k_signature, k_body + "------", 1531420618).error ==
        "signature mismatch");
    CHECK_FALSE(verify_request(k_secret, "1531420618", k_signature, k_body, 1531420618 + 301).ok);
    CHECK_FALSE(verify_request(k_secret, "1531420618", k_signature, k_body, 1531420618 - 301).ok);
    CHECK(verify_request(k_secret, "1531420618", "v1=abc", k_body, 1531420618).error ==
          "unknown signature version");
    CHECK_FALSE(verify_request("", "1531420618", k_signature, k_body, 1531420618).ok);
    CHECK_FALSE(verify_request(k_secret, "", k_signature, k_body, 1531420618).ok);
    CHECK_FALSE(verify_request(k_secret, "15x", k_signature, k_body, 1531420618).ok);
    const auto failure = verify_request(k_secret, "1531420618", "v0=00", k_body, 1531420618);
    CHECK(failure.error.find(k_secret) == std::string::npos);
    if (const auto vector = fixture("signing_known_answer.json")) {
        const json j = json::parse(*vector);
        CHECK(j.dump().find("a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503") !=
              std::string::npos);
    }
}

TEST_CASE("form decoding of slash command bodies") {
    const auto fields = net::parse_form(k_body);
    REQUIRE(fields);
    CHECK(net::form_value(*fields, "command") == "/webhook-collect");
    CHECK(net::form_value(*fields, "text") == "");
    CHECK(net::form_value(*fields, "response_url") ==
          "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN");
    CHECK(net::form_value(*net::parse_form("enterprise_name=Org+Name"), "enterprise_name") ==
          "Org Name");
    CHECK_FALSE(net::parse_form("a=%2"));
    CHECK_FALSE(net::parse_form("a=%GG"));
    CHECK(net::encode_form({{"payload", "{\"a\": 1}"}}) == "payload=%7B%22a%22%3A%201%7D");
}

TEST_CASE("slack decoding: socket mode fixtures") {
    std::string error;
    CHECK(parse_envelope(R"({"type":"hello","num_connections":2})", error)->type == "hello");
    CHECK_FALSE(
        parse_envelope("{\"type\": \"hello\", \"debug_info\": {\"started\" \"x\"}}", error));
    CHECK(error.starts_with("malformed JSON"));
    CHECK_FALSE(parse_envelope("[]", error));

    const auto message = fixture("sm_events_api_message_retry.node-slack-sdk.json");
    if (!message) {
        MESSAGE("shared/protocol fixtures not found; checked only the inline cases");
        return;
    }
    const auto envelope = parse_envelope(*message, error);
    REQUIRE(envelope);
    CHECK(envelope->type == "events_api");
    CHECK(envelope->retry_attempt == 2);
    CHECK(envelope->envelope_id == "cda4159a-72a5-4744-aba3-4d66eb52682b");
    const DecodedEvent decoded = decode_event_callback(envelope->payload);
    REQUIRE(decoded.event);
    const auto& posted = std::get<MessagePosted>(*decoded.event);
    CHECK(posted.header.event_id == "Ev111");
    CHECK(posted.header.channel_id == "C111");
    CHECK(posted.header.at == 1610241741000);
    CHECK(posted.message_id == "1610241741.000200");
    CHECK(posted.author.id == "U222");
    CHECK(posted.text == "<@U111>");

    const auto slash = parse_envelope(*fixture("sm_slash_commands.python-slack-sdk.json"), error);
    REQUIRE(slash);
    const auto request = decode_slash_command(slash->payload, 42);
    REQUIRE(request);
    CHECK(request->request_id == "111.222.xxx");
    CHECK(request->caller == Actor{"U111", "testxyz"});
    CHECK(request->channel_id == "C111");

    for (const char* name :
         {"sm_disconnect_refresh_requested.docs.json", "sm_disconnect_link_disabled.docs.json",
          "sm_disconnect_too_many_websockets.python-slack-sdk.json"}) {
        const auto d = parse_envelope(*fixture(name), error);
        REQUIRE(d);
        CHECK(d->type == "disconnect");
        CHECK_FALSE(d->reason.empty());
    }
    const auto reaction = json::parse(*fixture("http_reaction_added.events-api-docs.json"));
    const DecodedEvent r = decode_event_callback(reaction);
    REQUIRE(r.event);
    CHECK(std::get<ReactionChanged>(*r.event).reaction == "slightly_smiling_face");
    CHECK(std::get<ReactionChanged>(*r.event).message_id == "1464196127.000002");
}

TEST_CASE("slack acks: the documented shape, whatever the envelope id holds") {
    // docs.slack.dev socket mode: {"envelope_id": "<id>"} and, for a response, "payload".
    const std::string id = "dbdd0ef3-1543-4f94-bfb4-133d0e6c1545";
    CHECK(json::parse(ack_frame(id, nullptr)) == json{{"envelope_id", id}});
    const json answer{{"text", "Declared INC-1"}};
    CHECK(json::parse(ack_frame(id, answer)) == json{{"envelope_id", id}, {"payload", answer}});
    // An id Slack never sends, but which must still come out as valid JSON.
    const std::string odd = "a\"b\\c\u00e9";
    CHECK(json::parse(ack_frame(odd, nullptr)) == json{{"envelope_id", odd}});
}

TEST_CASE("slack decoding: what is not chatter is ignored, what is broken is malformed") {
    const auto wrap = [](json event) {
        return json{{"type", "event_callback"}, {"event_id", "Ev1"}, {"event", event}};
    };
    CHECK(decode_event_callback(wrap({{"type", "message"},
                                      {"subtype", "bot_message"},
                                      {"channel", "C1"},
                                      {"bot_id", "B1"},
                                      {"ts", "1.1"}}))
              .ignored == "bot message");
    CHECK(decode_event_callback(wrap({{"type", "message"},
                                      {"subtype", "channel_join"},
                                      {"channel", "C1"},
                                      {"user", "U1"},
                                      {"ts", "1.1"}}))
              .ignored.find("system message") == 0);
    CHECK(decode_event_callback(wrap({{"type", "app_home_opened"}})).ignored ==
          "event type app_home_opened");
    CHECK_FALSE(decode_event_callback(wrap({{"type", "message"}})).malformed.empty());
    CHECK_FALSE(decode_event_callback(json{{"type", "event_callback"}}).malformed.empty());
    CHECK_FALSE(decode_event_callback(json::array()).malformed.empty());
    const auto reply = decode_event_callback(wrap({{"type", "message"},
                                                   {"channel", "C1"},
                                                   {"user", "U1"},
                                                   {"ts", "2.5"},
                                                   {"thread_ts", "1.5"},
                                                   {"text", "in thread"}}));
    REQUIRE(reply.event);
    CHECK(std::get<MessagePosted>(*reply.event).thread_id == "1.5");
    CHECK(parse_ts("1610241741.000200") == 1610241741000);
    CHECK(parse_ts("12.5") == 12500);
    CHECK(parse_ts("abc") == 0);
}

TEST_CASE("slack decoding: the documented file_shared event names a file by its id only") {
    const auto text = fixture("sm_events_api_file_shared.docs.json");
    REQUIRE(text);
    std::string error;
    const auto envelope = parse_envelope(*text, error);
    REQUIRE(envelope);
    CHECK(envelope->type == "events_api");
    const DecodedEvent decoded = decode_event_callback(envelope->payload);
    REQUIRE(decoded.event);
    const auto& shared = std::get<FileShared>(*decoded.event);
    CHECK(shared.header.event_id == "Ev123ABC456");
    CHECK(shared.header.platform == "slack");
    CHECK(shared.header.channel_id == "D01315BHHSN");
    CHECK(shared.header.at == 1617804931000);
    CHECK(shared.file.id == "F2147483862");
    CHECK(shared.by.id == "U0Z7K8SRH");
    // Nothing else is known until files.info is asked.
    CHECK(shared.file.name.empty());
    CHECK(shared.file.url.empty());
    CHECK(shared.file.size == 0);

    // Only the stub `file.id`: the same file.
    json payload = envelope->payload;
    payload["event"].erase("file_id");
    const DecodedEvent stub = decode_event_callback(payload);
    REQUIRE(stub.event);
    CHECK(std::get<FileShared>(*stub.event).file.id == "F2147483862");
    // Without a channel, a file or a user it is malformed, never a file of nobody's.
    for (const char* field : {"channel_id", "user_id"}) {
        json broken = envelope->payload;
        broken["event"].erase(field);
        CHECK_FALSE(decode_event_callback(broken).malformed.empty());
    }
    payload["event"].erase("file");
    CHECK_FALSE(decode_event_callback(payload).malformed.empty());
}

TEST_CASE("slack manifest: the app subscribes to every event the bot decodes") {
    std::ifstream in(std::string(INCIDENT_BOT_SOURCE_DIR) + "/deploy/slack-app-manifest.yml");
    REQUIRE(in);
    std::string line;
    while (std::getline(in, line) && line.find("bot_events:") == std::string::npos) {
    }
    std::set<std::string> events;
    while (std::getline(in, line) && line.starts_with("      - ")) {
        events.insert(line.substr(8, line.find_first_of(" #", 8) - 8));
    }
    // message.channels delivers `message`; file_shared announces files (issue 20).
    CHECK(events == std::set<std::string>{"message.channels", "reaction_added", "reaction_removed",
                                          "file_shared"});
}

TEST_CASE("slack web api: chat.update and pins.add answers from the docs") {
    const auto update_text = fixture("web_chat_update_ok.docs.json");
    const auto pinned_text = fixture("web_pins_add_ok.docs.json");
    const auto already_text = fixture("web_pins_add_already_pinned.docs.json");
    REQUIRE(update_text);
    REQUIRE(pinned_text);
    REQUIRE(already_text);
    // What the adapter reads of them: ok, and for chat.update the message's channel and ts
    // (the fake answers with the same fields).
    const json update = json::parse(*update_text);
    CHECK(update["ok"] == true);
    CHECK(update["ts"].is_string());
    CHECK(update["channel"].is_string());
    CHECK(update["message"].is_object());
    CHECK(json::parse(*pinned_text)["ok"] == true);
    CHECK(json::parse(*already_text)["error"] == "already_pinned");
}

TEST_CASE("slack outbox marker: the documented metadata shape, found in a documented history") {
    const auto posted_text = fixture("web_chat_postMessage_metadata.docs.json");
    const auto history_text = fixture("web_conversations_history_ok.docs.json");
    REQUIRE(posted_text);
    REQUIRE(history_text);
    // Ours has the documented members, of the documented types.
    const json documented = json::parse(*posted_text)["metadata"];
    const json ours = outbox_metadata(42);
    for (const auto& [key, value] : documented.items()) {
        CAPTURE(key);
        REQUIRE(ours.contains(key));
        CHECK(ours[key].type() == value.type());
    }
    CHECK(ours.size() == documented.size());
    CHECK(ours["event_type"] == "incident_bot_outbox");
    CHECK(ours["event_payload"] == json{{"outbox_id", "42"}});

    json history = json::parse(*history_text);
    CHECK(marked_message(history, 42, "UBOT", 0).is_null());  // nobody's marker
    json mine = {{"type", "message"},
                 {"user", "UBOT"},
                 {"text", "INC-7 update"},
                 {"ts", "1512104500.000100"},
                 {"metadata", ours}};
    history["messages"].insert(history["messages"].begin(), mine);
    const json found = marked_message(history, 42, "UBOT", 1512104400000);
    REQUIRE(found.is_object());
    CHECK(found["ts"] == "1512104500.000100");
    CHECK(marked_message(history, 43, "UBOT", 0).is_null());              // another entry
    CHECK(marked_message(history, 42, "U222BBB222", 0).is_null());        // another poster
    CHECK(marked_message(history, 42, "UBOT", 1512104600000).is_null());  // older than it
    json unread = history;
    unread["messages"][0].erase("metadata");  // read without include_all_metadata
    CHECK(marked_message(unread, 42, "UBOT", 0).is_null());
    json odd = history;
    odd["messages"][0]["metadata"]["event_payload"]["outbox_id"] = 42;  // a number: not ours
    CHECK(marked_message(odd, 42, "UBOT", 0).is_null());
    odd["messages"][0]["metadata"]["event_type"] = "customer_created";
    CHECK(marked_message(odd, 42, "UBOT", 0).is_null());
    CHECK(marked_message(json::array(), 42, "UBOT", 0).is_null());
    CHECK(marked_message(json{{"ok", false}, {"error", "channel_not_found"}}, 42, "UBOT", 0)
              .is_null());
}

TEST_CASE("slack interactions: the bolt-python payloads decode, ours are told from others") {
    const auto press_text = fixture("http_block_actions.bolt-python-test.json");
    const auto submission_text = fixture("http_view_submission.bolt-python-test.json");
    const auto message_text = fixture("http_message_action.bolt-python-test.json");
    const auto shortcut_text = fixture("http_shortcut.bolt-python-test.json");
    REQUIRE(press_text);
    REQUIRE(submission_text);
    REQUIRE(message_text);
    REQUIRE(shortcut_text);

    // A button of another app: neither a command button nor a form button.
    json press = json::parse(*press_text);
    CHECK_FALSE(decode_block_action(press, 1));
    CHECK_FALSE(decode_form_button(press));
    CHECK(interaction_user(press) == Actor{"W111", "primary-owner"});
    // The same press on a summary button.
    press["actions"][0]["action_id"] = form_action_id("severity");
    press["actions"][0]["value"] = "INC-7";
    const auto button = decode_form_button(press);
    REQUIRE(button);
    CHECK(button->form == "severity");
    CHECK(button->incident == 7);
    CHECK(button->trigger_id == "111.222.valid");
    CHECK(button->channel_id == "C111");
    CHECK(button->action_ts == "1596530385.194939");
    press["actions"][0]["value"] = "not a key";
    CHECK_FALSE(decode_form_button(press));

    // Another app's view (callback_id view-id, metadata a sentence) is none of the bot's.
    json view = json::parse(*submission_text);
    CHECK_FALSE(decode_view_submission(view));
    // As one of the bot's modals: its callback_id and private_metadata.
    view["view"]["callback_id"] = form_callback_id("update");
    view["view"]["private_metadata"] = encode_form_context({"update", 3, "C111"});
    view["view"]["blocks"][0]["block_id"] = "text";
    view["view"]["state"]["values"] = {{"text", view["view"]["state"]["values"]["hspI"]}};
    const auto submission = decode_view_submission(view);
    REQUIRE(submission);
    CHECK(submission->view_id == "V111");
    CHECK(submission->context.form == "update");
    CHECK(submission->context.incident == 3);
    CHECK(submission->context.channel_id == "C111");
    CHECK(submission->values == std::map<std::string, std::string>{{"text", "test"}});
    CHECK(submission->user == Actor{"W111", "primary-owner"});
    // The callback_id and the metadata must name the same form.
    view["view"]["callback_id"] = form_callback_id("resolve");
    CHECK_FALSE(decode_view_submission(view));

    // Each element's state (docs.slack.dev, view_submission payload: view.state.values).
    view["view"]["callback_id"] = form_callback_id("update");
    view["view"]["state"]["values"] = {
        {"severity",
         {{"s", {{"type", "static_select"}, {"selected_option", {{"value", "sev2"}}}}}}},
        {"owner", {{"u", {{"type", "users_select"}, {"selected_user", "U2"}}}}},
        {"due", {{"d", {{"type", "datepicker"}, {"selected_date", "2026-12-03"}}}}},
        {"empty", {{"e", {{"type", "plain_text_input"}, {"value", nullptr}}}}},
        {"none", {{"n", {{"type", "static_select"}, {"selected_option", nullptr}}}}},
    };
    const auto typed = decode_view_submission(view);
    REQUIRE(typed);
    CHECK(typed->values == std::map<std::string, std::string>{
                               {"severity", "sev2"}, {"owner", "U2"}, {"due", "2026-12-03"}});
    CHECK(typed->users == std::map<std::string, std::string>{{"owner", "U2"}});

    const auto shortcut = decode_shortcut(json::parse(*message_text));
    REQUIRE(shortcut);
    CHECK(shortcut->on_message);
    CHECK(shortcut->callback_id == "test-shortcut");
    CHECK(shortcut->channel_id == "C111");
    CHECK(shortcut->message_ts == "1583636382.000300");
    CHECK(shortcut->message_text == "<@W222> test");
    CHECK(shortcut->message_user == "W111");
    CHECK_FALSE(shortcut->message_from_bot);
    CHECK(shortcut->user == Actor{"W111", "test-test"});

    const auto global = decode_shortcut(json::parse(*shortcut_text));
    REQUIRE(global);
    CHECK_FALSE(global->on_message);
    CHECK(global->trigger_id == "111.111.xxxxxx");
    CHECK(global->user == Actor{"W111", "primary-owner"});
    CHECK_FALSE(decode_shortcut(press));

    CHECK_FALSE(decode_form_context("This is for you!"));
    CHECK_FALSE(decode_form_context(R"({"form":"update","incident":-1})"));
    CHECK(decode_form_context(R"({"form":"declare","channel":""})")->incident == std::nullopt);
}

TEST_CASE("slack web api: views.open answers from the docs") {
    const auto ok_text = fixture("web_views_open_ok.docs.json");
    const auto bad_text = fixture("web_views_open_invalid_arguments.docs.json");
    REQUIRE(ok_text);
    REQUIRE(bad_text);
    // What the adapter reads: ok, or the error (logged, told to the user); the fake answers
    // with the same fields.
    const json ok = json::parse(*ok_text);
    CHECK(ok["ok"] == true);
    CHECK(ok["view"]["id"].is_string());
    CHECK(ok["view"]["private_metadata"].is_string());
    const json bad = json::parse(*bad_text);
    CHECK(bad["ok"] == false);
    CHECK(bad["error"] == "invalid_arguments");
    CHECK(bad["response_metadata"]["messages"][0] == "invalid `trigger_id`");
}

TEST_CASE("web api answers: a missing or mistyped member reads as an empty object") {
    slack::ApiResult r;
    r.body = nlohmann::json::parse(R"({"ok":true,"channel":{"id":"C1"},"user":"U1"})");
    CHECK(r.object_at("channel").value("id", std::string()) == "C1");
    CHECK(r.object_at("user").empty());     // a string, not an object
    CHECK(r.object_at("missing").empty());  // left out
    r.body = nlohmann::json::parse("[1]");  // not even an object
    CHECK(r.object_at("channel").empty());
}

#include "adapters/slack/decode.hpp"

#include "adapters/net/json_repair.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

namespace incident::slack {

namespace {

using nlohmann::json;

// Summary buttons that open a form, and the modals' callback ids.
constexpr std::string_view k_form_action = "form:";
constexpr std::string_view k_form_callback = "incident_form:";

std::string str(const json& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Subtypes that are people talking; every other subtype is a system message.
bool is_human_subtype(const std::string& subtype) {
    return subtype.empty() || subtype == "thread_broadcast" || subtype == "file_share" ||
           subtype == "me_message";
}

EventHeader header(const json& payload, const json& event, const std::string& channel) {
    std::string at = str(event, "event_ts");
    if (at.empty()) at = str(event, "ts");
    return EventHeader{str(payload, "event_id"), std::string(k_platform), channel, parse_ts(at)};
}

DecodedEvent ignored(std::string why) {
    return DecodedEvent{std::nullopt, std::move(why), {}};
}
DecodedEvent malformed(std::string why) {
    return DecodedEvent{std::nullopt, {}, std::move(why)};
}

// The files of a message (subtype file_share): the file objects of
// docs.slack.dev/reference/objects/file-object, downloaded from url_private_download with
// the bot token. Entries without an id (hidden by the plan's limit) are not files we can get.
std::vector<SharedFile> files_of(const json& event) {
    std::vector<SharedFile> files;
    const auto it = event.find("files");
    if (it == event.end() || !it->is_array()) return files;
    for (const auto& f : *it) {
        if (!f.is_object() || str(f, "id").empty()) continue;
        SharedFile file;
        file.id = str(f, "id");
        file.name = str(f, "name");
        if (file.name.empty()) file.name = str(f, "title");
        file.mime_type = str(f, "mimetype");
        if (const auto size = f.find("size"); size != f.end() && size->is_number_integer()) {
            file.size = std::max<std::int64_t>(0, size->get<std::int64_t>());
        }
        file.url = str(f, "url_private_download");
        if (file.url.empty()) file.url = str(f, "url_private");
        files.push_back(std::move(file));
    }
    return files;
}

DecodedEvent decode_message(const json& payload, const json& event) {
    const std::string subtype = str(event, "subtype");
    const std::string channel = str(event, "channel");
    if (channel.empty()) return malformed("message event without channel");
    if (subtype == "message_changed") {
        const auto it = event.find("message");
        if (it == event.end() || !it->is_object())
            return malformed("message_changed without message");
        if (it->contains("bot_id")) return ignored("edit of a bot message");
        const std::string ts = str(*it, "ts");
        if (ts.empty()) return malformed("message_changed without message.ts");
        return {MessageEdited{header(payload, event, channel), ts, str(*it, "text"), std::nullopt},
                {},
                {}};
    }
    if (subtype == "message_deleted") {
        const std::string ts = str(event, "deleted_ts");
        if (ts.empty()) return malformed("message_deleted without deleted_ts");
        return {MessageDeleted{header(payload, event, channel), ts}, {}, {}};
    }
    if (event.contains("bot_id") || subtype == "bot_message") return ignored("bot message");
    if (!is_human_subtype(subtype)) return ignored("system message (" + subtype + ")");
    const std::string user = str(event, "user");
    const std::string ts = str(event, "ts");
    if (user.empty() || ts.empty()) return malformed("message without user or ts");
    std::string thread = str(event, "thread_ts");
    if (thread == ts) thread.clear();
    return {MessagePosted{header(payload, event, channel), ts, thread, Actor{user, ""},
                          str(event, "text"), false, files_of(event)},
            {},
            {}};
}

DecodedEvent decode_reaction(const json& payload, const json& event, bool added) {
    const auto item = event.find("item");
    if (item == event.end() || !item->is_object()) return malformed("reaction without item");
    if (str(*item, "type") != "message") return ignored("reaction to a " + str(*item, "type"));
    const std::string channel = str(*item, "channel"), ts = str(*item, "ts");
    const std::string user = str(event, "user"), reaction = str(event, "reaction");
    if (channel.empty() || ts.empty() || user.empty() || reaction.empty()) {
        return malformed("reaction without channel, ts, user or reaction");
    }
    return {ReactionChanged{header(payload, event, channel), ts, reaction, Actor{user, ""}, added},
            {},
            {}};
}

// file_shared (docs.slack.dev/reference/events/file_shared): who shared which file where, the
// file by its id only (top-level file_id, and file.id); files.info describes it.
DecodedEvent decode_file_shared(const json& payload, const json& event) {
    const std::string channel = str(event, "channel_id");
    std::string id = str(event, "file_id");
    if (const auto file = event.find("file");
        id.empty() && file != event.end() && file->is_object()) {
        id = str(*file, "id");
    }
    const std::string user = str(event, "user_id");
    if (channel.empty() || id.empty() || user.empty()) {
        return malformed("file_shared without channel_id, file_id or user_id");
    }
    SharedFile file;
    file.id = id;
    return {FileShared{header(payload, event, channel), std::move(file), Actor{user, ""}}, {}, {}};
}

}  // namespace

Timestamp parse_ts(std::string_view ts) {
    const auto dot = ts.find('.');
    const std::string_view secs = ts.substr(0, dot);
    // Digits only (no sign), and small enough that the milliseconds fit.
    if (secs.empty() || secs[0] < '0' || secs[0] > '9') return 0;
    std::int64_t s = 0;
    const auto [end, ec] = std::from_chars(secs.data(), secs.data() + secs.size(), s);
    if (ec != std::errc{} || end != secs.data() + secs.size()) return 0;
    if (s > std::numeric_limits<Timestamp>::max() / 1000 - 1) return 0;
    std::int64_t ms = 0;
    if (dot != std::string_view::npos) {
        const std::string_view frac = ts.substr(dot + 1);
        for (std::size_t i = 0; i < 3; ++i) {
            const char c = i < frac.size() ? frac[i] : '0';
            if (c < '0' || c > '9') return 0;
            ms = ms * 10 + (c - '0');
        }
    }
    return s * 1000 + ms;
}

std::optional<Envelope> parse_envelope(std::string_view text, std::string& error) {
    // Slack relays what clients send, lone UTF-16 surrogates included: keep the rest.
    std::size_t repaired = 0;
    json j = net::parse_json_repairing(text, repaired);
    if (j.is_discarded()) {
        error = "malformed JSON: " + net::describe_json_error(text);
        // Still acked when it names its envelope, or Slack would redeliver it forever.
        if (auto id = net::find_string_field(text, "envelope_id"); id && !id->empty()) {
            Envelope e;
            e.envelope_id = std::move(*id);
            e.unreadable = error;
            return e;
        }
        return std::nullopt;
    }
    if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) {
        error = "frame is not an object with a string \"type\"";
        return std::nullopt;
    }
    Envelope e;
    e.type = j["type"].get<std::string>();
    e.envelope_id = str(j, "envelope_id");
    // Moved, not copied: a copy recurses once per nesting level and can overflow the stack.
    if (const auto it = j.find("payload"); it != j.end()) e.payload = std::move(*it);
    if (const auto it = j.find("retry_attempt"); it != j.end() && it->is_number_integer()) {
        e.retry_attempt = it->get<int>();
    }
    if (const auto it = j.find("accepts_response_payload"); it != j.end() && it->is_boolean()) {
        e.accepts_response_payload = it->get<bool>();
    }
    e.reason = str(j, "reason");
    e.repaired_escapes = repaired;
    return e;
}

std::string ack_frame(const std::string& envelope_id, const json& payload) {
    // Slack's envelope ids are UUIDs: spliced in as they are, without building a DOM for
    // every ack; anything else is escaped by nlohmann.
    const bool plain = std::all_of(envelope_id.begin(), envelope_id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    });
    if (plain && payload.is_null()) return R"({"envelope_id":")" + envelope_id + "\"}";
    json ack{{"envelope_id", envelope_id}};
    if (!payload.is_null()) ack["payload"] = payload;
    return ack.dump();
}

DecodedEvent decode_event_callback(const json& payload) {
    if (!payload.is_object()) return malformed("payload is not an object");
    if (str(payload, "type") != "event_callback") {
        return ignored("payload type " + str(payload, "type"));
    }
    if (str(payload, "event_id").empty()) return malformed("event_callback without event_id");
    const auto it = payload.find("event");
    if (it == payload.end() || !it->is_object()) return malformed("event_callback without event");
    const std::string type = str(*it, "type");
    if (type == "message") return decode_message(payload, *it);
    if (type == "reaction_added") return decode_reaction(payload, *it, true);
    if (type == "reaction_removed") return decode_reaction(payload, *it, false);
    if (type == "file_shared") return decode_file_shared(payload, *it);
    return ignored("event type " + type);
}

std::optional<CommandRequest> decode_slash_command(const json& payload, Timestamp now) {
    if (!payload.is_object()) return std::nullopt;
    CommandRequest r;
    r.platform = std::string(k_platform);
    r.request_id = str(payload, "trigger_id");
    r.channel_id = str(payload, "channel_id");
    r.channel_name = str(payload, "channel_name");
    r.caller = Actor{str(payload, "user_id"), str(payload, "user_name")};
    r.text = str(payload, "text");
    r.at = now;
    if (r.caller.id.empty() || r.channel_id.empty()) return std::nullopt;
    return r;
}

std::optional<CommandRequest> decode_block_action(const json& payload, Timestamp now) {
    if (!payload.is_object() || str(payload, "type") != "block_actions") return std::nullopt;
    const auto actions = payload.find("actions");
    const auto user = payload.find("user");
    const auto channel = payload.find("channel");
    if (actions == payload.end() || !actions->is_array() || actions->empty() ||
        user == payload.end() || !user->is_object() || channel == payload.end() ||
        !channel->is_object()) {
        return std::nullopt;
    }
    const json& action = actions->front();
    if (!action.is_object() || !str(action, "action_id").starts_with("incident:")) {
        return std::nullopt;
    }
    const auto caller = interaction_user(payload);
    if (!caller) return std::nullopt;
    CommandRequest r;
    r.platform = std::string(k_platform);
    // A button press is one request: the same press redelivered has the same action_ts.
    r.request_id = "action:" + str(action, "action_ts") + ":" + caller->id;
    r.channel_id = str(*channel, "id");
    r.channel_name = str(*channel, "name");
    r.caller = *caller;
    r.text = str(action, "value");
    r.at = now;
    if (r.channel_id.empty() || r.text.empty()) return std::nullopt;
    return r;
}

std::optional<Actor> interaction_user(const json& payload) {
    if (!payload.is_object()) return std::nullopt;
    const auto user = payload.find("user");
    if (user == payload.end() || !user->is_object()) return std::nullopt;
    std::string name = str(*user, "username");
    if (name.empty()) name = str(*user, "name");
    Actor who{str(*user, "id"), name};
    if (who.id.empty()) return std::nullopt;
    return who;
}

std::optional<FormButton> decode_form_button(const json& payload) {
    if (!payload.is_object() || str(payload, "type") != "block_actions") return std::nullopt;
    const auto actions = payload.find("actions");
    if (actions == payload.end() || !actions->is_array() || actions->empty()) return std::nullopt;
    const json& action = actions->front();
    if (!action.is_object()) return std::nullopt;
    const std::string id = str(action, "action_id");
    if (!id.starts_with(k_form_action)) return std::nullopt;
    FormButton b;
    b.form = id.substr(k_form_action.size());
    const auto incident = parse_incident_key(str(action, "value"));
    const auto user = interaction_user(payload);
    b.trigger_id = str(payload, "trigger_id");
    if (!incident || !user || b.form.empty() || b.trigger_id.empty()) return std::nullopt;
    b.incident = *incident;
    b.user = *user;
    b.action_ts = str(action, "action_ts");
    if (const auto channel = payload.find("channel");
        channel != payload.end() && channel->is_object()) {
        b.channel_id = str(*channel, "id");
    }
    return b;
}

std::string form_action_id(std::string_view form) {
    return std::string(k_form_action) + std::string(form);
}

std::string encode_form_context(const FormContext& context) {
    json j{{"form", context.form}, {"channel", context.channel_id}};
    if (context.incident) j["incident"] = *context.incident;
    return j.dump();
}

std::optional<FormContext> decode_form_context(std::string_view metadata) {
    const json j = json::parse(metadata, nullptr, false);
    if (!j.is_object()) return std::nullopt;
    FormContext c;
    c.form = str(j, "form");
    c.channel_id = str(j, "channel");
    if (const auto it = j.find("incident"); it != j.end()) {
        if (!it->is_number_integer() || it->get<std::int64_t>() <= 0) return std::nullopt;
        c.incident = it->get<std::int64_t>();
    }
    if (c.form.empty()) return std::nullopt;
    return c;
}

std::string form_callback_id(std::string_view form) {
    return std::string(k_form_callback) + std::string(form);
}

std::optional<ViewSubmission> decode_view_submission(const json& payload) {
    if (!payload.is_object() || str(payload, "type") != "view_submission") return std::nullopt;
    const auto view = payload.find("view");
    if (view == payload.end() || !view->is_object()) return std::nullopt;
    const std::string callback = str(*view, "callback_id");
    if (!callback.starts_with(k_form_callback)) return std::nullopt;
    auto context = decode_form_context(str(*view, "private_metadata"));
    const auto user = interaction_user(payload);
    if (!context || !user || context->form != callback.substr(k_form_callback.size())) {
        return std::nullopt;
    }
    ViewSubmission s;
    s.view_id = str(*view, "id");
    if (s.view_id.empty()) return std::nullopt;
    s.context = std::move(*context);
    s.user = *user;
    // state.values: block_id -> action_id -> the element's state (docs.slack.dev,
    // reference/interaction-payloads/view-interactions-payload).
    const json state = view->value("state", json::object());
    const json values = state.is_object() ? state.value("values", json::object()) : json();
    if (!values.is_object()) return s;
    for (const auto& [block, actions] : values.items()) {
        if (!actions.is_object()) continue;
        for (const auto& [action, element] : actions.items()) {
            if (!element.is_object()) continue;
            std::string value;
            if (const auto it = element.find("selected_option"); it != element.end()) {
                if (it->is_object()) value = str(*it, "value");
            } else if (element.contains("selected_user")) {
                value = str(element, "selected_user");
                if (!value.empty()) s.users[block] = value;
            } else if (element.contains("selected_date")) {
                value = str(element, "selected_date");
            } else {
                value = str(element, "value");
            }
            if (!value.empty()) s.values[block] = std::move(value);
        }
    }
    return s;
}

std::optional<Shortcut> decode_shortcut(const json& payload) {
    if (!payload.is_object()) return std::nullopt;
    const std::string type = str(payload, "type");
    if (type != "shortcut" && type != "message_action") return std::nullopt;
    Shortcut s;
    s.on_message = type == "message_action";
    s.callback_id = str(payload, "callback_id");
    s.trigger_id = str(payload, "trigger_id");
    s.action_ts = str(payload, "action_ts");
    const auto user = interaction_user(payload);
    if (!user || s.callback_id.empty()) return std::nullopt;
    s.user = *user;
    if (!s.on_message) return s;
    if (const auto channel = payload.find("channel");
        channel != payload.end() && channel->is_object()) {
        s.channel_id = str(*channel, "id");
    }
    const auto message = payload.find("message");
    if (message != payload.end() && message->is_object()) {
        s.message_ts = str(*message, "ts");
        s.thread_ts = str(*message, "thread_ts");
        if (s.thread_ts == s.message_ts) s.thread_ts.clear();
        s.message_text = str(*message, "text");
        s.message_from_bot =
            message->contains("bot_id") || str(*message, "subtype") == "bot_message";
        if (!s.message_from_bot) s.message_user = str(*message, "user");
    }
    if (s.message_ts.empty()) s.message_ts = str(payload, "message_ts");
    if (s.channel_id.empty() || s.message_ts.empty()) return std::nullopt;
    return s;
}

json outbox_metadata(std::int64_t entry_id) {
    return json{{"event_type", k_outbox_event_type},
                {"event_payload", {{"outbox_id", std::to_string(entry_id)}}}};
}

json marked_message(const json& history, std::int64_t entry_id, const std::string& bot_user_id,
                    Timestamp not_before) {
    // Strings only: json::value() throws on a member of another type.
    const auto text_at = [](const json& object, const char* key) {
        const auto it = object.find(key);
        return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    if (!history.is_object()) return json();
    const auto messages = history.find("messages");
    if (messages == history.end() || !messages->is_array()) return json();
    const std::string marker = std::to_string(entry_id);
    for (const auto& message : *messages) {
        if (!message.is_object()) continue;
        const auto metadata = message.find("metadata");
        if (metadata == message.end() || !metadata->is_object()) continue;
        if (text_at(*metadata, "event_type") != k_outbox_event_type) continue;
        const auto payload = metadata->find("event_payload");
        if (payload == metadata->end() || !payload->is_object()) continue;
        if (text_at(*payload, "outbox_id") != marker) continue;
        if (text_at(message, "user") != bot_user_id) continue;
        const Timestamp at = parse_ts(text_at(message, "ts"));
        if (at == 0 || at < not_before) continue;
        return message;
    }
    return json();
}

}  // namespace incident::slack

#include "adapters/mattermost/decode.hpp"

#include "bot/rich_text.hpp"

#include "adapters/net/digest.hpp"
#include "adapters/net/form.hpp"
#include "adapters/net/json_repair.hpp"

#include <algorithm>
#include <cctype>

namespace incident::mattermost {

namespace {

using nlohmann::json;

std::string str(const json& j, const char* key) {
    if (!j.is_object()) return {};
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::int64_t integer(const json& j, const char* key) {
    if (!j.is_object()) return 0;
    const auto it = j.find(key);
    if (it == j.end()) return 0;
    if (it->is_number_integer()) return it->get<std::int64_t>();
    if (it->is_number_float()) {
        const double value = it->get<double>();
        // Casting a double outside the int64 range is undefined behaviour.
        if (!(value > -9.2e18 && value < 9.2e18)) return 0;
        return static_cast<std::int64_t>(value);
    }
    return 0;
}

// Props are strings on the wire ("true"), but plugins sometimes set real booleans.
bool prop_true(const json& props, const char* key) {
    if (!props.is_object()) return false;
    const auto it = props.find(key);
    if (it == props.end()) return false;
    if (it->is_boolean()) return it->get<bool>();
    return it->is_string() && it->get<std::string>() == "true";
}

// A field the server sends as a JSON string holding JSON; an object is accepted as well.
std::optional<json> nested_object(const json& data, const char* key, std::string& error) {
    const auto it = data.find(key);
    if (it == data.end()) {
        error = std::string("no data.") + key;
        return std::nullopt;
    }
    if (it->is_object()) return *it;
    if (!it->is_string()) {
        error = std::string("data.") + key + " is neither a JSON string nor an object";
        return std::nullopt;
    }
    // A bad escape in one message (a lone surrogate) costs that character, not the post.
    std::size_t repaired = 0;
    json inner = net::parse_json_repairing(it->get_ref<const std::string&>(), repaired);
    if (inner.is_discarded() || !inner.is_object()) {
        error = std::string("data.") + key + " does not hold a JSON object";
        return std::nullopt;
    }
    return inner;
}

DecodedEvent ignored(std::string why) {
    return DecodedEvent{std::nullopt, std::move(why), {}, {}};
}
DecodedEvent malformed(std::string why) {
    return DecodedEvent{std::nullopt, {}, std::move(why), {}};
}

std::string platform() {
    return std::string(k_platform);
}

std::string channel_of(const Frame& frame, const Post& post) {
    if (!post.channel_id.empty()) return post.channel_id;
    return str(frame.broadcast, "channel_id");
}

MessagePosted posted_event(const Post& post, const std::string& channel,
                           const DecodeContext& context) {
    return MessagePosted{EventHeader{posted_event_id(post), platform(), channel, post.create_at},
                         post.id,
                         post.root_id,
                         Actor{post.user_id, ""},
                         post.message,
                         is_bot_post(post, context),
                         post.files};
}

MessageEdited edited_event(const Post& post, const std::string& channel) {
    const Timestamp at = post.edit_at ? post.edit_at : post.update_at;
    return MessageEdited{EventHeader{edited_event_id(post), platform(), channel, at}, post.id,
                         post.message, post.is_pinned};
}

MessageDeleted deleted_event(const Post& post, const std::string& channel) {
    const Timestamp at = post.delete_at ? post.delete_at : post.update_at;
    return MessageDeleted{EventHeader{deleted_event_id(post), platform(), channel, at}, post.id};
}

DecodedEvent decode_post_event(const Frame& frame, const DecodeContext& context) {
    std::string error;
    const auto post = decode_post(frame.data.contains("post") ? frame.data["post"] : json(), error);
    if (!post) return malformed(frame.event + ": " + error);
    const std::string channel = channel_of(frame, *post);
    if (channel.empty()) return malformed(frame.event + ": post without channel_id");
    DecodedEvent out;
    if (frame.event == "posted") {
        if (post->user_id.empty()) return malformed("posted: post without user_id");
        out.event = posted_event(*post, channel, context);
        std::string sender = str(frame.data, "sender_name");
        if (sender.starts_with('@')) sender.erase(0, 1);
        out.sender_name = sender;
    } else if (frame.event == "post_edited") {
        if (is_bot_post(*post, context)) return ignored("edit of a bot or system post");
        out.event = edited_event(*post, channel);
    } else {
        out.event = deleted_event(*post, channel);
    }
    return out;
}

DecodedEvent decode_reaction(const Frame& frame, const DecodeContext& context, bool added) {
    std::string error;
    const auto reaction = nested_object(frame.data, "reaction", error);
    if (!reaction) return malformed(frame.event + ": " + error);
    const std::string user = str(*reaction, "user_id"), post = str(*reaction, "post_id");
    const std::string emoji = str(*reaction, "emoji_name");
    std::string channel = str(frame.broadcast, "channel_id");
    if (channel.empty()) channel = str(*reaction, "channel_id");
    if (user.empty() || post.empty() || emoji.empty() || channel.empty()) {
        return malformed(frame.event +
                         ": reaction without user_id, post_id, emoji_name or channel");
    }
    if (!context.bot_user_id.empty() && user == context.bot_user_id) {
        return ignored("reaction by the bot itself");
    }
    const Timestamp at = integer(*reaction, "create_at");
    std::string id = frame.event + ":" + post + ":" + user + ":" + emoji + ":";
    // A removal carries create_at 0, so two removals of the same emoji (with a re-add in
    // between) would share an id; the connection and its event seq tell them apart and
    // stay the same when the server replays the event on that connection.
    if (at != 0) {
        id += std::to_string(at);
    } else {
        id += "c" + context.connection_id + "#" + std::to_string(frame.seq.value_or(-1));
    }
    return DecodedEvent{ReactionChanged{EventHeader{id, platform(), channel, at}, post, emoji,
                                        Actor{user, ""}, added},
                        {},
                        {},
                        {}};
}

// `..., "seq": 42}` at the very end of a frame: where the server puts it.
std::optional<std::int64_t> trailing_seq(std::string_view text) {
    std::size_t end = text.size();
    const auto space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
    while (end > 0 && space(text[end - 1])) --end;
    if (end == 0 || text[end - 1] != '}') return std::nullopt;
    --end;
    while (end > 0 && space(text[end - 1])) --end;
    std::size_t start = end;
    while (start > 0 && text[start - 1] >= '0' && text[start - 1] <= '9') --start;
    if (start == end || end - start > 18) return std::nullopt;
    std::size_t key = start;
    while (key > 0 && space(text[key - 1])) --key;
    if (key == 0 || text[key - 1] != ':') return std::nullopt;
    --key;
    while (key > 0 && space(text[key - 1])) --key;
    if (key < 5 || text.substr(key - 5, 5) != "\"seq\"") return std::nullopt;
    std::int64_t seq = 0;
    for (std::size_t i = start; i < end; ++i) seq = seq * 10 + (text[i] - '0');
    return seq;
}

}  // namespace

std::optional<Frame> parse_frame(std::string_view text, std::string& error) {
    std::size_t repaired = 0;
    json j = net::parse_json_repairing(text, repaired);
    if (j.is_discarded()) {
        error = "malformed JSON: " + net::describe_json_error(text);
        // The server writes seq last: with it, the stream goes on past this event instead
        // of seeing a gap, reconnecting and being sent the same frame again.
        if (const auto seq = trailing_seq(text)) {
            Frame f;
            f.seq = *seq;
            f.unreadable = error;
            return f;
        }
        return std::nullopt;
    }
    if (!j.is_object()) {
        error = "frame is not a JSON object";
        return std::nullopt;
    }
    Frame f;
    if (const auto it = j.find("seq_reply"); it != j.end()) {
        if (!it->is_number_integer()) {
            error = "seq_reply is not an integer";
            return std::nullopt;
        }
        f.kind = Frame::Kind::response;
        f.seq_reply = it->get<std::int64_t>();
        f.status = str(j, "status");
        if (const auto e = j.find("error"); e != j.end() && e->is_object()) {
            f.error = str(*e, "id") + ": " + str(*e, "message");
        }
        if (const auto d = j.find("data"); d != j.end() && d->is_object()) f.data = std::move(*d);
        return f;
    }
    const auto event = j.find("event");
    if (event == j.end() || !event->is_string() || event->get_ref<const std::string&>().empty()) {
        error = "frame has neither a string \"event\" nor \"seq_reply\"";
        return std::nullopt;
    }
    f.event = event->get<std::string>();
    // Moved, not copied: a copy recurses once per nesting level and can overflow the stack.
    const auto data = j.find("data");
    f.data = data != j.end() && data->is_object() ? std::move(*data) : json::object();
    const auto broadcast = j.find("broadcast");
    f.broadcast =
        broadcast != j.end() && broadcast->is_object() ? std::move(*broadcast) : json::object();
    if (const auto seq = j.find("seq"); seq != j.end()) {
        if (!seq->is_number_integer()) {
            error = "seq is not an integer";
            return std::nullopt;
        }
        f.seq = seq->get<std::int64_t>();
    }
    f.repaired_escapes = repaired;
    return f;
}

std::string authentication_challenge(std::int64_t seq, std::string_view token) {
    json challenge = json::object();
    challenge["seq"] = seq;
    challenge["action"] = "authentication_challenge";
    challenge["data"] = json{{"token", std::string(token)}};
    return challenge.dump();
}

Hello decode_hello(const Frame& frame) {
    return Hello{str(frame.data, "connection_id"), str(frame.data, "server_version"),
                 str(frame.broadcast, "user_id")};
}

namespace {

// A post's attachments: `file_ids`, and the FileInfo objects of `metadata.files` (id, name,
// mime_type, size) that servers since 5.x add. Fetched by id (GET /api/v4/files/{id}).
std::vector<SharedFile> post_files(const json& p) {
    std::vector<SharedFile> files;
    const auto ids = p.find("file_ids");
    if (ids == p.end() || !ids->is_array()) return files;
    std::map<std::string, const json*> info;
    if (const auto meta = p.find("metadata"); meta != p.end() && meta->is_object()) {
        if (const auto list = meta->find("files"); list != meta->end() && list->is_array()) {
            for (const auto& f : *list) {
                if (f.is_object() && !str(f, "id").empty()) info[str(f, "id")] = &f;
            }
        }
    }
    for (const auto& id : *ids) {
        // Ids are letters and digits; anything else would change the path it is fetched by.
        if (!id.is_string() || id.get<std::string>().empty() ||
            !std::all_of(id.get_ref<const std::string&>().begin(),
                         id.get_ref<const std::string&>().end(),
                         [](char c) { return std::isalnum(static_cast<unsigned char>(c)); })) {
            continue;
        }
        SharedFile file;
        file.id = id.get<std::string>();
        if (const auto it = info.find(file.id); it != info.end()) {
            file.name = str(*it->second, "name");
            file.mime_type = str(*it->second, "mime_type");
            file.size = std::max<std::int64_t>(0, integer(*it->second, "size"));
        }
        files.push_back(std::move(file));
    }
    return files;
}

}  // namespace

std::optional<Post> decode_post(const json& value, std::string& error) {
    json holder = json::object();
    holder["post"] = value;
    const auto object = nested_object(holder, "post", error);
    if (!object) return std::nullopt;
    const json& p = *object;
    Post post;
    post.id = str(p, "id");
    if (post.id.empty()) {
        error = "post without id";
        return std::nullopt;
    }
    post.channel_id = str(p, "channel_id");
    post.user_id = str(p, "user_id");
    post.root_id = str(p, "root_id");
    post.message = str(p, "message");
    post.type = str(p, "type");
    post.create_at = integer(p, "create_at");
    post.update_at = integer(p, "update_at");
    post.edit_at = integer(p, "edit_at");
    post.delete_at = integer(p, "delete_at");
    if (const auto pinned = p.find("is_pinned"); pinned != p.end() && pinned->is_boolean()) {
        post.is_pinned = pinned->get<bool>();
    }
    if (const auto props = p.find("props"); props != p.end()) {
        post.from_bot_prop = prop_true(*props, "from_bot");
        post.from_webhook_prop = prop_true(*props, "from_webhook");
    }
    post.files = post_files(p);
    return post;
}

bool is_bot_post(const Post& post, const DecodeContext& context) {
    return post.type.starts_with("system_") || post.from_bot_prop || post.from_webhook_prop ||
           (!context.bot_user_id.empty() && post.user_id == context.bot_user_id);
}

std::string marked_post(const json& post_list, std::string_view marker,
                        const std::string& bot_user_id, Timestamp not_before) {
    if (!post_list.is_object()) return {};
    const auto posts = post_list.find("posts");
    if (posts == post_list.end() || !posts->is_object()) return {};
    for (const auto& [id, post] : posts->items()) {
        if (!post.is_object()) continue;
        const auto props = post.find("props");
        if (props == post.end() || !props->is_object()) continue;
        const auto mark = props->find(k_outbox_marker_prop);
        if (mark == props->end() || !mark->is_string() || mark->get<std::string>() != marker) {
            continue;
        }
        if (!bot_user_id.empty() && post.value("user_id", std::string()) != bot_user_id) continue;
        const auto created = post.find("create_at");
        if (created == post.end() || !created->is_number() ||
            created->get<Timestamp>() < not_before) {
            continue;
        }
        return post.value("id", id);
    }
    return {};
}

std::string posted_event_id(const Post& post) {
    return "posted:" + post.id;
}

std::string edited_event_id(const Post& post) {
    // update_at changes with every edit (and pin, and reaction count); edit_at alone would
    // be the same for two edits in one millisecond on different nodes.
    const Timestamp at = post.update_at ? post.update_at : post.edit_at;
    return "post_edited:" + post.id + ":" + std::to_string(at);
}

std::string deleted_event_id(const Post& post) {
    return "post_deleted:" + post.id;
}

std::vector<ChatEvent> events_for_post(const Post& post, Timestamp since,
                                       const DecodeContext& context,
                                       std::optional<bool> stored_pin) {
    std::vector<ChatEvent> out;
    if (post.channel_id.empty()) return out;
    const bool created = post.create_at > since;
    if (created) out.emplace_back(posted_event(post, post.channel_id, context));
    if (!is_bot_post(post, context)) {
        const bool pin_differs = post.is_pinned && post.update_at > since &&
                                 (stored_pin || created) &&
                                 *post.is_pinned != stored_pin.value_or(false);
        // An edit carries the pin state too, so one event says both.
        if (post.edit_at > since || (pin_differs && post.delete_at == 0)) {
            out.emplace_back(edited_event(post, post.channel_id));
        }
    }
    if (post.delete_at != 0) out.emplace_back(deleted_event(post, post.channel_id));
    return out;
}

DecodedEvent decode_event(const Frame& frame, const DecodeContext& context) {
    if (frame.kind != Frame::Kind::event) return ignored("a response, not an event");
    if (frame.event == "posted" || frame.event == "post_edited" || frame.event == "post_deleted") {
        return decode_post_event(frame, context);
    }
    if (frame.event == "reaction_added") return decode_reaction(frame, context, true);
    if (frame.event == "reaction_removed") return decode_reaction(frame, context, false);
    return ignored("event " + frame.event);
}

std::optional<CommandFields> parse_command_body(std::string_view content_type,
                                                std::string_view body, std::string& error) {
    CommandFields fields;
    std::size_t start = body.find_first_not_of(" \t\r\n");
    const bool json_body =
        content_type.starts_with("application/json") ||
        (content_type.empty() && start != std::string_view::npos && body[start] == '{');
    if (json_body) {
        const json j = json::parse(body, nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
            error = "the JSON body is not a JSON object";
            return std::nullopt;
        }
        for (const auto& [key, value] : j.items()) {
            if (value.is_string()) {
                fields.emplace(key, value.get<std::string>());
            } else if (value.is_number() || value.is_boolean()) {
                fields.emplace(key, value.dump());
            }
        }
        return fields;
    }
    const auto form = net::parse_form(body);
    if (!form) {
        error = "the form body has a malformed percent-escape";
        return std::nullopt;
    }
    for (const auto& [key, value] : *form) fields.emplace(key, value);  // the first value wins
    return fields;
}

bool tokens_equal(std::string_view a, std::string_view b) {
    return net::secrets_equal(a, b);
}

TokenCheck verify_command_token(std::string_view expected, const CommandFields& fields,
                                std::string_view authorization) {
    if (expected.empty()) {
        return {false,
                "no command token is configured (set MATTERMOST_COMMAND_TOKEN, or let the "
                "bot register the /incident command)"};
    }
    std::string_view header_token;
    if (authorization.size() > 6 &&
        (authorization.substr(0, 6) == "Token " || authorization.substr(0, 6) == "token ")) {
        header_token = authorization.substr(6);
    }
    const auto field = fields.find("token");
    const bool has_field = field != fields.end() && !field->second.empty();
    if (!has_field && header_token.empty()) {
        return {false, "no token: neither a `token` field nor an \"Authorization: Token\" header"};
    }
    // Both compared, so the time does not say which one was present or matched.
    const bool field_ok = has_field && tokens_equal(expected, field->second);
    const bool header_ok = !header_token.empty() && tokens_equal(expected, header_token);
    if (field_ok || header_ok) return {true, {}};
    return {false,
            "the command token does not match MATTERMOST_COMMAND_TOKEN (a request from "
            "another slash command, or the token was regenerated)"};
}

std::optional<CommandRequest> decode_slash_command(const CommandFields& fields, Timestamp now) {
    const auto get = [&](const char* key) {
        const auto it = fields.find(key);
        return it == fields.end() ? std::string() : it->second;
    };
    CommandRequest r;
    r.platform = platform();
    r.request_id = get("trigger_id");
    r.channel_id = get("channel_id");
    r.channel_name = get("channel_name");
    r.caller = Actor{get("user_id"), get("user_name")};
    r.text = get("text");
    r.at = now;
    if (r.caller.id.empty() || r.channel_id.empty()) return std::nullopt;
    return r;
}

std::string channel_name_of(std::string_view name) {
    std::string out;
    for (const char raw : name) {
        char c = raw;
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
            out += c;
        }
    }
    while (!out.empty() && (out.front() == '-' || out.front() == '_')) out.erase(0, 1);
    while (!out.empty() && (out.back() == '-' || out.back() == '_')) out.pop_back();
    if (out.size() > 64) out.resize(64);
    return out;
}

std::string markdown_from_mrkdwn(std::string_view text) {
    return render_emphasis(text, "**", "**");
}

std::string truncate_runes(std::string_view text, std::size_t max_runes) {
    std::size_t runes = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if ((c & 0xC0) == 0x80) continue;  // continuation byte
        if (runes == max_runes) return std::string(text.substr(0, i));
        ++runes;
    }
    return std::string(text);
}

}  // namespace incident::mattermost

#include "fake_mattermost.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "adapters/net/form.hpp"
#include "run_async.hpp"
#include "test_certs.hpp"

namespace incident::testing {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

constexpr std::size_t k_dead_queue_size = 128;

net::HttpServerOptions server_options(std::optional<net::TlsContext> tls) {
    net::HttpServerOptions options;
    options.tls = std::move(tls);
    return options;
}

std::vector<std::string> split_path(std::string_view path) {
    std::vector<std::string> out;
    while (!path.empty()) {
        const auto slash = path.find('/');
        out.emplace_back(path.substr(0, slash));
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
    }
    return out;
}

net::HttpResponse reply(int status, const json& body) {
    return net::HttpResponse::json(status, body.dump());
}

net::HttpResponse error(int status, const std::string& id, const std::string& message) {
    return reply(status, json{{"id", id},
                              {"message", message},
                              {"request_id", "fake"},
                              {"status_code", status},
                              {"is_oauth", false}});
}

// "POST posts": the method and the first segment below /api/v4/.
std::string rate_limit_key(const net::HttpRequest& request) {
    const std::string path(request.path());
    const auto seg =
        split_path(path.starts_with("/api/v4/") ? std::string_view(path).substr(8) : "");
    return request.method + " " + (seg.empty() ? "" : seg[0]);
}

bool valid_channel_name(const std::string& name) {
    if (name.empty() || name.size() > 64) return false;
    const auto ok = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (!ok(name.front()) || !ok(name.back())) return false;
    return std::all_of(name.begin(), name.end(),
                       [&](char c) { return ok(c) || c == '-' || c == '_'; });
}

bool http_url(const std::string& url) {
    return url.starts_with("http://") || url.starts_with("https://");
}

// PostAction.IsValid (server/public/model/integration_action.go): a name, type button or
// select, no options or data source on a button, an integration with an http(s) URL.
std::optional<std::string> attachments_problem(const json& props) {
    if (!props.is_object() || !props.contains("attachments")) return std::nullopt;
    const json& attachments = props["attachments"];
    if (!attachments.is_array()) return "props.attachments is not an array";
    for (const auto& a : attachments) {
        if (!a.is_object()) return "an attachment is not an object";
        if (!a.contains("actions")) continue;
        if (!a["actions"].is_array()) return "attachment actions is not an array";
        for (const auto& action : a["actions"]) {
            if (!action.is_object()) return "an action is not an object";
            if (action.value("name", "").empty()) return "action must have a name";
            const std::string type = action.value("type", "");
            if (type != "button" && type != "select") return "invalid action type";
            if (type == "button" && (action.contains("options") || action.contains("data_source")))
                return "button action must not have options or a data source";
            const std::string id = action.value("id", "");
            // The client calls POST /posts/{post_id}/actions/{action_id} with it.
            if (!std::all_of(id.begin(), id.end(),
                             [](char c) { return std::isalnum(static_cast<unsigned char>(c)); }))
                return "action id `" + id + "` is not alphanumeric";
            if (!action.contains("integration") || !action["integration"].is_object())
                return "action must have integration settings";
            if (!http_url(action["integration"].value("url", "")))
                return "action must have a valid integration URL";
        }
    }
    return std::nullopt;
}

// The post as the server sends it to clients (PreparePostForClient → StripActionIntegrations):
// the contexts stay on the server.
json for_client(json post) {
    if (post.contains("props") && post["props"].is_object() &&
        post["props"].contains("attachments") && post["props"]["attachments"].is_array()) {
        for (auto& a : post["props"]["attachments"]) {
            if (!a.is_object() || !a.contains("actions") || !a["actions"].is_array()) continue;
            for (auto& action : a["actions"]) {
                if (action.is_object()) action.erase("integration");
            }
        }
    }
    return post;
}

}  // namespace

std::string mm_id(std::string_view prefix, int n) {
    const std::string digits = std::to_string(n);
    std::string id(prefix);
    id += std::string(26 - std::min<std::size_t>(26, id.size() + digits.size()), '0');
    id += digits;
    return id.substr(0, 26);
}

FakeMattermost::FakeMattermost(asio::any_io_executor executor, std::optional<net::TlsContext> tls)
    : executor_(executor),
      server_(
          executor,
          [this](net::HttpRequest request) -> asio::awaitable<net::HttpResponse> {
              const auto stall = stalls.find(rate_limit_key(request));
              if (stall != stalls.end() && stall->second > 0) {
                  --stall->second;
                  ++stalled_calls;
                  co_await net::testing::sleep_for(stall_for);
                  co_return net::HttpResponse::text(504, "gateway timeout\n");
              }
              const auto lost = lost_answers.find(rate_limit_key(request));
              if (lost != lost_answers.end() && lost->second > 0) {
                  --lost->second;
                  ++lost_calls;
                  api(request);
                  co_return net::HttpResponse::text(504, "gateway timeout\n");
              }
              co_return api(request);
          },
          server_options(tls)),
      client_(executor, net::testing::system_client_context()),
      scheme_(tls ? "https" : "http") {
    users = {{bot_user_id, "incident-bot"},
             {mm_id("alice"), "alice"},
             {mm_id("bob"), "bob"},
             {mm_id("carol"), "carol"}};
    channels[town_square_id] = Channel{town_square_id,
                                       team_id,
                                       "town-square",
                                       "Town Square",
                                       "",
                                       "O",
                                       {mm_id("alice"), mm_id("bob"), mm_id("carol")}};
    server_.add_websocket_route("/api/v4/websocket",
                                [this](net::WebSocketSession s) { return session(s); });
    const auto status = server_.listen("127.0.0.1:0");
    if (!status.ok()) throw std::runtime_error("fake mattermost: " + status.message);
}

std::string FakeMattermost::url() const {
    return scheme_ + "://127.0.0.1:" + std::to_string(server_.port());
}

std::vector<FakeMattermost::Call> FakeMattermost::calls_of(const std::string& method,
                                                           const std::string& prefix) const {
    std::vector<Call> out;
    for (const auto& c : calls) {
        if (c.method == method && c.path.starts_with(prefix)) out.push_back(c);
    }
    return out;
}

std::int64_t FakeMattermost::stamp(std::int64_t at) {
    if (at != 0) {
        clock = std::max(clock, at);
        return at;
    }
    clock += 1000;
    return clock;
}

bool FakeMattermost::connected() const {
    return current_ && current_->is_open();
}

void FakeMattermost::drop() {
    if (current_) current_->abort();
}

void FakeMattermost::forget_connections() {
    connection_id_.clear();
    next_seq_ = 0;
    dead_queue_.clear();
}

void FakeMattermost::send_raw(const std::string& frame) {
    if (connected()) current_->send(frame);
}

void FakeMattermost::resend(const std::string& frame) {
    send_raw(frame);
}

std::string FakeMattermost::publish(const std::string& event, json data, json broadcast) {
    return publish_text(event, data.dump(), broadcast);
}

std::string FakeMattermost::publish_text(const std::string& event, const std::string& data,
                                         const json& broadcast) {
    // The precomputed path of the real server writes exactly this key order.
    std::string frame = "{\"event\": " + json(event).dump() + ", \"data\": " + data +
                        ", \"broadcast\": " + broadcast.dump() + ", \"seq\": ";
    if (connection_id_.empty()) return frame + "0}";  // nobody has ever connected: lost
    const std::int64_t seq = next_seq_++;
    frame += std::to_string(seq) + "}";
    dead_queue_.emplace_back(seq, frame);
    if (dead_queue_.size() > k_dead_queue_size) dead_queue_.pop_front();
    send_raw(frame);
    return frame;
}

void FakeMattermost::publish_post_event(const std::string& event, const json& post,
                                        const json& extra) {
    const std::string channel_id = post.value("channel_id", std::string());
    const auto it = channels.find(channel_id);
    json data = extra;
    data["post"] =
        for_client(post).dump();  // a JSON string inside the JSON, as the server sends it
    if (event == "posted") {
        data["channel_display_name"] = it != channels.end() ? it->second.display_name : "";
        data["channel_name"] = it != channels.end() ? it->second.name : "";
        data["channel_type"] = it != channels.end() ? it->second.type : "O";
        data["sender_name"] = "@" + users[post.value("user_id", std::string())];
        data["set_online"] = true;
        data["team_id"] = team_id;
    }
    json broadcast{{"omit_users", nullptr}, {"user_id", ""},       {"channel_id", channel_id},
                   {"team_id", ""},         {"connection_id", ""}, {"omit_connection_id", ""}};
    publish(event, data, broadcast);
}

json FakeMattermost::new_post(const std::string& channel_id, const std::string& user_id,
                              const std::string& message, const std::string& root_id,
                              std::int64_t at) {
    const std::int64_t when = stamp(at);
    const std::string id = mm_id("post", next_id_++);
    return json{{"id", id},
                {"create_at", when},
                {"update_at", when},
                {"edit_at", 0},
                {"delete_at", 0},
                {"is_pinned", false},
                {"user_id", user_id},
                {"channel_id", channel_id},
                {"root_id", root_id},
                {"original_id", ""},
                {"message", message},
                {"type", ""},
                {"props", {{"disable_group_highlight", true}}},
                {"hashtags", ""},
                {"pending_post_id", user_id + ":" + std::to_string(when)},
                {"reply_count", 0},
                {"metadata", json::object()}};
}

json FakeMattermost::post_message(const std::string& channel_id, const std::string& user_id,
                                  const std::string& message, const std::string& root_id,
                                  std::int64_t at) {
    json post = new_post(channel_id, user_id, message, root_id, at);
    posts[post["id"].get<std::string>()] = post;
    publish_post_event("posted", post, json::object());
    return post;
}

std::string FakeMattermost::upload_file(const std::string& user_id, const std::string& name,
                                        const std::string& mime_type, std::string content,
                                        std::int64_t claimed_size) {
    const std::string id = mm_id("file", next_id_++);
    const auto dot = name.rfind('.');
    const std::int64_t size =
        claimed_size >= 0 ? claimed_size : static_cast<std::int64_t>(content.size());
    json info{{"id", id},
              {"user_id", user_id},
              {"post_id", ""},
              {"channel_id", ""},
              {"create_at", clock},
              {"update_at", clock},
              {"delete_at", 0},
              {"name", name},
              {"extension", dot == std::string::npos ? "" : name.substr(dot + 1)},
              {"size", size},
              {"mime_type", mime_type},
              {"width", 0},
              {"height", 0},
              {"has_preview_image", false},
              {"mini_preview", nullptr},
              {"remote_id", ""},
              {"archived", false}};
    files[id] = StoredFile{std::move(info), std::move(content)};
    return id;
}

json FakeMattermost::post_files(const std::string& channel_id, const std::string& user_id,
                                const std::string& message, const std::vector<std::string>& ids,
                                bool metadata) {
    json post = new_post(channel_id, user_id, message, {}, 0);
    const std::string id = post["id"];
    json infos = json::array();
    for (const auto& file : ids) {
        json& info = files.at(file).info;
        info["post_id"] = id;
        info["channel_id"] = channel_id;
        infos.push_back(info);
    }
    post["file_ids"] = ids;
    if (metadata) post["metadata"]["files"] = infos;
    posts[id] = post;
    publish_post_event("posted", post, json::object());
    return post;
}

void FakeMattermost::deliver_post(const json& post) {
    posts[post.value("id", std::string())] = post;
    publish_post_event("posted", post, json::object());
}

void FakeMattermost::edit_post(const std::string& post_id, const std::string& message,
                               std::int64_t at) {
    json& post = posts.at(post_id);
    const std::int64_t when = stamp(at);
    post["message"] = message;
    post["edit_at"] = when;
    post["update_at"] = when;
    publish_post_event("post_edited", post, json::object());
}

std::string FakeMattermost::pin_post(const std::string& post_id, bool pinned, std::int64_t at) {
    json& post = posts.at(post_id);
    post["is_pinned"] = pinned;
    post["update_at"] = stamp(at);
    const std::string channel_id = post.value("channel_id", std::string());
    json broadcast{{"omit_users", nullptr}, {"user_id", ""},       {"channel_id", channel_id},
                   {"team_id", ""},         {"connection_id", ""}, {"omit_connection_id", ""}};
    return publish("post_edited", json{{"post", post.dump()}}, broadcast);
}

std::string FakeMattermost::set_props(const std::string& post_id, const json& props,
                                      std::int64_t at) {
    json& post = posts.at(post_id);
    post["props"].update(props);
    post["update_at"] = stamp(at);
    const std::string channel_id = post.value("channel_id", std::string());
    json broadcast{{"omit_users", nullptr}, {"user_id", ""},       {"channel_id", channel_id},
                   {"team_id", ""},         {"connection_id", ""}, {"omit_connection_id", ""}};
    return publish("post_edited", json{{"post", post.dump()}}, broadcast);
}

void FakeMattermost::delete_post(const std::string& post_id, std::int64_t at) {
    json& post = posts.at(post_id);
    const std::int64_t when = stamp(at);
    post["delete_at"] = when;
    post["update_at"] = when;
    publish_post_event("post_deleted", post, json{{"delete_by", post.value("user_id", "")}});
}

void FakeMattermost::react(bool added, const std::string& post_id, const std::string& user_id,
                           const std::string& emoji, std::int64_t at) {
    json& post = posts.at(post_id);
    // A removal carries create_at 0, as in the real server's captures.
    const std::int64_t when = added ? stamp(at) : 0;
    // The server's reaction store moves the post's update_at and has_reactions with each
    // reaction (saveReactionAndUpdatePost, updatePostForReactionsOnDelete), so `since`
    // returns a reacted post too.
    int& count = reaction_counts_[post_id];
    count = std::max(0, count + (added ? 1 : -1));
    post["update_at"] = added ? when : stamp(at);
    post["has_reactions"] = count > 0;
    const json reaction{
        {"user_id", user_id}, {"post_id", post_id}, {"emoji_name", emoji}, {"create_at", when}};
    json data{{"reaction", reaction.dump()}};
    json broadcast{{"omit_users", nullptr},
                   {"user_id", ""},
                   {"channel_id", post.value("channel_id", "")},
                   {"team_id", ""}};
    publish(added ? "reaction_added" : "reaction_removed", data, broadcast);
}

asio::awaitable<void> FakeMattermost::session(net::WebSocketSession s) {
    ++connections;
    socket_targets.push_back(s.request().url);
    const auto first = co_await s.read();
    if (!first) co_return;
    const json challenge = json::parse(*first, nullptr, false);
    received.push_back(challenge);
    const std::string accepted = socket_token.empty() ? token : socket_token;
    if (!challenge.is_object() || challenge.value("action", "") != "authentication_challenge" ||
        !challenge.contains("data") || !challenge["data"].is_object() ||
        challenge["data"].value("token", "") != accepted) {
        s.abort();  // the real server closes the socket; there is no FAIL reply
        co_return;
    }
    const auto requested_id = s.request().query_param("connection_id").value_or("");
    const auto requested_seq = s.request().query_param("sequence_number");
    bool resumed = false;
    if (!requested_id.empty() && requested_id == connection_id_) {
        std::int64_t seq = -1;
        if (!requested_seq) {
            s.abort();  // "sequence number not present in websocket request"
            co_return;
        }
        std::from_chars(requested_seq->data(), requested_seq->data() + requested_seq->size(), seq);
        const bool in_queue =
            seq == next_seq_ ||
            (!dead_queue_.empty() && seq >= dead_queue_.front().first && seq < next_seq_);
        resumed = seq >= 0 && in_queue;
    }
    current_ = s;
    s.send(json{{"status", "OK"}, {"seq_reply", challenge.value("seq", 0)}}.dump());
    if (resumed) {
        ++replays;
        const std::int64_t from = std::stoll(*requested_seq);
        for (const auto& [seq, frame] : dead_queue_) {
            if (seq >= from) s.send(frame);
        }
    } else {
        connection_id_ = mm_id("conn", connections);
        next_seq_ = 0;
        dead_queue_.clear();
        ++hellos;
        const json hello{
            {"event", "hello"},
            {"data",
             {{"server_version", "9.11.0.fake.0.false"}, {"connection_id", connection_id_}}},
            {"broadcast",
             {{"omit_users", nullptr},
              {"user_id", bot_user_id},
              {"channel_id", ""},
              {"team_id", ""}}},
            {"seq", next_seq_++}};
        s.send(hello.dump());
    }
    if (hang_next_) {
        hang_next_ = false;
        // Without a pending read nothing answers the client's pings.
        while (s.is_open()) co_await net::testing::sleep_for(std::chrono::milliseconds(20));
        co_return;
    }
    while (auto frame = co_await s.read()) {
        const json request = json::parse(*frame, nullptr, false);
        received.push_back(request);
        if (request.is_object() && request.contains("seq")) {
            s.send(json{{"status", "OK"}, {"seq_reply", request["seq"]}}.dump());
        }
    }
}

FakeMattermost::Channel* FakeMattermost::channel_by_name(const std::string& team,
                                                         const std::string& name) {
    for (auto& [id, c] : channels) {
        if (c.team_id == team && c.name == name) return &c;
    }
    return nullptr;
}

json FakeMattermost::channel_json(const Channel& c) const {
    return json{{"id", c.id},
                {"team_id", c.team_id},
                {"name", c.name},
                {"display_name", c.display_name},
                {"header", c.header},
                {"type", c.type},
                {"create_at", clock},
                {"delete_at", 0},
                {"creator_id", c.creator_id}};
}

std::string FakeMattermost::command_body(const std::string& channel_id, const std::string& user_id,
                                         const std::string& text,
                                         const std::string& command_token) {
    const auto it = channels.find(channel_id);
    const std::string trigger_id = mm_id("trigger", next_id_++);
    // The keys in the order Go's url.Values.Encode writes them: sorted.
    net::FormFields fields{{"channel_id", channel_id},
                           {"channel_name", it != channels.end() ? it->second.name : ""},
                           {"command", "/incident"},
                           {"response_url", url() + "/hooks/commands/" + mm_id("hook")},
                           {"team_domain", team_name},
                           {"team_id", team_id},
                           {"text", text},
                           {"token", command_token},
                           {"trigger_id", trigger_id},
                           {"user_id", user_id},
                           {"user_name", users[user_id]}};
    std::string body = net::encode_form(fields);
    // url.Values encodes spaces as '+'.
    std::string out;
    for (std::size_t i = 0; i < body.size(); ++i) {
        if (body.compare(i, 3, "%20") == 0) {
            out += '+';
            i += 2;
        } else {
            out += body[i];
        }
    }
    return out;
}

asio::awaitable<json> FakeMattermost::run_command(const std::string& channel_id,
                                                  const std::string& user_id,
                                                  const std::string& text) {
    const json* command = nullptr;
    for (const auto& c : commands) {
        if (c.value("trigger", "") == "incident") command = &c;
    }
    if (!command) throw std::runtime_error("fake mattermost: /incident is not registered");
    const std::string command_token = command->value("token", "");
    const std::string target = command->value("url", "");
    net::HttpRequest request;
    request.method = "POST";
    request.url = target;
    request.headers.set("Content-Type", "application/x-www-form-urlencoded");
    request.headers.set("Accept", "application/json");
    request.headers.set("Authorization", "Token " + command_token);
    request.body = command_body(channel_id, user_id, text, command_token);
    const net::HttpResponse response = co_await client_.request(std::move(request));
    if (response.status != 200) {
        json failed = json::object();
        failed["error"] = response.status;
        failed["body"] = response.body;
        co_return failed;
    }
    json answer = json::parse(response.body, nullptr, false);
    if (answer.is_object() && answer.value("response_type", "") == "in_channel") {
        // The server posts it as the command's creator, marked as coming from a webhook.
        const std::int64_t when = stamp(0);
        const std::string id = mm_id("post", next_id_++);
        json post{{"id", id},
                  {"create_at", when},
                  {"update_at", when},
                  {"edit_at", 0},
                  {"delete_at", 0},
                  {"user_id", command->value("creator_id", "")},
                  {"channel_id", channel_id},
                  {"root_id", ""},
                  {"message", answer.value("text", "")},
                  {"type", ""},
                  {"props", {{"from_webhook", "true"}}}};
        posts[id] = post;
        publish_post_event("posted", post, json::object());
    }
    co_return answer;
}

net::HttpResponse FakeMattermost::api(const net::HttpRequest& request) {
    const std::string path(request.path());
    if (!path.starts_with("/api/v4/")) return error(404, "api.context.404.app_error", "not found");
    const std::string route = path.substr(8);
    std::string full = route;
    if (!request.query().empty()) full += "?" + std::string(request.query());
    const json body = request.body.empty() ? json() : json::parse(request.body, nullptr, false);
    const std::string auth = request.headers.get("Authorization").value_or("");
    // A request without a body (POST posts/{id}/pin) is recorded with an empty one.
    calls.push_back(Call{request.method, full, body.is_null() ? json::object() : body, auth});

    const auto seg = split_path(route);
    const std::string key = rate_limit_key(request);
    if (auto it = server_errors.find(key); it != server_errors.end() && it->second > 0) {
        --it->second;
        return error(500, "app.fake.internal", "internal server error");
    }
    if (auto it = forbidden.find(key); it != forbidden.end() && it->second > 0) {
        --it->second;
        return error(403, "api.context.permissions.app_error",
                     "You do not have the appropriate permissions.");
    }
    if (auto it = rate_limit.find(key); it != rate_limit.end() && it->second > 0) {
        --it->second;
        net::HttpResponse r = net::HttpResponse::text(429, "limit exceeded\n");
        r.headers.set("X-RateLimit-Limit", "10");
        r.headers.set("X-RateLimit-Remaining", "0");
        r.headers.set("X-RateLimit-Reset", std::to_string(retry_after_seconds));
        if (!rate_limit_with_reset_header) {
            r.headers.set("Retry-After", std::to_string(retry_after_seconds));
        }
        return r;
    }
    if (auth != "Bearer " + token) {
        return error(401, "api.context.session_expired.app_error",
                     "Invalid or expired session, please login again.");
    }
    const std::string& m = request.method;
    const auto n = seg.size();

    if (m == "GET" && (n == 2 || n == 3) && seg[0] == "files") {
        const auto it = files.find(seg[1]);
        if (it == files.end()) return error(404, "app.file_info.get.app_error", "file not found");
        if (n == 3) {
            if (seg[2] != "info") return error(404, "api.context.404.app_error", "not found");
            return reply(200, it->second.info);
        }
        if (auto e = file_errors.find(seg[1]); e != file_errors.end() && e->second > 0) {
            --e->second;
            return error(500, "app.fake.internal", "internal server error");
        }
        net::HttpResponse r;
        r.status = 200;
        r.body = it->second.content;
        r.headers.set("Content-Type",
                      it->second.info.value("mime_type", "application/octet-stream"));
        r.headers.set("Content-Disposition",
                      "attachment;filename=\"" + it->second.info.value("name", "file") + "\"");
        return r;
    }

    if (m == "GET" && n == 2 && seg[0] == "users" && seg[1] == "me") {
        return reply(200, json{{"id", bot_user_id},
                               {"username", users[bot_user_id]},
                               {"is_bot", true},
                               {"roles", bot_roles}});
    }
    if (m == "GET" && n == 4 && seg[0] == "teams" && seg[2] == "members") {
        if (seg[1] != team_id || seg[3] != bot_user_id) {
            return error(404, "app.team.get_member.missing.app_error", "member not found");
        }
        return reply(
            200, json{{"team_id", team_id}, {"user_id", bot_user_id}, {"roles", bot_team_roles}});
    }
    if (m == "POST" && n == 2 && seg[0] == "roles" && seg[1] == "names") {
        if (!body.is_array()) {
            return error(400, "api.context.invalid_body_param.app_error", "bad body");
        }
        json roles = json::array();
        for (const auto& name : body) {
            const auto it = role_permissions.find(name.get<std::string>());
            if (it == role_permissions.end()) continue;
            roles.push_back(json{{"name", it->first}, {"permissions", it->second}});
        }
        return reply(200, roles);
    }
    if (m == "GET" && n == 3 && seg[0] == "users" && seg[1] == "me" && seg[2] == "teams") {
        return reply(200, json::array({{{"id", team_id}, {"name", team_name}}}));
    }
    if (m == "GET" && n == 3 && seg[0] == "users" && seg[1] == "username") {
        for (const auto& [id, name] : users) {
            if (name == seg[2]) return reply(200, json{{"id", id}, {"username", name}});
        }
        return error(404, "app.user.missing_account.const", "user not found");
    }
    if (m == "GET" && n == 2 && seg[0] == "users") {
        const auto it = users.find(seg[1]);
        if (it == users.end())
            return error(404, "app.user.missing_account.const", "user not found");
        return reply(200, json{{"id", it->first}, {"username", it->second}});
    }
    if (m == "GET" && n == 3 && seg[0] == "teams" && seg[1] == "name") {
        if (seg[2] != team_name)
            return error(404, "app.team.get_by_name.missing.app_error", "team not found");
        return reply(200, json{{"id", team_id}, {"name", team_name}});
    }
    if (m == "GET" && n == 2 && seg[0] == "teams") {
        if (seg[1] != team_id) return error(404, "app.team.get.find.app_error", "team not found");
        return reply(200, json{{"id", team_id}, {"name", team_name}});
    }
    if (m == "GET" && n == 5 && seg[0] == "teams" && seg[2] == "channels" && seg[3] == "name") {
        const Channel* c = channel_by_name(seg[1], seg[4]);
        if (!c) return error(404, "app.channel.get_by_name.missing.app_error", "channel not found");
        return reply(200, channel_json(*c));
    }
    if (m == "POST" && n == 1 && seg[0] == "channels") {
        if (!body.is_object())
            return error(400, "api.context.invalid_body_param.app_error", "bad body");
        const std::string name = body.value("name", ""), team = body.value("team_id", "");
        if (team != team_id)
            return error(403, "api.context.permissions.app_error", "no permission");
        if (!valid_channel_name(name)) {
            return error(400, "model.channel.is_valid.name.app_error", "Invalid name.");
        }
        if (taken_names.count(name) || channel_by_name(team, name)) {
            return error(400, "store.sql_channel.save_channel.exists.app_error",
                         "A channel with that name already exists on the same team.");
        }
        const std::string id = mm_id("chan", next_id_++);
        channels[id] = Channel{id,
                               team,
                               name,
                               body.value("display_name", ""),
                               body.value("header", ""),
                               body.value("type", "O"),
                               {bot_user_id},
                               bot_user_id};
        return reply(201, channel_json(channels[id]));
    }
    if (m == "POST" && n == 2 && seg[0] == "channels" && seg[1] == "direct") {
        if (!body.is_array() || body.size() != 2) {
            return error(400, "api.context.invalid_body_param.app_error", "two user ids expected");
        }
        std::vector<std::string> ids{body[0].get<std::string>(), body[1].get<std::string>()};
        // Ids only: a username ("bob") is no user here, as on a real server.
        for (const auto& id : ids) {
            if (!users.count(id)) {
                return error(400, "api.context.invalid_body_param.app_error",
                             "Invalid user id: " + id);
            }
        }
        std::sort(ids.begin(), ids.end());
        const std::string name = ids[0] + "__" + ids[1];
        for (const auto& [id, c] : channels) {
            if (c.name == name) return reply(201, channel_json(c));
        }
        const std::string id = mm_id("dm", next_id_++);
        channels[id] = Channel{id, "", name, "", "", "D", {ids[0], ids[1]}};
        return reply(201, channel_json(channels[id]));
    }
    if (n >= 2 && seg[0] == "channels") {
        const auto it = channels.find(seg[1]);
        if (it == channels.end())
            return error(404, "app.channel.get.existing.app_error", "channel not found");
        Channel& c = it->second;
        if (m == "POST" && n == 3 && seg[2] == "members") {
            const std::string user = body.is_object() ? body.value("user_id", "") : "";
            if (!users.count(user))
                return error(400, "api.context.invalid_body_param.app_error", "bad user_id");
            c.members.insert(user);
            return reply(201, json{{"channel_id", c.id}, {"user_id", user}});
        }
        if (m == "PUT" && n == 3 && seg[2] == "patch") {
            if (body.is_object() && body.contains("header")) c.header = body.value("header", "");
            return reply(200, channel_json(c));
        }
        if (m == "GET" && n == 3 && seg[2] == "posts") {
            // api/v4/source/posts.yaml, GetPostsForChannel: `since` gives every post modified
            // after it (deleted ones too, which is how deletions are seen); otherwise a page
            // (`page`, `per_page`: default 60, at most 200) of the live posts, newest first.
            // Both answer a PostList
            // (tests/protocol/mattermost/fixtures/channel_posts.api-docs.json).
            const auto since_text = request.query_param("since");
            std::vector<const json*> chosen;
            for (const auto& [id, post] : posts) {
                if (post.value("channel_id", "") != c.id) continue;
                if (since_text) {
                    if (post.value("update_at", std::int64_t{0}) <= std::stoll(*since_text))
                        continue;
                } else if (post.value("delete_at", std::int64_t{0}) != 0) {
                    continue;
                }
                chosen.push_back(&post);
            }
            std::sort(chosen.begin(), chosen.end(), [](const json* a, const json* b) {
                return a->value("create_at", std::int64_t{0}) >
                       b->value("create_at", std::int64_t{0});
            });
            bool has_next = false;
            if (!since_text) {
                const std::size_t per_page = std::min<std::size_t>(
                    200, std::stoul(request.query_param("per_page").value_or("60")));
                const std::size_t page = std::stoul(request.query_param("page").value_or("0"));
                const std::size_t from = std::min(chosen.size(), page * per_page);
                const std::size_t to = std::min(chosen.size(), from + per_page);
                has_next = to < chosen.size();
                chosen = std::vector<const json*>(chosen.begin() + from, chosen.begin() + to);
            }
            json order = json::array(), found = json::object();
            for (const json* post : chosen) {
                const std::string id = post->value("id", "");
                order.push_back(id);
                found[id] = for_client(*post);
            }
            return reply(200, json{{"order", order},
                                   {"posts", found},
                                   {"next_post_id", ""},
                                   {"prev_post_id", ""},
                                   {"has_next", has_next}});
        }
    }
    if (n == 3 && seg[0] == "posts") {
        // api.mattermost.com: PUT /posts/{post_id}/patch (only the fields given change; a new
        // message sets edit_at) and POST /posts/{post_id}/pin, /unpin ({"status": "OK"}).
        // Each publishes post_edited with the post as it is now.
        const auto it = posts.find(seg[1]);
        if (it == posts.end()) return error(404, "app.post.get.app_error", "post not found");
        json& post = it->second;
        const bool own = post.value("user_id", "") == bot_user_id;
        if (m == "PUT" && seg[2] == "patch") {
            if (!own) {
                return error(403, "api.context.permissions.app_error",
                             "You do not have the appropriate permissions.");
            }
            const std::int64_t when = stamp(0);
            if (body.is_object() && body.contains("message") &&
                body["message"] != post["message"]) {
                post["message"] = body["message"];
                post["edit_at"] = when;
            }
            if (body.is_object() && body.contains("is_pinned"))
                post["is_pinned"] = body["is_pinned"];
            // PostPatch.Props replaces the props as a whole.
            if (body.is_object() && body.contains("props")) {
                if (const auto problem = attachments_problem(body["props"])) {
                    return error(400, "api.post.patch.invalid_props", *problem);
                }
                post["props"] = body["props"];
            }
            post["update_at"] = when;
            publish_post_event("post_edited", post, json::object());
            return reply(200, post);
        }
        if (m == "POST" && (seg[2] == "pin" || seg[2] == "unpin")) {
            post["is_pinned"] = seg[2] == "pin";
            post["update_at"] = stamp(0);
            publish_post_event("post_edited", post, json::object());
            return reply(200, json{{"status", "OK"}});
        }
    }
    if (m == "POST" && n == 1 && seg[0] == "posts") {
        const std::string channel = body.is_object() ? body.value("channel_id", "") : "";
        const auto it = channels.find(channel);
        if (it == channels.end())
            return error(400, "api.context.invalid_body_param.app_error", "bad channel_id");
        if (!it->second.members.count(bot_user_id)) {
            return error(403, "api.context.permissions.app_error",
                         "You do not have the appropriate permissions.");
        }
        json props = body.contains("props") ? body["props"] : json::object();
        if (!props.is_object())
            return error(400, "api.context.invalid_body_param.app_error", "bad props");
        if (const auto problem = attachments_problem(props)) {
            return error(400, "api.post.create_post.attachments.app_error", *problem);
        }
        props["from_bot"] = "true";
        const std::int64_t when = stamp(0);
        const std::string id = mm_id("post", next_id_++);
        json post{{"id", id},
                  {"create_at", when},
                  {"update_at", when},
                  {"edit_at", 0},
                  {"delete_at", 0},
                  {"user_id", bot_user_id},
                  {"channel_id", channel},
                  {"root_id", body.value("root_id", "")},
                  {"message", body.value("message", "")},
                  {"type", ""},
                  {"props", props}};
        posts[id] = post;
        // The bot sees its own posts on the WebSocket too.
        publish_post_event("posted", post, json::object());
        return reply(201, post);
    }
    if (m == "POST" && n == 3 && seg[0] == "actions" && seg[1] == "dialogs" && seg[2] == "open") {
        // OpenInteractiveDialog: the trigger id must be one the server made, not expired; the
        // request and its dialog must be valid (OpenDialogRequest.IsValid).
        if (const auto problem = dialog_problem(body)) {
            dialog_refusals.push_back(*problem);
            return error(400, "interactive_message.decode_trigger_id.app_error", *problem);
        }
        dialogs.push_back(body);
        dialog_channels_.push_back(triggers_.at(body.value("trigger_id", "")).channel_id);
        return reply(200, json{{"status", "OK"}});
    }
    if (m == "GET" && n == 1 && seg[0] == "commands") {
        if (commands_forbidden) {
            return error(403, "api.context.permissions.app_error",
                         "You do not have the appropriate permissions.");
        }
        if (request.query_param("team_id").value_or("") != team_id) {
            return error(400, "api.command.invalid_team", "bad team_id");
        }
        return reply(200, json(commands));
    }
    if (m == "POST" && n == 1 && seg[0] == "commands") {
        if (commands_forbidden) {
            return error(403, "api.context.permissions.app_error",
                         "You do not have the appropriate permissions.");
        }
        if (!body.is_object() || body.value("team_id", "") != team_id ||
            body.value("trigger", "").empty() || body.value("url", "").empty() ||
            (body.value("method", "") != "P" && body.value("method", "") != "G")) {
            return error(400, "model.command.is_valid.app_error", "Invalid command.");
        }
        for (const auto& c : commands) {
            if (c.value("trigger", "") == body.value("trigger", "")) {
                return error(400, "api.command.duplicate_trigger.app_error",
                             "This trigger word is already in use.");
            }
        }
        json command = body;
        command["id"] = mm_id("cmd", next_id_++);
        command["token"] = mm_id("cmdtoken", next_id_++);
        command["creator_id"] = bot_user_id;
        commands.push_back(command);
        return reply(201, command);
    }
    return error(404, "api.context.404.app_error", "Sorry, we could not find the page.");
}

std::optional<std::string> FakeMattermost::dialog_problem(const json& request) const {
    if (!request.is_object()) return "the body is not an object";
    const std::string trigger = request.value("trigger_id", "");
    if (trigger.empty()) return "empty trigger id";
    const auto issued = triggers_.find(trigger);
    if (issued == triggers_.end()) return "trigger id not made by this server";
    if (std::chrono::steady_clock::now() - issued->second.issued > trigger_timeout) {
        return "trigger id expired";
    }
    if (request.value("url", "").empty()) return "empty URL";
    if (!request.contains("dialog") || !request["dialog"].is_object()) return "no dialog";
    const json& d = request["dialog"];
    const std::string title = d.value("title", "");
    if (title.empty() || title.size() > 24) return "invalid dialog title `" + title + "`";
    if (!d.contains("elements")) return std::nullopt;
    if (!d["elements"].is_array()) return "elements is not an array";
    std::set<std::string> names;
    const std::set<std::string> subtypes{"", "text", "email", "number", "tel", "url", "password"};
    for (const auto& e : d["elements"]) {
        if (!e.is_object()) return "an element is not an object";
        const std::string name = e.value("name", ""), label = e.value("display_name", "");
        if (!names.insert(name).second) return "duplicate dialog element `" + name + "`";
        if (name.empty() || name.size() > 300) return "bad element name `" + name + "`";
        if (label.empty() || label.size() > 24) return "bad display_name `" + label + "`";
        if (e.value("help_text", "").size() > 150) return "help_text of `" + name + "` too long";
        const int min = e.value("min_length", 0), max = e.value("max_length", 0);
        if (min < 0 || (e.contains("min_length") && min > max)) {
            return "bad lengths of `" + name + "`";
        }
        const std::string type = e.value("type", "");
        const std::string def = e.value("default", "");
        if (type == "text" || type == "textarea") {
            if (!subtypes.count(e.value("subtype", ""))) return "invalid subtype of `" + name + "`";
            if (def.size() > (type == "text" ? 150u : 3000u)) return "default too long";
        } else if (type == "select") {
            const std::string source = e.value("data_source", "");
            if (source != "" && source != "users" && source != "channels") {
                return "invalid data source of `" + name + "`";
            }
            if (source.empty()) {
                if (!e.contains("options") || !e["options"].is_array() || e["options"].empty()) {
                    return "select `" + name + "` has no options";
                }
                bool found = def.empty();
                for (const auto& o : e["options"]) {
                    if (!o.is_object() || o.value("text", "").empty() ||
                        o.value("value", "").empty()) {
                        return "bad option of `" + name + "`";
                    }
                    found = found || o.value("value", "") == def;
                }
                if (!found) return "default of `" + name + "` is not one of its options";
            }
        } else if (type != "bool" && type != "radio") {
            return "invalid element type `" + type + "`";
        }
    }
    return std::nullopt;
}

asio::awaitable<FakeMattermost::ActionAnswer> FakeMattermost::send_json(const std::string& target,
                                                                        const json& body) {
    net::HttpRequest request;
    request.method = "POST";
    request.url = target;
    request.headers.set("Content-Type", "application/json");
    request.headers.set("Accept", "application/json");
    request.body = body.dump();
    const net::HttpResponse response = co_await client_.request(std::move(request));
    ActionAnswer answer;
    answer.status = response.status;
    answer.body = json::parse(response.body, nullptr, false);
    if (answer.body.is_discarded()) answer.body = nullptr;
    co_return answer;
}

asio::awaitable<FakeMattermost::ActionAnswer> FakeMattermost::click(const std::string& post_id,
                                                                    const std::string& action_id,
                                                                    const std::string& user_id) {
    const json& post = posts.at(post_id);
    json integration;
    if (post.contains("props") && post["props"].contains("attachments")) {
        for (const auto& a : post["props"]["attachments"]) {
            if (!a.contains("actions")) continue;
            for (const auto& candidate : a["actions"]) {
                if (candidate.value("id", "") == action_id) integration = candidate["integration"];
            }
        }
    }
    // api.post.do_action.action_id.app_error: the client gets a 404, nothing is sent.
    if (!integration.is_object()) co_return ActionAnswer{404, nullptr, ""};
    co_return co_await post_action(integration.value("url", ""), post_id, user_id,
                                   integration.value("context", json::object()));
}

asio::awaitable<FakeMattermost::ActionAnswer> FakeMattermost::post_action(
    const std::string& target, const std::string& post_id, const std::string& user_id,
    const json& context) {
    const json& post = posts.at(post_id);
    const std::string channel_id = post.value("channel_id", "");
    const auto channel = channels.find(channel_id);
    const std::string trigger_id = mm_id("trigger", next_id_++);
    triggers_[trigger_id] = Trigger{user_id, channel_id, std::chrono::steady_clock::now()};
    // PostActionIntegrationRequest, in its field order.
    json request = json::object();
    request["user_id"] = user_id;
    request["user_name"] = users[user_id];
    request["channel_id"] = channel_id;
    request["channel_name"] = channel != channels.end() ? channel->second.name : "";
    request["team_id"] = team_id;
    request["team_domain"] = team_name;
    request["post_id"] = post_id;
    request["trigger_id"] = trigger_id;
    request["type"] = "button";
    request["data_source"] = "";
    // The server keeps the context as Go values: numbers come back as JSON numbers.
    if (!context.is_null()) request["context"] = context;
    ActionAnswer answer = co_await send_json(target, request);
    answer.trigger_id = trigger_id;
    co_return answer;
}

asio::awaitable<FakeMattermost::ActionAnswer> FakeMattermost::submit_dialog(
    std::size_t index, const std::string& user_id, const json& submission,
    std::optional<std::string> state, bool cancelled) {
    const json& opened = dialogs.at(index);
    const json& dialog = opened["dialog"];
    json request = json::object();
    request["type"] = "dialog_submission";
    request["callback_id"] = dialog.value("callback_id", "");
    request["state"] = state ? *state : dialog.value("state", "");
    request["user_id"] = user_id;
    // A dialog the test put there itself was opened from nowhere.
    request["channel_id"] = index < dialog_channels_.size() ? dialog_channels_[index] : "";
    request["team_id"] = team_id;
    request["submission"] = cancelled ? json::object() : submission;
    request["cancelled"] = cancelled;
    co_return co_await send_json(opened.value("url", ""), request);
}

}  // namespace incident::testing

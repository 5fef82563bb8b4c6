#include "fake_slack.hpp"

#include <algorithm>

#include <boost/asio/use_awaitable.hpp>

#include "adapters/net/form.hpp"
#include "bot/text.hpp"
#include "run_async.hpp"

namespace incident::testing {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

// A plain_text text object of at most `max` characters, or why not.
std::optional<std::string> check_text(const json& text, std::size_t max, const std::string& at) {
    if (!text.is_object() || text.value("type", "") != "plain_text" || !text.contains("text") ||
        !text["text"].is_string()) {
        return "must be a plain_text object [json-pointer:" + at + "]";
    }
    const std::string value = text["text"].get<std::string>();
    if (value.empty()) return "must not be empty [json-pointer:" + at + "/text]";
    if (utf8_length(value) > max) {
        return "must be at most " + std::to_string(max) + " characters [json-pointer:" + at +
               "/text]";
    }
    return std::nullopt;
}

std::optional<std::string> check_string(const json& parent, const char* key, std::size_t max,
                                        const std::string& at) {
    if (!parent.contains(key)) return std::nullopt;
    if (!parent[key].is_string()) return "must be a string [json-pointer:" + at + "/" + key + "]";
    if (utf8_length(parent[key].get<std::string>()) > max) {
        return "must be at most " + std::to_string(max) + " characters [json-pointer:" + at + "/" +
               key + "]";
    }
    return std::nullopt;
}

// The elements incident-bot's modals use (docs.slack.dev/reference/block-kit/block-elements).
std::optional<std::string> check_element(const json& e, const std::string& at) {
    if (!e.is_object()) return "must be an object [json-pointer:" + at + "]";
    if (auto why = check_string(e, "action_id", 255, at)) return why;
    const std::string type = e.value("type", "");
    if (e.contains("placeholder")) {
        if (auto why = check_text(e["placeholder"], 150, at + "/placeholder")) return why;
    }
    if (type == "plain_text_input") {
        std::size_t max = 3000;
        if (e.contains("max_length")) {
            if (!e["max_length"].is_number_unsigned() || e["max_length"].get<std::size_t>() < 1 ||
                e["max_length"].get<std::size_t>() > 3000) {
                return "must be 1 to 3000 [json-pointer:" + at + "/max_length]";
            }
            max = e["max_length"].get<std::size_t>();
        }
        if (e.contains("multiline") && !e["multiline"].is_boolean()) {
            return "must be a boolean [json-pointer:" + at + "/multiline]";
        }
        return check_string(e, "initial_value", max, at);
    }
    if (type == "static_select") {
        const json options = e.value("options", json());
        if (!options.is_array() || options.empty() || options.size() > 100) {
            return "must have 1 to 100 options [json-pointer:" + at + "/options]";
        }
        for (std::size_t i = 0; i < options.size(); ++i) {
            const std::string o = at + "/options/" + std::to_string(i);
            if (!options[i].is_object()) return "must be an object [json-pointer:" + o + "]";
            if (auto why = check_text(options[i].value("text", json()), 75, o + "/text"))
                return why;
            if (!options[i].contains("value")) return "is required [json-pointer:" + o + "/value]";
            if (auto why = check_string(options[i], "value", 150, o)) return why;
        }
        if (e.contains("initial_option") &&
            std::find(options.begin(), options.end(), e["initial_option"]) == options.end()) {
            return "must be one of the options [json-pointer:" + at + "/initial_option]";
        }
        return std::nullopt;
    }
    if (type == "users_select") return check_string(e, "initial_user", 255, at);
    if (type == "datepicker") {
        if (e.contains("initial_date") && (!e["initial_date"].is_string() ||
                                           !is_valid_date(e["initial_date"].get<std::string>()))) {
            return "must be YYYY-MM-DD [json-pointer:" + at + "/initial_date]";
        }
        return std::nullopt;
    }
    return "unsupported element type `" + type + "` [json-pointer:" + at + "/type]";
}

// A modal view object within the documented limits (docs.slack.dev/reference/views/modal-views,
// reference/block-kit/blocks/input-block).
std::optional<std::string> check_modal(const json& view) {
    if (!view.is_object()) return "view must be a JSON object [json-pointer:/view]";
    if (view.value("type", "") != "modal") return "must be modal [json-pointer:/view/type]";
    if (auto why = check_text(view.value("title", json()), 24, "/view/title")) return why;
    const json blocks = view.value("blocks", json());
    if (!blocks.is_array() || blocks.size() > 100) {
        return "must be an array of at most 100 blocks [json-pointer:/view/blocks]";
    }
    if (auto why = check_string(view, "callback_id", 255, "/view")) return why;
    if (auto why = check_string(view, "private_metadata", 3000, "/view")) return why;
    if (view.contains("close")) {
        if (auto why = check_text(view["close"], 24, "/view/close")) return why;
    }
    bool inputs = false;
    std::set<std::string> ids;
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        const std::string at = "/view/blocks/" + std::to_string(i);
        const json& b = blocks[i];
        if (!b.is_object() || b.value("type", "") != "input") {
            return "only input blocks are modelled [json-pointer:" + at + "]";
        }
        inputs = true;
        if (auto why = check_string(b, "block_id", 255, at)) return why;
        if (b.contains("block_id") && !ids.insert(b["block_id"].get<std::string>()).second) {
            return "block_id must be unique [json-pointer:" + at + "/block_id]";
        }
        if (auto why = check_text(b.value("label", json()), 2000, at + "/label")) return why;
        if (b.contains("hint")) {
            if (auto why = check_text(b["hint"], 2000, at + "/hint")) return why;
        }
        if (b.contains("optional") && !b["optional"].is_boolean()) {
            return "must be a boolean [json-pointer:" + at + "/optional]";
        }
        if (auto why = check_element(b.value("element", json()), at + "/element")) return why;
    }
    // "submit is required when an input block is within the blocks array."
    if (inputs && !view.contains("submit")) return "is required [json-pointer:/view/submit]";
    if (view.contains("submit")) {
        if (auto why = check_text(view["submit"], 24, "/view/submit")) return why;
    }
    return std::nullopt;
}

}  // namespace

FakeSlack::FakeSlack(asio::any_io_executor executor, std::optional<net::TlsContext> tls)
    : server_(
          executor,
          [this](net::HttpRequest request) -> asio::awaitable<net::HttpResponse> {
              const std::string path(request.path());
              const std::string method = path.substr(std::min<std::size_t>(5, path.size()));
              if (const auto hold = holds.find(method); hold != holds.end() && hold->second > 0) {
                  --hold->second;
                  ++held_calls;
                  const int before = releases_;
                  co_await net::testing::wait_until([this, before] { return releases_ > before; },
                                                    std::chrono::minutes(5));
                  --held_calls;
                  co_return api(request);
              }
              if (const auto lost = lost_answers.find(method);
                  lost != lost_answers.end() && lost->second > 0) {
                  --lost->second;
                  ++lost_calls;
                  api(request);
                  co_return net::no_answer();
              }
              const auto stall = stalls.find(method);
              if (stall != stalls.end() && stall->second > 0) {
                  --stall->second;
                  ++stalled_calls;
                  co_await net::testing::sleep_for(stall_for);
                  co_return net::HttpResponse::text(504, "gateway timeout\n");
              }
              co_return api(request);
          },
          // Slack queues whatever it has to deliver; the benchmark's burst is 5,000 envelopes.
          [&] {
              net::HttpServerOptions options;
              options.tls = tls;
              options.websocket.max_queued_messages = 65536;
              return options;
          }()),
      scheme_(tls ? "https" : "http") {
    server_.add_websocket_route("/link/", [this](net::WebSocketSession s) { return session(s); });
    const auto status = server_.listen("127.0.0.1:0");
    if (!status.ok()) throw std::runtime_error("fake slack: " + status.message);
}

std::string FakeSlack::trigger() {
    const std::string id = std::to_string(next_trigger_++) + ".1800000000.fake";
    triggers_[id] = std::chrono::steady_clock::now();
    return id;
}

void FakeSlack::release_held() {
    ++releases_;
}

std::string FakeSlack::api_url() const {
    return scheme_ + "://127.0.0.1:" + std::to_string(server_.port()) + "/api/";
}

std::vector<FakeSlack::Call> FakeSlack::calls_of(const std::string& method) const {
    std::vector<Call> out;
    for (const auto& c : calls) {
        if (c.method == method) out.push_back(c);
    }
    return out;
}

bool FakeSlack::is_member(const std::string& channel) const {
    return member_of.count(channel) > 0;
}

std::vector<json> FakeSlack::posted_in(const std::string& channel) const {
    std::vector<json> out;
    for (const auto& c : calls) {
        if (c.method == "chat.postMessage" && c.args.value("channel", std::string()) == channel) {
            out.push_back(c.args);
        }
    }
    return out;
}

std::vector<json> FakeSlack::messages_in(const std::string& channel) const {
    std::vector<json> out;
    for (const auto& [ts, message] : messages) {
        if (message.value("channel", std::string()) == channel) out.push_back(message);
    }
    return out;
}

bool FakeSlack::connected() const {
    return current_ && current_->is_open();
}

void FakeSlack::deliver(const json& envelope) {
    deliver(envelope.value("envelope_id", std::string()), envelope.dump());
}

void FakeSlack::deliver(const std::string& envelope_id, std::string frame) {
    pending_ids_[envelope_id] = next_seq_;
    if (spread_over_connections) {
        if (const int number = next_connection()) {
            open_.at(number).send(frame);
            sent_on_[next_seq_] = number;
        }
    } else if (connected()) {
        current_->send(frame);
    }
    pending_[next_seq_++] = std::move(frame);
}

std::size_t FakeSlack::open_connections() const {
    std::size_t n = 0;
    for (const auto& [number, session] : open_) n += session.is_open();
    return n;
}

std::size_t FakeSlack::unacked_on(int number) const {
    std::size_t n = 0;
    for (const auto& [seq, on] : sent_on_) n += on == number;
    return n;
}

int FakeSlack::next_connection() {
    if (open_.empty()) return 0;
    auto it = open_.upper_bound(last_picked_);
    if (it == open_.end()) it = open_.begin();
    last_picked_ = it->first;
    return it->first;
}

void FakeSlack::redeliver(std::uint64_t seq, int number) {
    std::string& frame = pending_.at(seq);
    // A frame that is no JSON (a test's poison envelope) comes again as it was.
    json envelope = json::parse(frame, nullptr, false);
    if (envelope.is_object()) {
        envelope["retry_attempt"] = envelope.value("retry_attempt", 0) + 1;
        envelope["retry_reason"] = "timeout";
        frame = envelope.dump();
    }
    open_.at(number).send(frame);
    sent_on_[seq] = number;
}

void FakeSlack::send_raw(const std::string& frame) {
    if (connected()) current_->send(frame);
}

void FakeSlack::request_refresh() {
    send_raw(R"({"type":"disconnect","reason":"refresh_requested","debug_info":{"host":"fake"}})");
}

void FakeSlack::drop() {
    if (current_) current_->abort();
}

asio::awaitable<void> FakeSlack::session(net::WebSocketSession s) {
    const int number = ++connections;
    current_ = s;
    if (spread_over_connections) {
        open_.emplace(number, s);
        const json hello{{"type", "hello"},
                         {"num_connections", open_.size()},
                         {"debug_info", {{"host", "fake"}}},
                         {"connection_info", {{"app_id", "A111"}}}};
        s.send(hello.dump());
        // What waits for a connection: sent while none was open, or its connection closed.
        for (const auto& [seq, frame] : pending_) {
            if (sent_on_.find(seq) == sent_on_.end()) redeliver(seq, number);
        }
    } else {
        s.send(
            R"({"type":"hello","num_connections":1,"debug_info":{"host":"fake","approximate_connection_time":18060},"connection_info":{"app_id":"A111"}})");
        // Slack redelivers what was never acked, counting the attempts.
        for (auto& [seq, frame] : pending_) {
            // A frame that is no JSON (a test's poison envelope) comes again as it was.
            json envelope = json::parse(frame, nullptr, false);
            if (envelope.is_object()) {
                envelope["retry_attempt"] = envelope.value("retry_attempt", 0) + 1;
                envelope["retry_reason"] = "timeout";
                frame = envelope.dump();
            }
            s.send(frame);
        }
    }
    if (stall_next_) {
        stall_next_ = false;
        const int stalled = connections;
        while (s.is_open() && connections == stalled) {
            co_await net::testing::sleep_for(std::chrono::milliseconds(20));
        }
        s.abort();
        co_return;
    }
    while (auto frame = co_await s.read()) {
        ++ack_count;
        const json ack = json::parse(*frame, nullptr, false);
        if (keep_acks) acks.push_back(ack);
        if (!ack.is_object()) continue;
        const std::string id = ack.value("envelope_id", std::string());
        if (const auto it = pending_ids_.find(id); it != pending_ids_.end()) {
            pending_.erase(it->second);
            sent_on_.erase(it->second);
            pending_ids_.erase(it);
        }
        acked_on.emplace(id, number);
        if (on_ack) on_ack(id);
    }
    ++finished_connections;
    if (!spread_over_connections) co_return;
    // Gone: what it had not acked goes to the other connections, in turn.
    open_.erase(number);
    std::vector<std::uint64_t> orphans;
    for (const auto& [seq, on] : sent_on_) {
        if (on == number) orphans.push_back(seq);
    }
    for (const std::uint64_t seq : orphans) {
        sent_on_.erase(seq);
        if (const int other = next_connection()) {
            redeliver(seq, other);
            ++moved_to_another_connection;
        }
    }
}

std::string FakeSlack::host_file(const std::string& id, const std::string& name,
                                 std::string content, std::string content_type,
                                 const std::string& user) {
    // Slack's shape: /files-pri/<team>-<file id>/<name>, and .../download/<name>.
    const std::string base = scheme_ + "://127.0.0.1:" + std::to_string(server_.port());
    const std::string view_path = "/files-pri/T111-" + id + "/" + net::percent_encode(name);
    const std::string path = "/files-pri/T111-" + id + "/download/" + net::percent_encode(name);
    const std::int64_t created = std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
    const auto dot = name.rfind('.');
    const std::string filetype = dot == std::string::npos ? "binary" : name.substr(dot + 1);
    // The fields of the documented file object that a hosted, uploaded file has (the thumb_*
    // and image fields are only for images Slack has rendered).
    file_objects[id] = json{{"id", id},
                            {"created", created},
                            {"timestamp", created},
                            {"name", name},
                            {"title", name},
                            {"mimetype", content_type},
                            {"filetype", filetype},
                            {"pretty_type", filetype},
                            {"user", user},
                            {"editable", false},
                            {"size", content.size()},
                            {"mode", "hosted"},
                            {"is_external", false},
                            {"external_type", ""},
                            {"is_public", true},
                            {"public_url_shared", false},
                            {"display_as_bot", false},
                            {"username", ""},
                            {"url_private", base + view_path},
                            {"url_private_download", base + path},
                            {"permalink", base + "/files/" + user + "/" + id + "/" + name},
                            {"permalink_public", base + "/T111-" + id},
                            {"comments_count", 0},
                            {"is_starred", false},
                            {"shares", json::object()},
                            {"channels", json::array()},
                            {"groups", json::array()},
                            {"ims", json::array()},
                            {"has_rich_preview", false}};
    hosted_files[view_path] = HostedFile{content, content_type};
    hosted_files[path] = HostedFile{std::move(content), std::move(content_type)};
    return base + path;
}

net::HttpResponse FakeSlack::file(const net::HttpRequest& request) {
    const std::string path(request.path());
    const std::string auth = request.headers.get("Authorization").value_or("");
    const auto answer = [&](net::HttpResponse r) {
        file_requests.push_back(FileRequest{path, auth, r.status});
        return r;
    };
    if (request.method != "GET") return answer(net::HttpResponse::text(405, "GET only\n"));
    if (auth != "Bearer " + bot_token) {
        return answer(net::HttpResponse::text(403, "a private file needs the bot token\n"));
    }
    if (auto it = file_errors.find(path); it != file_errors.end() && it->second > 0) {
        --it->second;
        return answer(net::HttpResponse::text(500, "internal server error\n"));
    }
    const auto it = hosted_files.find(path);
    if (it == hosted_files.end()) return answer(net::HttpResponse::text(404, "file_not_found\n"));
    net::HttpResponse r;
    r.status = 200;
    r.body = it->second.content;
    r.headers.set("Content-Type", it->second.content_type);
    return answer(std::move(r));
}

net::HttpResponse FakeSlack::api(const net::HttpRequest& request) {
    const std::string path(request.path());
    if (path.starts_with("/files-pri/")) return file(request);
    if (!path.starts_with("/api/")) return net::HttpResponse::text(404, "not found");
    const std::string method = path.substr(5);
    json args = json::object();
    if (request.headers.get("Content-Type").value_or("").starts_with("application/json")) {
        args = json::parse(request.body, nullptr, false);
    } else if (const auto form = net::parse_form(request.body)) {
        for (const auto& [k, v] : *form) args[k] = v;
    }
    const std::string auth = request.headers.get("Authorization").value_or("");
    calls.push_back(Call{method, args, auth});

    if (auto it = server_errors.find(method); it != server_errors.end() && it->second > 0) {
        --it->second;
        return net::HttpResponse::text(500, "internal server error\n");
    }
    if (auto it = rate_limit.find(method); it != rate_limit.end() && it->second > 0) {
        --it->second;
        net::HttpResponse r = net::HttpResponse::json(429, R"({"ok":false,"error":"ratelimited"})");
        r.headers.set("Retry-After", std::to_string(retry_after_seconds));
        return r;
    }
    const auto reply = [](json body) { return net::HttpResponse::json(200, body.dump()); };
    const auto error = [&](const char* e) { return reply({{"ok", false}, {"error", e}}); };
    const std::string& token = method == "apps.connections.open" ? app_token : bot_token;
    if (auth != "Bearer " + token) return error("invalid_auth");

    const std::string channel = args.value("channel", std::string());
    bool is_im = false;
    for (const auto& [user, im] : ims) is_im |= im == channel;
    // A user ID is not a channel: a DM goes to the IM id that conversations.open returned.
    const bool known_channel = channel_names.count(channel) || is_im;
    if (method == "apps.connections.open") {
        const std::string ws = scheme_ == "https" ? "wss" : "ws";
        const std::uint16_t port = socket_port ? socket_port : server_.port();
        return reply({{"ok", true},
                      {"url", ws + "://127.0.0.1:" + std::to_string(port) +
                                  "/link/?ticket=" + std::to_string(connections + 1)}});
    }
    if (method == "conversations.create") {
        const std::string name = args.value("name", std::string());
        if (name.empty()) return error("invalid_name_required");
        if (taken_names.count(name)) return error("name_taken");
        for (const char c : name) {
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
                return error("invalid_name_specials");
            }
        }
        taken_names.insert(name);
        const std::string id = "C" + std::to_string(1000 + next_channel_++);
        channel_names[id] = name;
        const std::int64_t created = std::chrono::duration_cast<std::chrono::seconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count();
        channel_creators[id] = {"UBOT", created};
        member_of.insert(id);
        return reply({{"ok", true},
                      {"channel",
                       {{"id", id},
                        {"name", name},
                        {"is_member", true},
                        {"creator", "UBOT"},
                        {"created", created}}}});
    }
    if (method == "conversations.list") {
        json channels = json::array();
        for (const auto& [id, name] : channel_names) {
            // `types` public_channel, `exclude_archived` true: all the bot asks for.
            if (private_channels.count(id) || archived.count(id)) continue;
            json channel{{"id", id}, {"name", name}, {"is_member", is_member(id)}};
            if (const auto it = channel_creators.find(id); it != channel_creators.end()) {
                channel["creator"] = it->second.first;
                channel["created"] = it->second.second;
            }
            channels.push_back(channel);
        }
        return reply(
            {{"ok", true}, {"channels", channels}, {"response_metadata", {{"next_cursor", ""}}}});
    }
    if (method == "users.info") {
        const std::string user = args.value("user", std::string());
        const auto it = user_names.find(user);
        if (it == user_names.end()) return error("user_not_found");
        return reply(
            {{"ok", true},
             {"user",
              {{"id", user}, {"name", it->second}, {"profile", {{"display_name", it->second}}}}}});
    }
    if (method == "users.list") {
        // tests/protocol/slack/fixtures/web_users_list_ok.docs.json: pages of `members` in id
        // order, `limit` of them (all without one), the next page's `cursor` in
        // `response_metadata.next_cursor` ("" on the last).
        const std::string limit_arg = args.value("limit", std::string());
        const std::size_t limit = limit_arg.empty() ? user_names.size() : std::stoul(limit_arg);
        const std::string cursor = args.value("cursor", std::string());
        std::size_t from = 0;
        if (!cursor.empty()) {
            if (!cursor.starts_with("page:")) return error("invalid_cursor");
            from = std::stoul(cursor.substr(5));
        }
        json members = json::array();
        std::size_t i = 0;
        for (const auto& [id, name] : user_names) {
            if (i++ < from || members.size() >= limit) continue;
            members.push_back(
                {{"id", id},
                 {"team_id", "T0001"},
                 {"name", name},
                 {"deleted", false},
                 {"real_name", name},
                 {"profile",
                  {{"real_name", name}, {"display_name", name}, {"display_name_normalized", name}}},
                 {"is_bot", false}});
        }
        const std::size_t next = from + members.size();
        return reply(
            {{"ok", true},
             {"members", members},
             {"cache_ts", 1498777272},
             {"response_metadata",
              {{"next_cursor", next < user_names.size() ? "page:" + std::to_string(next) : ""}}}});
    }
    if (method == "conversations.open") {
        // docs.slack.dev/reference/methods/conversations.open: `users` (comma-separated IDs; one
        // for a 1:1 DM) opens the IM or resumes the one already open, always the same id.
        const std::string users = args.value("users", std::string());
        if (users.empty()) {
            // `channel` instead resumes an IM that is already open.
            if (is_im) {
                return reply({{"ok", true},
                              {"no_op", true},
                              {"already_open", true},
                              {"channel", {{"id", channel}}}});
            }
            return error(channel.empty() ? "users_list_not_supplied" : "channel_not_found");
        }
        if (users.find(',') != std::string::npos) return error("fake_slack_mpim_not_modelled");
        if (!user_names.count(users)) return error("user_not_found");
        if (const auto it = ims.find(users); it != ims.end()) {
            return reply({{"ok", true},
                          {"no_op", true},
                          {"already_open", true},
                          {"channel", {{"id", it->second}}}});
        }
        const std::string id = "D" + std::to_string(1000 + next_channel_++);
        ims[users] = id;
        return reply({{"ok", true}, {"channel", {{"id", id}}}});
    }
    if ((method == "conversations.invite" || method == "conversations.setTopic" ||
         method == "conversations.join") &&
        is_im) {
        return error("method_not_supported_for_channel_type");
    }
    if (method == "conversations.join") {
        // docs: slack-ruby/slack-api-ref methods/conversations/conversations.join.json (see
        // tests/protocol/slack/README.md), its two examples as fixtures.
        if (!scopes.count("channels:join")) return error("missing_scope");
        if (!known_channel) return error("channel_not_found");
        if (archived.count(channel)) return error("is_archived");
        if (private_channels.count(channel)) return error("method_not_supported_for_channel_type");
        json answer = {{"ok", true},
                       {"channel",
                        {{"id", channel},
                         {"name", channel_names[channel]},
                         {"is_channel", true},
                         {"is_archived", false},
                         {"is_member", true},
                         {"is_private", false}}}};
        if (!member_of.insert(channel).second) {
            answer["warning"] = "already_in_channel";
            answer["response_metadata"] = {{"warnings", json::array({"already_in_channel"})}};
        }
        return reply(answer);
    }
    if (method == "conversations.invite" || method == "conversations.setTopic" ||
        method == "chat.postEphemeral") {
        if (!known_channel) return error("channel_not_found");
        return reply({{"ok", true}});
    }
    if (method == "chat.postMessage") {
        if (!known_channel) return error("channel_not_found");
        if (!is_im && archived.count(channel)) return error("is_archived");
        if (!is_im && !is_member(channel)) {
            if (private_channels.count(channel)) return error("channel_not_found");
            if (!scopes.count("chat:write.public")) return error("not_in_channel");
        }
        json message = args;
        if (args.contains("metadata")) {
            json metadata = args["metadata"];
            // A JSON-encoded string in a form body, an object in a JSON body.
            if (metadata.is_string()) {
                metadata = json::parse(metadata.get<std::string>(), nullptr, false);
            }
            if (!metadata.is_object()) return error("invalid_metadata_format");
            const auto type = metadata.find("event_type");
            const auto payload = metadata.find("event_payload");
            if (type == metadata.end() || !type->is_string() || type->get<std::string>().empty() ||
                payload == metadata.end() || !payload->is_object()) {
                return error("invalid_metadata_schema");
            }
            message["metadata"] = metadata;
        }
        const std::string ts = "1800000000." + std::to_string(100000 + next_ts_++);
        message["ts"] = ts;
        // As the bot's messages read back: its user, bot and app.
        message["type"] = "message";
        message["user"] = "UBOT";
        message["bot_id"] = "B111";
        message["app_id"] = "A111";
        messages[ts] = message;
        return reply({{"ok", true}, {"channel", channel}, {"ts", ts}, {"message", message}});
    }
    if (method == "conversations.history") {
        if (!scopes.count(is_im ? "im:history" : "channels:history")) return error("missing_scope");
        if (!known_channel) return error("channel_not_found");
        const auto flag = [&](const char* key) {
            const json v = args.value(key, json());
            return v == true || v == "true" || v == "1" || v == 1;
        };
        const auto number = [&](const char* key, double otherwise) {
            const json v = args.value(key, json());
            if (v.is_number()) return v.get<double>();
            if (v.is_string() && !v.get<std::string>().empty()) {
                return std::stod(v.get<std::string>());
            }
            return otherwise;
        };
        const double oldest = number("oldest", 0);
        const double limit = number("limit", 100);
        if (limit < 1 || limit > 999) return error("invalid_limit");
        // The cursor is the ts of the next message to serve, as the docs' "next_ts:..." ones.
        const std::string cursor = args.value("cursor", std::string());
        std::vector<json> newest_first = messages_in(channel);
        std::reverse(newest_first.begin(), newest_first.end());
        json page = json::array();
        std::string next_cursor;
        for (const json& message : newest_first) {
            const std::string ts = message.value("ts", std::string());
            if (!cursor.empty() && ts > cursor.substr(cursor.find(':') + 1)) continue;
            if (std::stod(ts) <= oldest) break;
            if (page.size() == static_cast<std::size_t>(limit)) {
                next_cursor = "next_ts:" + ts;
                break;
            }
            json shown = message;
            shown.erase("channel");
            if (!flag("include_all_metadata")) shown.erase("metadata");
            page.push_back(shown);
        }
        return reply({{"ok", true},
                      {"messages", page},
                      {"has_more", !next_cursor.empty()},
                      {"pin_count", std::count_if(pinned.begin(), pinned.end(),
                                                  [&](const std::string& p) {
                                                      return p.starts_with(channel + "/");
                                                  })},
                      {"response_metadata", {{"next_cursor", next_cursor}}}});
    }
    if (method == "chat.update") {
        if (!known_channel) return error("channel_not_found");
        const std::string ts = args.value("ts", std::string());
        const auto it = messages.find(ts);
        if (it == messages.end() || it->second.value("channel", std::string()) != channel) {
            return error("message_not_found");
        }
        if (args.contains("text")) it->second["text"] = args["text"];
        if (args.contains("blocks")) it->second["blocks"] = args["blocks"];
        return reply({{"ok", true},
                      {"channel", channel},
                      {"ts", ts},
                      {"text", it->second.value("text", std::string())},
                      {"message", it->second}});
    }
    // docs.slack.dev/reference/methods/files.info: the file object by `file`, scope files:read.
    if (method == "files.info") {
        if (!scopes.count("files:read")) return error("missing_scope");
        const auto it = file_objects.find(args.value("file", std::string()));
        if (it == file_objects.end()) return error("file_not_found");
        // Comments are paginated: there are none, so no next page either.
        return reply({{"ok", true},
                      {"file", it->second},
                      {"comments", json::array()},
                      {"response_metadata", {{"next_cursor", ""}}}});
    }
    if (method == "pins.add") {
        if (!scopes.count("pins:write")) return error("missing_scope");
        if (!known_channel) return error("channel_not_found");
        const std::string ts = args.value("timestamp", std::string());
        const auto it = messages.find(ts);
        if (it == messages.end() || it->second.value("channel", std::string()) != channel) {
            return error("message_not_found");
        }
        if (!pinned.insert(channel + "/" + ts).second) return error("already_pinned");
        return reply({{"ok", true}});
    }
    if (method == "views.open") {
        const auto invalid = [&](const std::string& why) {
            refused_views.push_back(why);
            return reply({{"ok", false},
                          {"error", "invalid_arguments"},
                          {"response_metadata", {{"messages", json::array({why})}}}});
        };
        const std::string trigger = args.value("trigger_id", std::string());
        const auto issued = triggers_.find(trigger);
        if (issued == triggers_.end()) return invalid("invalid `trigger_id`");
        const bool expired = std::chrono::steady_clock::now() - issued->second > trigger_lifetime;
        triggers_.erase(issued);  // exchanged: once
        if (expired) return error("expired_trigger_id");
        json view = args.contains("view") ? args["view"] : json();
        // A JSON-encoded string in a form body, an object in a JSON body.
        if (view.is_string()) view = json::parse(view.get<std::string>(), nullptr, false);
        if (const auto why = check_modal(view)) return invalid("[ERROR] " + *why);
        const std::string id = "V" + std::to_string(1000 + next_view_++);
        view["id"] = id;
        view["team_id"] = "T111";
        view["state"] = {{"values", json::object()}};
        view["hash"] = "1800000000." + id;
        view["root_view_id"] = id;
        view["previous_view_id"] = nullptr;
        view["app_id"] = "A111";
        view["bot_id"] = "B111";
        if (!view.contains("private_metadata")) view["private_metadata"] = "";
        if (!view.contains("callback_id")) view["callback_id"] = "";
        views[id] = view;
        return reply({{"ok", true}, {"view", view}});
    }
    if (method == "auth.test") {
        net::HttpResponse r =
            reply({{"ok", true}, {"user_id", "UBOT"}, {"user", "incident-bot"}, {"team", "fake"}});
        std::string granted;
        for (const auto& scope : scopes) granted += (granted.empty() ? "" : ",") + scope;
        if (send_scopes_header) r.headers.set("x-oauth-scopes", granted);
        return r;
    }
    return error("unknown_method");
}

}  // namespace incident::testing

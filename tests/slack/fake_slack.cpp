#include "fake_slack.hpp"

#include <algorithm>

#include <boost/asio/use_awaitable.hpp>

#include "adapters/net/form.hpp"
#include "run_async.hpp"

namespace incident::testing {

namespace asio = boost::asio;
using nlohmann::json;

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

std::vector<json> FakeSlack::posted_in(const std::string& channel) const {
    std::vector<json> out;
    for (const auto& c : calls) {
        if (c.method == "chat.postMessage" && c.args.value("channel", std::string()) == channel) {
            out.push_back(c.args);
        }
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
    if (connected()) current_->send(frame);
    pending_[next_seq_++] = std::move(frame);
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
            pending_ids_.erase(it);
        }
        acked_on.emplace(id, number);
        if (on_ack) on_ack(id);
    }
}

net::HttpResponse FakeSlack::api(const net::HttpRequest& request) {
    const std::string path(request.path());
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
            json channel{{"id", id}, {"name", name}, {"is_member", false}};
            if (const auto it = channel_creators.find(id); it != channel_creators.end()) {
                channel["creator"] = it->second.first;
                channel["created"] = it->second.second;
                channel["is_member"] = it->second.first == "UBOT";
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
    if (method == "conversations.invite" || method == "conversations.setTopic" ||
        method == "conversations.join" || method == "chat.postEphemeral") {
        if (!known_channel) return error("channel_not_found");
        return reply({{"ok", true}});
    }
    if (method == "chat.postMessage") {
        if (!known_channel) return error("channel_not_found");
        const std::string ts = "1800000000." + std::to_string(100000 + next_ts_++);
        json message = args;
        message["ts"] = ts;
        messages[ts] = message;
        return reply({{"ok", true}, {"channel", channel}, {"ts", ts}, {"message", message}});
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

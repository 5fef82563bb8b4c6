#include "adapters/mattermost/mattermost_adapter.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "adapters/net/digest.hpp"
#include "adapters/net/file_download.hpp"
#include "adapters/net/form.hpp"
#include "adapters/net/log_stopped.hpp"
#include "adapters/net/shutdown.hpp"
#include "adapters/net/websocket_client.hpp"
#include "bot/announcement.hpp"

namespace incident::mattermost {

namespace asio = boost::asio;
using nlohmann::json;
using std::chrono::milliseconds;

struct MattermostAdapter::Connection {
    explicit Connection(const asio::any_io_executor& executor) : retry_timer(executor) {}
    // Shared: drain() closes it while the connection loop may let go of it.
    std::shared_ptr<net::WebSocketClient> socket;
    asio::steady_timer retry_timer;
};

namespace {

// REST arguments and awaited values are built as named locals: GCC 12 miscompiles braced
// initializer lists and conditional temporaries inside co_await / co_return expressions.

constexpr std::int64_t k_auth_seq = 1;
constexpr std::size_t k_display_name_runes = 64;
constexpr std::size_t k_header_runes = 1024;
constexpr std::size_t k_post_runes = 16'000;  // the server's limit is 16383
// A REST re-sync starts this long before the newest entry stored: clocks and commits race.
constexpr Timestamp k_resync_margin_ms = 60'000;
// A burst from the socket is stored in one transaction (one fsync) of at most this many.
constexpr std::size_t k_max_batch = 512;
// How many of a channel's newest posts are read for a post whose answer was lost: the most
// the server gives in one page.
constexpr int k_marker_lookback = 200;
// A marked post found is the entry's only when made after it was written (clocks differ).
constexpr Timestamp k_marker_clock_margin_ms = 60'000;

json reply_payload(const Reply& reply) {
    json out = json::object();
    out["response_type"] =
        reply.visibility == Reply::Visibility::in_channel ? "in_channel" : "ephemeral";
    out["text"] = markdown_from_mrkdwn(reply.text);
    return out;
}

net::HttpResponse text_response(int status, std::string text) {
    return net::HttpResponse::text(status, std::move(text));
}

bool looks_like_id(const std::string& text) {
    if (text.size() != 26) return false;
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); });
}

bool name_exists(const ApiResult& r) {
    return r.status == 400 && (r.error_id.find("exists") != std::string::npos ||
                               r.error.find("already exists") != std::string::npos);
}

// Why a call failed, as the outbox keeps it: no answer, a 5xx or a 429 (after the REST
// client's own retries) is tried again later; any other refusal (403, 404, a bad request)
// stays as it is until someone retries it.
net::Delivery failure_of(const ApiResult& r, std::string_view what) {
    std::string error = std::string(what) + ": " + r.describe();
    if (r.status == 0 || r.status >= 500 || r.status == 429) {
        return net::Delivery::retry(std::move(error));
    }
    return net::Delivery::fail(std::move(error));
}

// What the live summary shows, as live_messages keeps it: the text and the props (buttons),
// so a post from before the buttons gets them with its next refresh.
std::string rendering_of(const std::string& text, const json& props) {
    return text + "\n" + props.dump();
}

net::Delivery delivered_or(const ApiResult& r, std::string_view what) {
    return r.ok ? net::Delivery::done() : failure_of(r, what);
}

// Why registering /incident failed, and what the admin can do about it.
std::string explain_command_failure(const std::string& what, const ApiResult& r) {
    std::string out = what + " (" + r.describe() + ")";
    if (r.status == 403) {
        out +=
            ": the bot account lacks the manage_slash_commands permission; give it that "
            "permission (or the team admin role), or create the command by hand and set "
            "MATTERMOST_COMMAND_TOKEN";
    } else if (r.status == 501) {
        out +=
            ": custom slash commands are disabled on the server (System Console > "
            "Integrations > Integration Management > Enable Custom Slash Commands)";
    } else if (r.error_id.find("duplicate_trigger") != std::string::npos) {
        out += ": the trigger `incident` is taken by a built-in command or another integration";
    } else if (r.status == 401) {
        out += ": MATTERMOST_TOKEN was rejected";
    }
    return out;
}

}  // namespace

std::string websocket_endpoint(const std::string& url) {
    std::string base = trim_base_url(url);
    if (base.starts_with("https://")) {
        base = "wss://" + base.substr(8);
    } else if (base.starts_with("http://")) {
        base = "ws://" + base.substr(7);
    } else {
        return {};
    }
    return base + "/api/v4/websocket";
}

MattermostAdapter::MattermostAdapter(asio::any_io_executor executor, net::TlsContext tls,
                                     IncidentService& service, commands::CommandRouter& router,
                                     Outbox& outbox, MattermostOptions options,
                                     net::PlatformObserver* observer)
    : executor_(executor),
      tls_(tls),
      service_(service),
      router_(router),
      options_(std::move(options)),
      observer_(observer),
      http_(executor, tls, net::HttpClientOptions{options_.api_timeout}),
      api_(executor, http_, options_.url, options_.token, observer),
      signer_(options_.action_secret.empty() ? options_.token : options_.action_secret),
      outbox_(outbox),
      outbox_worker_(
          executor, outbox, std::string(k_platform),
          [this](OutboxEntry& entry) { return deliver_entry(entry); }, options_.outbox, observer),
      command_token_(options_.command_token),
      connection_(std::make_shared<Connection>(executor)) {
    waker_ = outbox_.add_chat_sink(std::string(k_platform), [this] { outbox_worker_.wake(); });
    outbox_worker_.on_failed(
        [this](const OutboxEntry& entry) { net::fail_pending_file(service_, entry); });
}

MattermostAdapter::~MattermostAdapter() {
    outbox_.forget_waker(k_platform, waker_);
    stop();
}

void MattermostAdapter::start() {
    outbox_worker_.start();
    asio::co_spawn(executor_, run_socket(), net::LogStopped{"mattermost: websocket loop"});
}

void MattermostAdapter::stop() {
    if (stopping_.exchange(true)) return;
    connection_->retry_timer.cancel();
    if (connection_->socket) connection_->socket->abort();
    outbox_worker_.stop();
}

asio::awaitable<void> MattermostAdapter::drain(std::chrono::steady_clock::time_point deadline) {
    draining_ = true;
    connection_->retry_timer.cancel();
    std::function<bool()> event_done = [this] { return !in_event_; };
    co_await net::poll_until(executor_, deadline, std::move(event_done));
    if (auto socket = connection_->socket; socket && socket->is_open()) {
        spdlog::info("mattermost websocket: closing the connection (shutting down)");
        co_await net::close_for_shutdown(executor_, socket, deadline);
    }
    co_await outbox_worker_.drain(deadline);
}

json MattermostAdapter::health() const {
    json h = json::object();
    h["platform"] = "mattermost";
    h["ok"] = connected_.load();
    h["connected"] = connected_.load();
    h["reconnects"] = reconnects_;
    h["pending_effects"] = pending_effects();
    h["bot_user_id"] = bot_user_id_;
    h["team_id"] = team_id_;
    h["resumable"] = !connection_id_.empty();
    h["next_sequence"] = next_seq_;
    h["command"] = command_status_;
    h["command_token"] = command_token_.empty() ? "not set" : "set";
    if (!last_error_.empty()) h["last_error"] = last_error_;
    return h;
}

std::string MattermostAdapter::websocket_url() const {
    std::string url = websocket_endpoint(options_.url);
    if (url.empty() || connection_id_.empty()) return url;
    // The server replays from its dead queue, starting at the next seq we expect.
    return url + "?connection_id=" + net::percent_encode(connection_id_) +
           "&sequence_number=" + std::to_string(next_seq_);
}

// ---- start-up: who am I, which team, the /incident command ----

asio::awaitable<bool> MattermostAdapter::sign_in() {
    if (bot_user_id_.empty()) {
        const ApiResult me = co_await api_.get_me();
        if (!me.ok || !me.body.is_object() || me.body.value("id", std::string()).empty()) {
            if (me.status == 401) {
                last_error_ = "MATTERMOST_TOKEN was rejected: HTTP 401 from /api/v4/users/me (" +
                              me.error + "); check the bot account's access token";
            } else {
                last_error_ = "cannot sign in: /api/v4/users/me: " + me.describe();
            }
            spdlog::error("mattermost: {}", last_error_);
            co_return false;
        }
        bot_user_id_ = me.body.value("id", std::string());
        bot_username_ = me.body.value("username", std::string());
        spdlog::info("mattermost: signed in as @{} (user id {})", bot_username_, bot_user_id_);
    }
    co_await ensure_team();
    if (options_.register_command && !command_checked_) co_await register_command();
    co_return true;
}

asio::awaitable<std::string> MattermostAdapter::ensure_team() {
    if (!team_id_.empty()) co_return team_id_;
    ApiResult r;
    if (options_.team.empty()) {
        r = co_await api_.get_my_teams();
        if (r.ok && r.body.is_array() && r.body.size() == 1) {
            team_id_ = r.body[0].value("id", std::string());
            spdlog::info("mattermost: MATTERMOST_TEAM not set; using the bot's only team `{}`",
                         r.body[0].value("name", std::string()));
            co_return team_id_;
        }
        last_error_ =
            "MATTERMOST_TEAM is not set and the bot is not in exactly one team; set it "
            "to the team's name or id";
        spdlog::error("mattermost: {}", last_error_);
        co_return team_id_;
    }
    if (looks_like_id(options_.team)) {
        r = co_await api_.get_team(options_.team);
        if (!r.ok) r = co_await api_.get_team_by_name(options_.team);
    } else {
        r = co_await api_.get_team_by_name(options_.team);
    }
    if (r.ok && r.body.is_object()) {
        team_id_ = r.body.value("id", std::string());
        spdlog::info("mattermost: team `{}` has id {}", options_.team, team_id_);
    } else {
        last_error_ = "team `" + options_.team + "` not found or not visible to the bot (" +
                      r.describe() +
                      "): set MATTERMOST_TEAM to the name or id of a team the "
                      "bot account is a member of";
        spdlog::error("mattermost: {}", last_error_);
    }
    co_return team_id_;
}

asio::awaitable<void> MattermostAdapter::register_command() {
    if (options_.public_url.empty()) {
        command_checked_ = true;
        command_status_ =
            "not registered: INCIDENT_BOT_PUBLIC_URL is not set, so there is no URL "
            "Mattermost could send /incident to; set it, or create the command by "
            "hand and set MATTERMOST_COMMAND_TOKEN";
        spdlog::warn("mattermost: /incident command {}", command_status_);
        co_return;
    }
    const std::string team = co_await ensure_team();
    if (team.empty()) {
        command_status_ = "not registered yet: the team is unknown";
        co_return;
    }
    const std::string url = trim_base_url(options_.public_url) + "/mattermost/command";
    const ApiResult list = co_await api_.list_commands(team);
    if (!list.ok) {
        command_status_ =
            "not registered: " +
            explain_command_failure("GET commands: could not list the team's commands", list);
        spdlog::warn("mattermost: /incident command {}", command_status_);
        command_checked_ = list.status != 0;  // unreachable: try again on the next connect
        co_return;
    }
    command_checked_ = true;
    const json* found = nullptr;
    if (list.body.is_array()) {
        for (const auto& c : list.body) {
            if (c.is_object() && c.value("trigger", std::string()) == "incident") found = &c;
        }
    }
    json created;
    if (found) {
        const std::string existing_url = found->value("url", std::string());
        if (existing_url != url) {
            command_status_ =
                "not registered: an /incident command already exists in this team "
                "and sends to " +
                existing_url + ", not to " + url +
                "; fix or delete it under Integrations > Slash Commands";
            spdlog::warn("mattermost: /incident command {}", command_status_);
            co_return;
        }
        command_status_ = "registered (it already existed)";
        created = *found;
    } else {
        json command = json::object();
        command["team_id"] = team;
        command["trigger"] = "incident";
        command["method"] = "P";
        command["url"] = url;
        command["display_name"] = "Incident";
        command["description"] = "Run an incident from chat: declare, update, resolve, post-mortem";
        command["auto_complete"] = true;
        command["auto_complete_desc"] =
            "declare | status | sev | role | update | note | todo | "
            "resolve | postmortem | info | help";
        command["auto_complete_hint"] = "declare [sev1-5] <title>";
        command["username"] = "incident-bot";
        const ApiResult r = co_await api_.create_command(std::move(command));
        if (!r.ok) {
            command_status_ =
                "not registered: " +
                explain_command_failure("POST commands: could not create /incident", r);
            command_checked_ = r.status != 0;
            spdlog::warn("mattermost: /incident command {}", command_status_);
            co_return;
        }
        command_status_ = "registered";
        created = r.body;
        spdlog::info("mattermost POST commands: registered /incident in team {}, sending to {}",
                     team, url);
    }
    const std::string token = created.is_object() ? created.value("token", std::string()) : "";
    if (command_token_.empty() && !token.empty()) {
        command_token_ = token;
        spdlog::info(
            "mattermost: verifying /mattermost/command with the registered command's "
            "token (set MATTERMOST_COMMAND_TOKEN to pin it)");
    } else if (!token.empty() && !tokens_equal(token, command_token_)) {
        spdlog::warn(
            "mattermost: MATTERMOST_COMMAND_TOKEN differs from the token of the "
            "registered /incident command: its requests will be rejected");
    }
}

// ---- the WebSocket ----

asio::awaitable<void> MattermostAdapter::run_socket() {
    net::Backoff backoff(options_.reconnect);
    auto connection = connection_;
    const std::string endpoint = websocket_endpoint(options_.url);
    while (!stopping_ && !draining_) {
        bool prompt = false;
        try {
            if (endpoint.empty()) {
                last_error_ = "MATTERMOST_URL must start with http:// or https://";
                spdlog::error("mattermost: {}", last_error_);
            } else if (co_await sign_in() && !draining_) {
                const std::string url = websocket_url();
                if (connection_id_.empty()) {
                    spdlog::info("mattermost: connecting to {}", endpoint);
                } else {
                    spdlog::info(
                        "mattermost: connecting to {} (resuming connection {} from "
                        "event {})",
                        endpoint, connection_id_, next_seq_);
                }
                connection->socket =
                    std::make_shared<net::WebSocketClient>(executor_, tls_, options_.websocket);
                net::WebSocketClient& ws = *connection->socket;
                authenticated_ = false;
                const net::NetStatus status = co_await ws.connect(url);
                if (!status.ok()) {
                    last_error_ = "WebSocket connect: " + status.message;
                    spdlog::error("mattermost: {}", last_error_);
                } else {
                    const std::string challenge =
                        authentication_challenge(k_auth_seq, options_.token);
                    ws.send(challenge);
                    After after = After::keep_reading;
                    while (after == After::keep_reading && !stopping_) {
                        // Whatever has arrived meanwhile is one batch: one commit.
                        std::vector<std::string> frames = co_await ws.read_burst(k_max_batch);
                        // Shutting down: what was not taken yet is not stored; the REST
                        // re-read at the next start finds it.
                        if (frames.empty() || draining_) break;
                        in_event_ = true;
                        try {
                            after = co_await handle_frames(std::move(frames), backoff);
                        } catch (...) {
                            in_event_ = false;
                            throw;
                        }
                        in_event_ = false;
                    }
                    prompt = after == After::reconnect_now;
                    if (after == After::keep_reading && !stopping_ && !draining_) {
                        const std::string why = ws.close_status().message;
                        // A silent connection that worked: reconnect (and resume) at once.
                        const bool dead =
                            ws.close_status().kind == net::WebSocketCloseStatus::Kind::dead;
                        prompt = dead && authenticated_;
                        if (!lost_at_) {
                            lost_at_ = std::chrono::steady_clock::now() -
                                       (dead ? ws.silent_for() : milliseconds(0));
                            lost_why_ = why;
                        }
                        if (!authenticated_) {
                            last_error_ =
                                "the server closed the WebSocket without accepting "
                                "authentication_challenge: MATTERMOST_TOKEN is wrong "
                                "or revoked (" +
                                why + ")";
                            spdlog::error("mattermost: {}", last_error_);
                        } else {
                            last_error_ = "WebSocket connection lost: " + why;
                            spdlog::warn("mattermost: {}", last_error_);
                        }
                    }
                    const std::uint16_t code = prompt ? 4001 : 1000;
                    if (ws.is_open()) co_await ws.close(code);
                }
            }
        } catch (const std::exception& e) {
            last_error_ = e.what();
            spdlog::error("mattermost: websocket loop error: {}", e.what());
        }
        connected_ = false;
        authenticated_ = false;
        connection->socket.reset();
        if (stopping_ || draining_) break;
        ++reconnects_;
        if (observer_) observer_->reconnected(k_platform);
        milliseconds delay(0);
        if (!prompt) delay = backoff.next();
        spdlog::info("mattermost: reconnecting in {} ms (attempt {})", delay.count(),
                     backoff.attempts());
        connection->retry_timer.expires_after(delay);
        boost::system::error_code ec;
        co_await connection->retry_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

asio::awaitable<MattermostAdapter::After> MattermostAdapter::handle_frames(
    std::vector<std::string> frames, net::Backoff& backoff) {
    std::size_t next = 0;
    while (next < frames.size()) {
        // Shutting down after a re-read: the rest is not stored, and seq did not pass it.
        if (next > 0 && (stopping_ || draining_)) break;
        const auto started = std::chrono::steady_clock::now();
        Batch batch;
        After after = After::keep_reading;
        // A batch ends early where the connection must go or the channels be re-read: what
        // came before is stored first, what comes after a re-read is handled after it.
        while (next < frames.size() && after == After::keep_reading && !resync_needed_) {
            after = co_await handle_frame(frames[next++], backoff, batch);
        }
        store_batch(batch, started);
        // Frames left over are not stored: seq did not pass them, the server replays them.
        if (after != After::keep_reading) co_return after;
        if (resync_needed_) {
            resync_needed_ = false;
            co_await resync();
        }
    }
    co_return After::keep_reading;
}

void MattermostAdapter::store_batch(Batch& batch, std::chrono::steady_clock::time_point started) {
    std::size_t acked = batch.taken;
    if (!batch.events.empty()) {
        try {
            store_events(batch.events);
            spdlog::debug("mattermost: stored {} events in {:.2f} ms", batch.events.size(),
                          std::chrono::duration<double, std::milli>(
                              std::chrono::steady_clock::now() - started)
                              .count());
        } catch (const std::exception& e) {
            // Nothing of the batch is stored: seq goes back to its first event, so the next
            // event shows a gap and the server replays them all.
            spdlog::error("mattermost: {} events from seq {} not stored: {}", batch.events.size(),
                          batch.seq_before.value_or(-1), e.what());
            if (batch.seq_before) next_seq_ = *batch.seq_before;
            acked = batch.settled;
        }
    }
    if (observer_) {
        const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
        for (std::size_t i = 0; i < acked; ++i) observer_->event_acked(k_platform, took.count());
    }
}

void MattermostAdapter::store_events(const std::vector<ChatEvent>& events) {
    // A refused event is rolled back alone (handle_event runs in a savepoint); anything
    // else thrown undoes the whole transaction, outbox entries included.
    service_.batch([&] {
        for (const auto& event : events) {
            const Outcome outcome = service_.handle_event(event);
            if (!outcome.reply.ok)
                spdlog::warn("mattermost: event refused: {}", outcome.reply.text);
        }
    });
}

asio::awaitable<MattermostAdapter::After> MattermostAdapter::handle_frame(const std::string& text,
                                                                          net::Backoff& backoff,
                                                                          Batch& batch) {
    std::string error;
    const auto frame = parse_frame(text, error);
    if (!frame) {
        spdlog::warn("mattermost: ignoring a websocket frame: {}", error);
        co_return After::keep_reading;
    }
    // Logged once: the seq moves past it, so it is not replayed.
    if (!frame->unreadable.empty()) {
        spdlog::error(
            "mattermost: event {} ({} bytes) is not valid JSON even with its escapes repaired; "
            "skipped: {}",
            frame->seq.value_or(-1), text.size(), frame->unreadable);
    } else if (frame->repaired_escapes > 0) {
        spdlog::warn(
            "mattermost: {} event {} held {} invalid JSON escapes (a lone UTF-16 surrogate?); "
            "read with U+FFFD in their place",
            frame->event, frame->seq.value_or(-1), frame->repaired_escapes);
    }
    if (frame->kind == Frame::Kind::response) {
        if (frame->seq_reply != k_auth_seq) co_return After::keep_reading;
        if (frame->status == "OK") {
            authenticated_ = true;
            connected_ = true;
            backoff.reset();
            last_error_.clear();
            if (lost_at_) {
                const auto took = std::chrono::duration_cast<milliseconds>(
                    std::chrono::steady_clock::now() - *lost_at_);
                spdlog::info("mattermost: websocket authenticated again {} ms after: {}",
                             took.count(), lost_why_);
                lost_at_.reset();
            } else {
                spdlog::info("mattermost: websocket authenticated");
            }
            co_return After::keep_reading;
        }
        last_error_ =
            "authentication_challenge refused: " + frame->error + " (check MATTERMOST_TOKEN)";
        spdlog::error("mattermost: {}", last_error_);
        co_return After::reconnect;
    }
    if (frame->event == "hello") {
        const Hello hello = decode_hello(*frame);
        if (connection_id_.empty()) {
            // The first connection since start-up: catch up on what was said while the bot was
            // down, as a resumed connection would have replayed it.
            resync_needed_ = true;
        } else if (hello.connection_id != connection_id_) {
            spdlog::warn(
                "mattermost: the server could not resume connection {}; events sent "
                "while disconnected are re-read over REST",
                connection_id_);
            resync_needed_ = true;
        }
        connection_id_ = hello.connection_id;
        next_seq_ = frame->seq.value_or(0) + 1;
        gap_retried_at_ = -1;
        if (bot_user_id_.empty()) bot_user_id_ = hello.user_id;
        std::string id = hello.connection_id;
        if (id.empty()) id = "without id: this server cannot replay missed events";
        spdlog::info("mattermost: hello from server {} (connection {})", hello.server_version, id);
        co_return After::keep_reading;
    }
    if (frame->seq && *frame->seq > next_seq_) {
        if (gap_retried_at_ != next_seq_) {
            spdlog::warn(
                "mattermost: missed websocket events {}..{}; reconnecting so the server "
                "replays them",
                next_seq_, *frame->seq - 1);
            gap_retried_at_ = next_seq_;
            co_return After::reconnect_now;
        }
        spdlog::warn(
            "mattermost: events {}..{} were not replayed; going on and re-reading the "
            "incident channels over REST",
            next_seq_, *frame->seq - 1);
        resync_needed_ = true;
    }
    if (observer_) observer_->event_received(k_platform);
    std::optional<ChatEvent> event;
    try {
        event = co_await process_event(*frame);
    } catch (const std::exception& e) {
        // The seq does not advance: the next event shows a gap and the server replays this one.
        spdlog::error("mattermost: {} event {} not stored: {}", frame->event,
                      frame->seq.value_or(-1), e.what());
        co_return After::keep_reading;
    }
    if (event) {
        if (!batch.seq_before) {
            batch.seq_before = next_seq_;
            batch.settled = batch.taken;
        }
        batch.events.push_back(std::move(*event));
    }
    ++batch.taken;
    // Counted as stored already; store_batch takes it back if the commit fails.
    if (frame->seq) next_seq_ = *frame->seq + 1;
    co_return After::keep_reading;
}

asio::awaitable<std::optional<ChatEvent>> MattermostAdapter::process_event(const Frame& frame) {
    DecodedEvent decoded = decode_event(frame, DecodeContext{bot_user_id_, connection_id_});
    std::optional<ChatEvent> none;
    if (!decoded.malformed.empty()) {
        spdlog::warn("mattermost: ignoring malformed event: {}", decoded.malformed);
        co_return none;
    }
    if (!decoded.event) {
        spdlog::debug("mattermost: ignoring event: {}", decoded.ignored);
        co_return none;
    }
    co_return co_await prepare_event(std::move(*decoded.event), decoded.sender_name);
}

asio::awaitable<std::optional<ChatEvent>> MattermostAdapter::prepare_event(
    ChatEvent event, const std::string& sender_name) {
    // Chatter outside incident channels is none of our business: no lookups, no writes.
    if (!service_.find_by_channel(std::string(k_platform), header_of(event).channel_id)) {
        std::optional<ChatEvent> none;
        co_return none;
    }
    if (auto* posted = std::get_if<MessagePosted>(&event); posted && !posted->from_bot) {
        posted->author.name = co_await display_name(posted->author.id, sender_name);
        // Where each file is fetched from, and what a too-large file links to.
        for (auto& file : posted->files) file.url = api_.api_base() + "files/" + file.id;
    }
    if (auto* reaction = std::get_if<ReactionChanged>(&event)) {
        const std::string none;
        reaction->actor.name = co_await display_name(reaction->actor.id, none);
    }
    std::optional<ChatEvent> prepared(std::move(event));
    co_return prepared;
}

asio::awaitable<void> MattermostAdapter::resync() {
    const DecodeContext context{bot_user_id_, connection_id_};
    int channels = 0, changes = 0;
    for (const auto& inc : service_.list(true)) {
        if (inc.platform != k_platform || inc.channel_id.empty() || inc.state == State::closed ||
            inc.state == State::merged) {
            continue;
        }
        // From the newest thing stored for it: a post edited or deleted later has a newer
        // update_at, so edits and deletions of older posts come back too.
        Timestamp newest = inc.declared_at;
        // Whether each post the bot has is marked by a pin: a pin or unpin while away changed
        // only is_pinned and update_at, so it is told apart from a post that merely got a
        // reaction or a reply by comparing with this.
        std::map<std::string, bool> pinned;
        for (const auto& e : service_.timeline(inc.number)) {
            newest = std::max({newest, e.at, e.edited_at.value_or(0), e.deleted_at.value_or(0)});
            if (!e.message_id.empty()) pinned[e.message_id] = e.marked_by_pin;
        }
        const Timestamp since = std::max<Timestamp>(0, newest - k_resync_margin_ms);
        const ApiResult r = co_await api_.get_channel_posts_since(inc.channel_id, since);
        if (!r.ok || !r.body.is_object() || !r.body.contains("posts") ||
            !r.body["posts"].is_object()) {
            continue;
        }
        ++channels;
        std::vector<Post> posts;
        for (const auto& [id, value] : r.body["posts"].items()) {
            std::string error;
            if (auto post = decode_post(value, error)) posts.push_back(std::move(*post));
        }
        std::sort(posts.begin(), posts.end(),
                  [](const Post& a, const Post& b) { return a.create_at < b.create_at; });
        // One transaction per channel, as for a burst from the socket.
        std::vector<ChatEvent> events;
        for (const auto& post : posts) {
            const auto stored = pinned.find(post.id);
            const std::optional<bool> stored_pin =
                stored == pinned.end() ? std::nullopt : std::optional<bool>(stored->second);
            for (auto& event : events_for_post(post, since, context, stored_pin)) {
                const std::string none;
                auto prepared = co_await prepare_event(std::move(event), none);
                if (prepared) events.push_back(std::move(*prepared));
                ++changes;
            }
        }
        store_events(events);
    }
    if (channels > 0) {
        spdlog::info("mattermost: re-read {} incident channel(s) over REST: {} change(s)", channels,
                     changes);
    }
}

asio::awaitable<std::string> MattermostAdapter::display_name(const std::string& user_id,
                                                             const std::string& fallback) {
    if (const auto it = names_.find(user_id); it != names_.end()) co_return it->second;
    const ApiResult r = co_await api_.get_user(user_id);
    std::string name;
    if (r.ok && r.body.is_object()) name = r.body.value("username", std::string());
    if (name.empty()) {
        // Not cached: the next message tries the lookup again.
        name = fallback.empty() ? user_id : fallback;
        co_return name;
    }
    names_[user_id] = name;
    co_return name;
}

// ---- slash commands ----

asio::awaitable<net::HttpResponse> MattermostAdapter::handle_http(net::HttpRequest request) {
    const std::string path(request.path());
    if (draining_) co_return text_response(503, "shutting down\n");
    if (path == "/mattermost/command") {
        if (request.method != "POST" && request.method != "GET") {
            co_return text_response(405, "use POST\n");
        }
        co_return co_await handle_command(request);
    }
    if (path != "/mattermost/actions" && path != "/mattermost/dialogs") {
        co_return text_response(404, "unknown Mattermost endpoint\n");
    }
    if (request.method != "POST") co_return text_response(405, "use POST\n");
    if (path == "/mattermost/actions") co_return co_await handle_action(request);
    co_return co_await handle_dialog(request);
}

asio::awaitable<net::HttpResponse> MattermostAdapter::handle_command(
    const net::HttpRequest& request) {
    const std::string path(request.path());
    std::string body = request.body;
    std::string content_type = request.headers.get("Content-Type").value_or("");
    if (request.method == "GET") {
        body = std::string(request.query());
        content_type = "application/x-www-form-urlencoded";
    }
    std::string error;
    const auto fields = parse_command_body(content_type, body, error);
    if (!fields) {
        spdlog::warn("mattermost: rejected {} from {}: {}", path, request.remote_address, error);
        co_return text_response(400, "malformed request: " + error + "\n");
    }
    const TokenCheck check = verify_command_token(
        command_token_, *fields, request.headers.get("Authorization").value_or(""));
    if (!check.ok) {
        spdlog::warn("mattermost: rejected {} from {}: {}", path, request.remote_address,
                     check.error);
        co_return text_response(401, "rejected: " + check.error + "\n");
    }
    if (observer_) observer_->event_received(k_platform);
    const auto started = std::chrono::steady_clock::now();
    const auto command = decode_slash_command(*fields, service_.now());
    json reply;
    if (!command) {
        spdlog::warn("mattermost: slash command without user_id or channel_id");
        reply =
            reply_payload(Reply{false, Reply::Visibility::ephemeral,
                                "incident-bot could not read this command (no user or channel)."});
    } else {
        reply = reply_payload(router_.dispatch(*command).reply);
    }
    if (observer_) {
        const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
        observer_->event_acked(k_platform, took.count());
    }
    co_return net::HttpResponse::json(200, reply.dump());
}

// ---- buttons and dialogs ----

asio::awaitable<net::HttpResponse> MattermostAdapter::handle_action(
    const net::HttpRequest& request) {
    const std::string path(request.path());
    std::string error;
    const auto action = parse_action_request(request.body, error);
    if (!action) {
        spdlog::warn("mattermost: rejected {} from {}: {}", path, request.remote_address, error);
        co_return text_response(400, "malformed request: " + error + "\n");
    }
    const auto verified = signer_.verify_context(action->context);
    if (!verified) {
        spdlog::warn(
            "mattermost: rejected {} from {}: its context is not one this bot signed (a forged "
            "or altered button, or MATTERMOST_ACTION_SECRET changed since the post)",
            path, request.remote_address);
        co_return text_response(401, "rejected: the action's context is not signed by this bot\n");
    }
    if (observer_) observer_->event_received(k_platform);
    json answer = json::object();
    const auto inc = service_.find(verified->incident);
    const std::string url = own_url("dialogs");
    if (!inc || inc->platform != k_platform) {
        answer["ephemeral_text"] = incident_key(verified->incident) + " does not exist here.";
    } else if (action->trigger_id.empty() || url.empty()) {
        answer["ephemeral_text"] =
            "incident-bot cannot open a form here (no trigger id, or INCIDENT_BOT_PUBLIC_URL "
            "is not set); the `/incident` commands do the same.";
    } else {
        answer = co_await open_form(*inc, verified->form, *action);
    }
    co_return net::HttpResponse::json(200, answer.dump());
}

asio::awaitable<net::HttpResponse> MattermostAdapter::handle_dialog(
    const net::HttpRequest& request) {
    const std::string path(request.path());
    std::string error;
    const auto submission = parse_dialog_submission(request.body, error);
    if (!submission) {
        spdlog::warn("mattermost: rejected {} from {}: {}", path, request.remote_address, error);
        co_return text_response(400, "malformed request: " + error + "\n");
    }
    const auto state = signer_.verify_state(submission->state, submission->user_id);
    if (!state) {
        spdlog::warn(
            "mattermost: rejected {} from {}: its state is not one this bot signed for that user",
            path, request.remote_address);
        co_return text_response(401, "rejected: the dialog's state is not signed by this bot\n");
    }
    json answer = json::object();
    if (submission->cancelled) co_return net::HttpResponse::json(200, answer.dump());
    if (observer_) observer_->event_received(k_platform);
    const auto started = std::chrono::steady_clock::now();
    const auto inc = service_.find(state->incident);
    if (!inc || inc->platform != k_platform) {
        answer["error"] = incident_key(state->incident) + " does not exist here.";
        co_return net::HttpResponse::json(200, answer.dump());
    }
    answer = co_await submit_form(*inc, *state, *submission);
    if (observer_) {
        const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
        observer_->event_acked(k_platform, took.count());
    }
    co_return net::HttpResponse::json(200, answer.dump());
}

asio::awaitable<json> MattermostAdapter::open_form(const Incident& inc, commands::FormId form,
                                                   const ActionRequest& action) {
    json answer = json::object();
    // The trigger id is unique per click: a dialog opened twice gets two nonces, and one
    // submitted twice is applied once.
    const std::string nonce = net::sha256_hex(action.trigger_id).substr(0, 32);
    const std::string state = signer_.dialog_state(inc.number, form, nonce, action.user_id);
    const std::string introduction = "**" + inc.key() + "**: " + inc.title;
    std::string why;
    auto dialog = dialog_of(commands::make_form(form, &inc), introduction, state, why);
    if (!dialog) {
        answer["ephemeral_text"] = inc.key() + ": " + why + ".";
        co_return answer;
    }
    const std::string trigger = action.trigger_id;
    const std::string url = own_url("dialogs");
    const ApiResult r = co_await api_.open_dialog(trigger, url, std::move(*dialog));
    if (!r.ok) {
        spdlog::warn("mattermost POST actions/dialogs/open for {}: {}", inc.key(), r.describe());
        answer["ephemeral_text"] = "incident-bot could not open the form (" + r.describe() +
                                   "); the `/incident` commands do the same.";
    }
    co_return answer;
}

asio::awaitable<json> MattermostAdapter::submit_form(const Incident& inc, const DialogState& state,
                                                     const DialogSubmission& submission) {
    json answer = json::object();
    const commands::Form form = commands::make_form(state.form, &inc);
    commands::FieldValues values;
    for (const auto& [name, value] : submission.values) {
        const commands::FormField* field = form.field(name);
        if (!field) continue;  // not a field of this form: ignored
        std::string given = value;
        // A users select submits a user id; the command takes a mention. An id the server
        // does not know stays as it is, and the form says it is not a person.
        if (field->kind == commands::FieldKind::user && !given.empty()) {
            const std::string none;
            const std::string name_of = co_await display_name(given, none);
            if (name_of != given) given = "@" + name_of;
        }
        values[name] = std::move(given);
    }
    const commands::FormResult result = commands::submit_form(state.form, &inc, values);
    if (!result.ok()) {
        json errors = json::object();
        for (const auto& [field, message] : result.errors) {
            errors[field] = markdown_from_mrkdwn(message);
        }
        answer["errors"] = std::move(errors);
        co_return answer;
    }
    CommandRequest command;
    command.request_id = commands::submission_id(state.nonce, values);
    command.platform = std::string(k_platform);
    command.channel_id = inc.channel_id;
    command.channel_name = inc.channel_name;
    const std::string none;
    const std::string caller_name = co_await display_name(submission.user_id, none);
    command.caller = Actor{submission.user_id, caller_name};
    command.text = result.command;
    command.at = service_.now();
    const Outcome outcome = router_.dispatch(command);
    if (!outcome.reply.ok) {
        // Shown in the dialog, which stays open: nothing was done.
        answer["error"] = markdown_from_mrkdwn(outcome.reply.text);
    } else if (!outcome.duplicate && !outcome.reply.text.empty()) {
        // What the command says: to the channel, as its reply would be, or to the caller.
        Destination to = ToChannel{inc.channel_id};
        if (outcome.reply.visibility == Reply::Visibility::ephemeral) to = ToUser{command.caller};
        deliver(PostMessage{to, outcome.reply.text});
    }
    co_return answer;
}

// ---- effects ----

void MattermostAdapter::deliver(const Effect& effect) {
    outbox_.write_now(effect, k_platform);
    outbox_worker_.wake();
}

asio::awaitable<net::Delivery> MattermostAdapter::deliver_entry(OutboxEntry& entry) {
    const auto effect = effect_from_json(entry.payload);
    if (!effect) co_return net::Delivery::fail("this incident-bot cannot read the stored effect");
    if (const auto* create = std::get_if<CreateChannel>(&*effect)) {
        co_return co_await create_channel(*create, entry);
    }
    if (const auto* message = std::get_if<PostMessage>(&*effect)) {
        co_return co_await post(*message, entry);
    }
    if (const auto* topic = std::get_if<SetTopic>(&*effect)) co_return co_await set_topic(*topic);
    if (const auto* refresh = std::get_if<RefreshSummary>(&*effect)) {
        co_return co_await refresh_summary(*refresh);
    }
    if (const auto* fetch = std::get_if<FetchFile>(&*effect)) co_return co_await fetch_file(*fetch);
    co_return net::Delivery::done();  // a Notify is for email and webhooks
}

asio::awaitable<net::Delivery> MattermostAdapter::fetch_file(const FetchFile& fetch) {
    auto file = service_.file(fetch.file);
    if (!file || file->status != FileStatus::pending) co_return net::Delivery::done();
    // GET /api/v4/files/{file_id}/info first: name, type and size before any byte moves.
    std::string info_path = "files/" + file->source_id + "/info";
    const ApiResult info = co_await api_.call("GET", std::move(info_path));
    if (!info.ok || !info.body.is_object()) {
        net::Delivery failed = failure_of(info, "files/info");
        if (failed.status == net::Delivery::Status::permanent) {
            service_.file_failed(file->id, failed.error);
        }
        co_return failed;
    }
    SharedFile described;
    described.name = info.body.value("name", std::string());
    described.mime_type = info.body.value("mime_type", std::string());
    if (const auto size = info.body.find("size"); size != info.body.end() && size->is_number()) {
        described.size = std::max<std::int64_t>(0, size->get<std::int64_t>());
    }
    *file = service_.describe_file(file->id, described);
    if (file->status != FileStatus::pending) co_return net::Delivery::done();
    net::HttpRequest request;
    request.url = api_.api_base() + "files/" + file->source_id;
    request.headers.set("Authorization", "Bearer " + options_.token);
    co_return co_await net::download_file(executor_, tls_, service_, *file, std::move(request));
}

std::string MattermostAdapter::summary_text(const Incident& inc) {
    const SummaryFacts facts = service_.summary_facts(inc);
    const auto mention = [](const Actor& who) { return "@" + who.name; };
    // Opened from alerts, nobody is in command until someone takes it.
    const std::string commander =
        facts.commander ? mention(*facts.commander) : "nobody yet: `/incident role commander`";
    std::string text = "#### :rotating_light: " + inc.key() + ": " + inc.title + "\n" +
                       "**Severity:** " + std::string(to_string(inc.severity)) + " (" +
                       std::string(describe(inc.severity)) + ") · **State:** " +
                       std::string(to_string(inc.state)) + " · **Commander:** " + commander;
    for (const auto& [role, people] : facts.roles) {
        text += " · **" + role_label(role) + ":** ";
        for (std::size_t i = 0; i < people.size(); ++i)
            text += (i ? ", " : "") + mention(people[i]);
    }
    text += "\n**Action items:** " + std::to_string(facts.open_actions) + " open, " +
            std::to_string(facts.done_actions) + " done\n";
    if (!facts.last_update.empty()) {
        text += "**Last update:** " + truncate_runes(facts.last_update, 1500) + "\n";
    }
    std::string links;
    if (!facts.link.empty()) links += "[Dashboard](" + facts.link + ")";
    if (!facts.postmortem_link.empty()) {
        links += std::string(links.empty() ? "" : " · ") + "[Post-mortem](" +
                 facts.postmortem_link + ")";
    }
    if (!links.empty()) text += links + "\n";
    text +=
        "`/incident update <text>` informs stakeholders · a line starting with TODO "
        "becomes an action item · :pushpin: or pinning marks a key event · `/incident help` "
        "lists every command";
    return text;
}

std::string MattermostAdapter::own_url(std::string_view route) const {
    if (options_.public_url.empty()) return {};
    return trim_base_url(options_.public_url) + "/mattermost/" + std::string(route);
}

json MattermostAdapter::summary_props(const Incident& inc) const {
    // A closed or merged incident takes no more changes: its summary keeps no buttons.
    if (inc.state == State::closed || inc.state == State::merged) return json::object();
    return mattermost::summary_props(signer_, inc.number, own_url("actions"));
}

// The summary in the incident's channel and the first announcement, each where it was posted
// earlier in this lane; one that was never posted has nothing to keep current. Both are tried
// (one deleted by hand does not freeze the other); the first failure is the entry's.
asio::awaitable<net::Delivery> MattermostAdapter::refresh_summary(const RefreshSummary& refresh) {
    const auto inc = service_.find(refresh.incident);
    if (!inc || inc->platform != k_platform) co_return net::Delivery::done();
    std::optional<net::Delivery> trouble;
    if (auto live = service_.live_message(inc->number, k_platform)) {
        trouble = co_await refresh_live(std::move(*live), summary_text(*inc), summary_props(*inc));
    }
    if (auto live = service_.live_message(inc->number, k_platform, k_announcement)) {
        std::string text = truncate_runes(
            markdown_from_mrkdwn(announcement_text(service_.summary_facts(*inc))), k_post_runes);
        // Null props: the announcement's own (its marker) stay as they are.
        auto announced = co_await refresh_live(std::move(*live), std::move(text), json());
        if (!trouble) trouble = std::move(announced);
    }
    co_return trouble.value_or(net::Delivery::done());
}

// PUT posts/{id}/patch of one live message, skipped when it already shows that.
asio::awaitable<std::optional<net::Delivery>> MattermostAdapter::refresh_live(LiveMessage live,
                                                                              std::string text,
                                                                              json props) {
    const std::string rendered = rendering_of(text, props);
    if (rendered == live.rendered) co_return std::nullopt;
    const ApiResult r = co_await api_.patch_post(live.message_id, text, std::move(props));
    if (!r.ok) co_return failure_of(r, "PUT posts/patch");
    live.rendered = rendered;
    live.updated_at = service_.now();
    service_.save_live_message(live);
    co_return std::nullopt;
}

asio::awaitable<net::Delivery> MattermostAdapter::set_topic(const SetTopic& topic) {
    const auto inc = service_.find(topic.incident);
    // No channel yet: its creation sets the header of that moment.
    if (!inc || inc->channel_id.empty() || inc->platform != k_platform) {
        co_return net::Delivery::done();
    }
    std::string header = truncate_runes(topic.topic, k_header_runes);
    const ApiResult r = co_await api_.patch_channel_header(inc->channel_id, std::move(header));
    co_return delivered_or(r, "PUT channels/patch");
}

// Each step is recorded in the entry's result once done, so a retry or a restart resumes
// after it: the channel (created or adopted), the members, the summary.
asio::awaitable<net::Delivery> MattermostAdapter::create_channel(const CreateChannel& create,
                                                                 OutboxEntry& entry) {
    json progress = net::progress_of(entry);
    const auto save = [&] {
        entry.result = progress.dump();
        outbox_.save(entry);
    };
    auto inc = service_.find(create.incident);
    if (!inc) co_return net::Delivery::fail(incident_key(create.incident) + " does not exist");
    std::string id = progress.value("channel", std::string());
    std::string name = progress.value("name", std::string());
    if (id.empty() && inc->platform == k_platform && !inc->channel_id.empty()) {
        id = inc->channel_id;  // bound before the process stopped
        name = inc->channel_name;
    }
    if (id.empty()) {
        const std::string team = co_await ensure_team();
        if (team.empty()) co_return net::Delivery::retry("no team yet: " + last_error_);
        const std::string display =
            truncate_runes(inc->key() + ": " + inc->title, k_display_name_runes);
        // The header of now: the incident may have changed since it was declared.
        const std::string header = truncate_runes(service_.topic_for(*inc), k_header_runes);
        name = create.name;
        for (int attempt = 2; attempt <= 10 && id.empty(); ++attempt) {
            const ApiResult r = co_await api_.create_channel(team, name, display, header);
            if (r.ok && r.body.is_object()) {
                id = r.body.value("id", std::string());
                name = r.body.value("name", name);
                break;
            }
            if (!name_exists(r)) co_return failure_of(r, "POST channels");
            // Created by an earlier attempt whose answer was lost (a crash)? Then it is ours:
            // made by this bot after this effect was written.
            const ApiResult found = co_await api_.get_channel_by_name(team, name);
            if (!found.ok && found.status != 404)
                co_return failure_of(found, "GET channel by name");
            const bool ours =
                found.ok && found.body.is_object() && !bot_user_id_.empty() &&
                found.body.value("creator_id", std::string()) == bot_user_id_ &&
                found.body.value("create_at", std::int64_t{0}) >= entry.created_at - 60'000;
            if (ours) {
                id = found.body.value("id", std::string());
                spdlog::info(
                    "mattermost: adopting ~{} ({}) as the channel of {}: created by an earlier "
                    "attempt",
                    name, id, inc->key());
                break;
            }
            name = create.name + "-" + std::to_string(attempt);  // an old channel has the name
            spdlog::info("mattermost: channel name taken; trying {}", name);
        }
        if (id.empty()) {
            co_return net::Delivery::fail("POST channels: every name from " + create.name + " to " +
                                          name + " is taken");
        }
        service_.bind_channel(create.incident, std::string(k_platform), id, name);
        spdlog::info("mattermost: {} has channel ~{} ({})", inc->key(), name, id);
        progress["channel"] = id;
        progress["name"] = name;
        save();
    }
    if (!progress.value("invited", false)) {
        for (const auto& who : create.invite) {
            if (who.id.empty() || who.id == bot_user_id_) continue;
            // Adding a member who is already there succeeds: a repeat is harmless.
            const ApiResult r = co_await api_.add_member(id, who.id);
            if (!r.ok) co_return failure_of(r, "POST channels/members");
        }
        progress["invited"] = true;
        save();
    }
    inc = service_.find(create.incident);
    if (!inc) co_return net::Delivery::fail(incident_key(create.incident) + " does not exist");
    if (!progress.value("summary", false)) {
        const std::string summary = summary_text(*inc);
        json props = summary_props(*inc);
        // Without the marker: a refresh compares what it would show with this.
        const std::string rendered = rendering_of(summary, props);
        const MarkedPost posted =
            co_await post_marked(entry, progress, "summary_sent", id, summary, std::move(props));
        const ApiResult& r = posted.result;
        if (!r.ok) co_return failure_of(r, posted.call);
        // Where it is, kept for the patches of the refreshes later in this lane.
        const std::string post_id = r.body.is_object() ? r.body.value("id", std::string()) : "";
        if (!post_id.empty()) {
            service_.save_live_message(LiveMessage{inc->number, std::string(k_platform), "summary",
                                                   id, post_id, rendered, service_.now()});
        }
        progress["summary"] = true;
        save();
    }
    if (!progress.value("pinned", false)) {
        if (const auto live = service_.live_message(inc->number, k_platform)) {
            const ApiResult r = co_await api_.pin_post(live->message_id);
            if (!r.ok) co_return failure_of(r, "POST posts/pin");
        }
        progress["pinned"] = true;
        save();
    }
    co_return net::Delivery::done();
}

asio::awaitable<net::Delivery> MattermostAdapter::post(const PostMessage& message,
                                                       OutboxEntry& entry) {
    ChannelLookup channel;
    const bool direct = std::holds_alternative<ToUser>(message.to);
    if (const auto* c = std::get_if<ToChannel>(&message.to)) channel.id = c->channel_id;
    if (const auto* i = std::get_if<ToIncident>(&message.to)) {
        const auto inc = service_.find(i->number);
        if (!inc || inc->platform != k_platform) {
            co_return net::Delivery::fail(incident_key(i->number) + " has no Mattermost channel");
        }
        // Its creation comes first in the same lane; until it is done, wait.
        if (inc->channel_id.empty())
            co_return net::Delivery::retry(inc->key() + " has no channel yet");
        channel.id = inc->channel_id;
    }
    if (std::holds_alternative<ToAnnouncements>(message.to)) {
        channel = co_await announce_channel_id();
    }
    if (const auto* u = std::get_if<ToUser>(&message.to)) {
        channel = co_await direct_channel_id(u->who.id);
    }
    if (channel.id.empty()) co_return channel.failure;
    const std::string text = truncate_runes(markdown_from_mrkdwn(message.text), k_post_runes);
    json progress = net::progress_of(entry);
    MarkedPost posted =
        co_await post_marked(entry, progress, "sent", channel.id, text, json::object());
    if (!posted.result.ok && posted.result.status == 403 && posted.call == "POST posts" &&
        !direct && !bot_user_id_.empty()) {
        // Not a member of that channel: join it, then post once more.
        const ApiResult joined = co_await api_.add_member(channel.id, bot_user_id_);
        if (!joined.ok) co_return failure_of(joined, "POST channels/members");
        posted = co_await post_marked(entry, progress, "sent", channel.id, text, json::object());
    }
    if (!posted.result.ok) co_return failure_of(posted.result, posted.call);
    // The incident's first announcement is kept current by refresh_summary.
    const json& made = posted.result.body;
    const std::string post_id = made.is_object() ? made.value("id", std::string()) : "";
    remember_first_announcement(service_, entry.incident, k_platform, message, channel.id, post_id,
                                rendering_of(text, json()));
    co_return net::Delivery::done();
}

asio::awaitable<MattermostAdapter::MarkedPost> MattermostAdapter::post_marked(
    OutboxEntry& entry, json& progress, const std::string& step, const std::string& channel_id,
    const std::string& text, json props) {
    const std::string marker = std::to_string(entry.id);
    MarkedPost out;
    if (progress.value(step, false)) {
        // An earlier attempt sent it and saw no answer (a crash, a timeout, a proxy's 5xx):
        // the server may have taken it.
        out.call = "GET channels/posts";
        out.result = co_await api_.get_recent_posts(channel_id, k_marker_lookback);
        if (out.result.ok) {
            const std::string found = marked_post(out.result.body, marker, bot_user_id_,
                                                  entry.created_at - k_marker_clock_margin_ms);
            if (!found.empty()) {
                spdlog::info(
                    "mattermost: post {} of outbox entry {} was made by an earlier attempt "
                    "whose answer was lost; not posting it again",
                    found, entry.id);
                out.call = "POST posts";
                out.result.body = out.result.body["posts"][found];
                out.found = true;
                co_return out;
            }
        } else if (failure_of(out.result, out.call).status == net::Delivery::Status::transient) {
            co_return out;  // looked for again with the next attempt
        } else {
            // Unreadable for good: posting again risks a repeat, not posting loses the post.
            spdlog::warn("mattermost: cannot look for outbox entry {} in {} ({}); posting it",
                         entry.id, channel_id, out.result.describe());
        }
    } else {
        progress[step] = true;
        entry.result = progress.dump();
        outbox_.save(entry);
    }
    props[std::string(k_outbox_marker_prop)] = marker;
    out.call = "POST posts";
    out.result = co_await api_.create_post_once(channel_id, text, std::move(props));
    co_return out;
}

asio::awaitable<MattermostAdapter::ChannelLookup> MattermostAdapter::announce_channel_id() {
    if (!announce_id_.empty()) co_return ChannelLookup{announce_id_, {}};
    const std::string team = co_await ensure_team();
    if (team.empty())
        co_return ChannelLookup{{}, net::Delivery::retry("no team yet: " + last_error_)};
    const std::string name = channel_name_of(options_.announce_channel);
    if (name.empty()) {
        co_return ChannelLookup{
            {},
            net::Delivery::fail("INCIDENT_BOT_ANNOUNCE_CHANNEL `" + options_.announce_channel +
                                "` is not a channel name")};
    }
    const ApiResult found = co_await api_.get_channel_by_name(team, name);
    if (found.ok && found.body.is_object()) {
        announce_id_ = found.body.value("id", std::string());
        if (!bot_user_id_.empty()) co_await api_.add_member(announce_id_, bot_user_id_);
        co_return ChannelLookup{announce_id_, {}};
    }
    if (found.status != 404) co_return ChannelLookup{{}, failure_of(found, "GET channel by name")};
    const std::string purpose = "Incident announcements from incident-bot";
    const ApiResult created = co_await api_.create_channel(team, name, name, purpose);
    if (!created.ok || !created.body.is_object()) {
        co_return ChannelLookup{{},
                                failure_of(created, "POST channels (announcements ~" + name + ")")};
    }
    announce_id_ = created.body.value("id", std::string());
    spdlog::info("mattermost POST channels: created the announcement channel ~{}", name);
    co_return ChannelLookup{announce_id_, {}};
}

asio::awaitable<MattermostAdapter::ChannelLookup> MattermostAdapter::direct_channel_id(
    const std::string& user_id) {
    if (const auto it = direct_channels_.find(user_id); it != direct_channels_.end()) {
        co_return ChannelLookup{it->second, {}};
    }
    if (user_id.empty()) co_return ChannelLookup{{}, net::Delivery::fail("no user to message")};
    if (bot_user_id_.empty())
        co_return ChannelLookup{{}, net::Delivery::retry("not signed in yet")};
    std::string person = user_id;
    if (!looks_like_id(user_id)) {
        const std::string username = user_id.starts_with('@') ? user_id.substr(1) : user_id;
        const ApiResult found = co_await api_.get_user_by_username(username);
        if (found.ok && found.body.is_object()) person = found.body.value("id", std::string());
        if (!found.ok && found.status == 404) {
            co_return ChannelLookup{
                {}, net::Delivery::fail("there is no Mattermost user @" + username)};
        }
        if (person.empty() || person == user_id) {
            co_return ChannelLookup{{}, failure_of(found, "GET users/username")};
        }
    }
    const ApiResult r = co_await api_.direct_channel(bot_user_id_, person);
    std::string id;
    if (r.ok && r.body.is_object()) id = r.body.value("id", std::string());
    if (id.empty()) co_return ChannelLookup{{}, failure_of(r, "POST channels/direct")};
    direct_channels_[user_id] = id;
    co_return ChannelLookup{id, {}};
}

PlatformRegistration platform() {
    return PlatformRegistration{
        "mattermost",
        [](const PlatformContext& context) { return context.config.mattermost_enabled(); },
        [](const PlatformContext& context) -> std::unique_ptr<ChatPlatform> {
            const Config& config = context.config;
            MattermostOptions options;
            options.url = config.mattermost_url;
            options.token = config.mattermost_token;
            options.team = config.mattermost_team;
            options.command_token = config.mattermost_command_token;
            options.action_secret = config.mattermost_action_secret;
            options.public_url = config.public_url;
            options.announce_channel = config.announce_channel;
            options.websocket = net::WebSocketOptions::dead_after_silence(
                std::chrono::seconds(config.socket_dead_after_seconds));
            options.outbox = net::outbox_worker_options(config);
            return std::make_unique<MattermostAdapter>(context.executor, context.tls,
                                                       context.service, context.router,
                                                       context.outbox, options, context.observer);
        }};
}

}  // namespace incident::mattermost

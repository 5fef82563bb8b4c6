#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "adapters/net/backoff.hpp"
#include "adapters/net/effect_queue.hpp"
#include "adapters/net/http_client.hpp"
#include "adapters/net/http_types.hpp"
#include "adapters/net/observer.hpp"
#include "adapters/net/websocket_client.hpp"
#include "adapters/net/websocket_types.hpp"
#include "adapters/slack/web_api.hpp"
#include "bot/incident_service.hpp"
#include "commands/router.hpp"

namespace incident::slack {

struct SlackOptions {
    std::string bot_token;
    std::string app_token;       // Socket Mode when set
    std::string signing_secret;  // HTTP endpoints when set
    std::string api_url = "https://slack.com/api/";
    std::string announce_channel = "incidents";
    std::string public_url;
    net::BackoffOptions reconnect{std::chrono::milliseconds(500), std::chrono::milliseconds(30'000),
                                  net::Jitter::full};
    net::WebSocketOptions websocket;
    std::chrono::milliseconds api_timeout{10'000};
};

// Slack on both of its delivery paths (Socket Mode and signed HTTP requests), turning
// wire events into the neutral events of bot/ and effects into Web API calls. Every event
// is stored before it is acked; effects run afterwards, in order, on one worker.
class SlackAdapter {
public:
    SlackAdapter(boost::asio::any_io_executor executor, net::TlsContext tls,
                 IncidentService& service, commands::CommandRouter& router, SlackOptions options,
                 net::PlatformObserver* observer = nullptr);
    ~SlackAdapter();

    // Spawns the effect worker and, with an app token, the Socket Mode connection loop.
    void start();
    void stop();
    // Graceful shutdown, before stop(): takes no new events (unacked envelopes are left to
    // Slack's redelivery, HTTP requests get 503), lets the batch being stored finish and be
    // acked, closes the Socket Mode connection with a close frame, and runs queued effects
    // until none is left or `deadline` passes.
    boost::asio::awaitable<void> drain(std::chrono::steady_clock::time_point deadline);
    bool draining() const { return draining_; }

    // An effect that did not come from a Slack event (reminders, digests).
    void deliver(Effect effect) { enqueue(std::move(effect)); }

    // POST /slack/events, /slack/commands, /slack/interactive.
    boost::asio::awaitable<net::HttpResponse> handle_http(net::HttpRequest request);

    // For /healthz.
    nlohmann::json health() const;
    bool socket_connected() const { return connected_; }
    WebApi& api() { return api_; }
    // Effects queued but not yet executed (tests wait for 0).
    std::size_t pending_effects() const { return effects_.pending(); }

private:
    struct Ephemeral {
        std::string channel;
        std::string user;
        std::string text;
    };
    using Job = std::variant<Effect, Ephemeral>;

    boost::asio::awaitable<void> run_socket_mode();
    // apps.connections.open and the WebSocket; null (logged, last_error_ set) on failure.
    boost::asio::awaitable<std::shared_ptr<net::WebSocketClient>> open_socket();
    // Opens the next connection while `old` still runs, then lets `old` go. `since`: when
    // the trouble began (for the log of how long the reconnect took).
    boost::asio::awaitable<void> replace(std::shared_ptr<net::WebSocketClient> old, std::string why,
                                         std::chrono::steady_clock::time_point since);
    boost::asio::awaitable<void> watch_silence(std::shared_ptr<net::WebSocketClient> socket);
    // Silent this long, a connection gets its replacement opened.
    std::chrono::milliseconds suspect_after() const;
    boost::asio::awaitable<void> execute(const Job& job);
    boost::asio::awaitable<void> create_channel(const CreateChannel& create);
    boost::asio::awaitable<void> post(const PostMessage& post);
    boost::asio::awaitable<std::string> announce_channel_id();
    boost::asio::awaitable<std::string> direct_channel_id(const std::string& user_id);
    boost::asio::awaitable<std::string> display_name(const std::string& user_id);

    // Decoding and name lookups come first (they may wait on the Web API); storing is
    // synchronous so that many envelopes can share one transaction. Effects are collected
    // in `jobs` and queued only after the commit.
    boost::asio::awaitable<std::optional<ChatEvent>> prepare_event(const nlohmann::json& payload);
    void store_event(const ChatEvent& event, std::vector<Job>& jobs);
    nlohmann::json process_command(const nlohmann::json& payload, std::vector<Job>& jobs);
    void process_action(const nlohmann::json& payload, std::vector<Job>& jobs);
    void reply_later(const CommandRequest& request, const Outcome& outcome, std::vector<Job>& jobs);
    // One batch of Socket Mode frames: stored in one transaction, then acked.
    // Returns the disconnect reason when the server asked to reconnect.
    boost::asio::awaitable<std::optional<std::string>> process_frames(
        std::vector<std::string> frames, net::WebSocketClient& socket, net::Backoff& backoff);
    void enqueue(Job job);

    boost::asio::any_io_executor executor_;
    net::TlsContext tls_;
    IncidentService& service_;
    commands::CommandRouter& router_;
    SlackOptions options_;
    net::PlatformObserver* observer_;
    net::HttpClient http_;
    WebApi api_;

    net::EffectQueue effects_;
    std::map<std::string, std::string> names_;
    std::string announce_id_;
    std::map<std::string, std::string> direct_channels_;  // user id -> IM channel id
    std::atomic<bool> connected_{false};
    std::atomic<bool> stopping_{false};
    bool draining_ = false;
    bool in_batch_ = false;  // envelopes taken from the socket, not yet stored and acked
    std::string last_error_;
    int reconnects_ = 0;
    struct Connection;
    std::shared_ptr<Connection> connection_;
};

}  // namespace incident::slack

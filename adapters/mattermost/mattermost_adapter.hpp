#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "adapters/chat_platform.hpp"
#include "adapters/mattermost/decode.hpp"
#include "adapters/mattermost/interactive.hpp"
#include "adapters/mattermost/rest_api.hpp"
#include "adapters/net/backoff.hpp"
#include "adapters/net/http_client.hpp"
#include "adapters/net/http_types.hpp"
#include "adapters/net/observer.hpp"
#include "adapters/net/outbox_worker.hpp"
#include "adapters/net/tls_context.hpp"
#include "adapters/net/websocket_types.hpp"
#include "bot/incident_service.hpp"
#include "bot/outbox.hpp"
#include "commands/router.hpp"

namespace incident::net {
class WebSocketClient;
}

namespace incident::mattermost {

struct MattermostOptions {
    std::string url;    // MATTERMOST_URL: http(s)://host[:port][/subpath]
    std::string token;  // MATTERMOST_TOKEN: the bot account's access token
    std::string team;   // MATTERMOST_TEAM: name or id; empty: the bot's only team
    // MATTERMOST_COMMAND_TOKEN; empty: the token of the command the bot registered or found.
    std::string command_token;
    std::string public_url;  // INCIDENT_BOT_PUBLIC_URL: where Mattermost sends /incident
    // MATTERMOST_ACTION_SECRET: the key of the signed button contexts and dialog states;
    // empty: derived from `token`.
    std::string action_secret;
    std::string announce_channel = "incidents";
    net::BackoffOptions reconnect{std::chrono::milliseconds(1000),
                                  std::chrono::milliseconds(60'000), net::Jitter::full};
    net::WebSocketOptions websocket;
    std::chrono::milliseconds api_timeout{10'000};
    bool register_command = true;
    net::OutboxWorkerOptions outbox;  // retries of effects that did not go through
};

// Mattermost through its WebSocket (events), outgoing slash commands over HTTP and the
// REST API v4 (everything the bot does). Every event is stored before anything else
// happens. The effects it causes are written into `outbox` (sink "mattermost") in the same
// transaction and delivered afterwards by an outbox worker: in order per incident, retried
// while the server is unreachable, kept as failed when it refuses them. A lost socket is resumed
// with its connection id and event sequence so the server replays what was missed; when the server
// cannot, the incident channels are re-read over REST.
class MattermostAdapter final : public ChatPlatform {
public:
    MattermostAdapter(boost::asio::any_io_executor executor, net::TlsContext tls,
                      IncidentService& service, commands::CommandRouter& router, Outbox& outbox,
                      MattermostOptions options, net::PlatformObserver* observer = nullptr);
    ~MattermostAdapter() override;
    MattermostAdapter(const MattermostAdapter&) = delete;
    MattermostAdapter& operator=(const MattermostAdapter&) = delete;

    // Spawns the effect worker and the WebSocket loop (which signs in, finds the team and
    // registers /incident first).
    void start() override;
    void stop() override;
    // Graceful shutdown, before stop(): takes no new events (HTTP requests get 503), lets
    // the event being stored finish, closes the WebSocket with a close frame, and delivers
    // pending effects until none is due or `deadline` passes (the rest waits in the outbox).
    boost::asio::awaitable<void> drain(std::chrono::steady_clock::time_point deadline) override;
    bool draining() const { return draining_; }
    // An effect that is not in the outbox yet: written into it, then delivered like the others.
    void deliver(const Effect& effect) override;

    // POST /mattermost/command (GET too, for commands registered with method G), POST
    // /mattermost/actions (a summary button was clicked) and POST /mattermost/dialogs (a
    // dialog it opened was submitted).
    boost::asio::awaitable<net::HttpResponse> handle_http(net::HttpRequest request) override;
    // What the bot signs its buttons and dialogs with (tests forge and check with it).
    const InteractionSigner& signer() const { return signer_; }

    // For /healthz. Never contains a token.
    nlohmann::json health() const override;
    bool socket_connected() const { return connected_; }
    RestApi& api() { return api_; }
    // Effects pending in the outbox (tests wait for 0).
    std::size_t pending_effects() const { return outbox_worker_.pending(); }
    bool delivering() const { return outbox_worker_.delivering(); }
    // The next server event seq expected on this connection.
    std::int64_t next_sequence() const { return next_seq_; }

private:
    struct Connection;

    boost::asio::awaitable<void> run_socket();
    boost::asio::awaitable<bool> sign_in();
    boost::asio::awaitable<std::string> ensure_team();
    boost::asio::awaitable<void> register_command();
    std::string websocket_url() const;

    // What to do with the connection after a frame.
    enum class After { keep_reading, reconnect, reconnect_now };
    // Events taken from the socket and prepared (lookups done), stored in one transaction.
    struct Batch {
        std::vector<ChatEvent> events;
        std::size_t taken = 0;    // event frames handled, to be counted as acked
        std::size_t settled = 0;  // of those, how many needed nothing from the commit
        std::optional<std::int64_t> seq_before;  // next_seq_ before the first event to store
    };
    boost::asio::awaitable<After> handle_frames(std::vector<std::string> frames,
                                                net::Backoff& backoff);
    boost::asio::awaitable<After> handle_frame(const std::string& text, net::Backoff& backoff,
                                               Batch& batch);
    void store_batch(Batch& batch, std::chrono::steady_clock::time_point started);
    // The event of a frame, with the lookups its storing needs; nullopt when there is
    // nothing to store.
    boost::asio::awaitable<std::optional<ChatEvent>> process_event(const Frame& frame);
    boost::asio::awaitable<std::optional<ChatEvent>> prepare_event(ChatEvent event,
                                                                   const std::string& sender_name);
    // Stores `events` in one transaction, with the outbox entries of their effects.
    void store_events(const std::vector<ChatEvent>& events);
    boost::asio::awaitable<void> resync();
    boost::asio::awaitable<std::string> display_name(const std::string& user_id,
                                                     const std::string& fallback);

    // A channel id, or why there is none yet.
    struct ChannelLookup {
        std::string id;
        net::Delivery failure;
    };
    boost::asio::awaitable<net::Delivery> deliver_entry(OutboxEntry& entry);
    boost::asio::awaitable<net::Delivery> create_channel(const CreateChannel& create,
                                                         OutboxEntry& entry);
    // The incident's first announcement (entry.incident's) is remembered as a live message.
    boost::asio::awaitable<net::Delivery> post(const PostMessage& post, OutboxEntry& entry);
    // A post of `entry` into `channel_id`, sent once and marked with the entry's id in its
    // props. `step` names it in the entry's progress, recorded before the call: when an
    // earlier attempt's call may have gone out, the channel's recent posts are read first
    // and the post found with the marker is taken for it (`found`).
    struct MarkedPost {
        ApiResult result;  // POST posts' answer (or the post found), else the lookup's
        std::string call;  // which of the two `result` is the answer of
        bool found = false;
    };
    boost::asio::awaitable<MarkedPost> post_marked(OutboxEntry& entry, nlohmann::json& progress,
                                                   const std::string& step,
                                                   const std::string& channel_id,
                                                   const std::string& text, nlohmann::json props);
    boost::asio::awaitable<net::Delivery> set_topic(const SetTopic& topic);
    // PUT posts/{id}/patch of the live summary with the incident as it is now; nothing when
    // it would show what it shows already.
    boost::asio::awaitable<net::Delivery> refresh_summary(const RefreshSummary& refresh);
    // A shared file: its info (GET files/{id}/info), then its bytes (GET files/{id}), with
    // the bot token, into the store.
    boost::asio::awaitable<net::Delivery> fetch_file(const FetchFile& fetch);
    std::string summary_text(const Incident& incident);
    boost::asio::awaitable<std::optional<net::Delivery>> refresh_live(LiveMessage live,
                                                                      std::string text,
                                                                      nlohmann::json props);
    nlohmann::json summary_props(const Incident& incident) const;
    // <INCIDENT_BOT_PUBLIC_URL>/mattermost/<route>; empty without a public URL.
    std::string own_url(std::string_view route) const;

    boost::asio::awaitable<net::HttpResponse> handle_command(const net::HttpRequest& request);
    boost::asio::awaitable<net::HttpResponse> handle_action(const net::HttpRequest& request);
    boost::asio::awaitable<net::HttpResponse> handle_dialog(const net::HttpRequest& request);
    // A verified click: the dialog of its form, opened with the click's trigger id. The
    // answer to the click (an ephemeral text when the dialog could not be opened).
    boost::asio::awaitable<nlohmann::json> open_form(const Incident& incident,
                                                     commands::FormId form,
                                                     const ActionRequest& action);
    // A verified submission: field errors, or the form's command run once. The answer
    // (SubmitDialogResponse: `errors` per field, `error` for the whole dialog, or nothing).
    boost::asio::awaitable<nlohmann::json> submit_form(const Incident& incident,
                                                       const DialogState& state,
                                                       const DialogSubmission& submission);
    boost::asio::awaitable<ChannelLookup> announce_channel_id();
    // The direct channel with a person: a user id, or a username as a command names one
    // ("@bob" is Actor{"bob", "bob"}), looked up first.
    boost::asio::awaitable<ChannelLookup> direct_channel_id(const std::string& user_id);

    boost::asio::any_io_executor executor_;
    net::TlsContext tls_;
    IncidentService& service_;
    commands::CommandRouter& router_;
    MattermostOptions options_;
    net::PlatformObserver* observer_;
    net::HttpClient http_;
    RestApi api_;
    InteractionSigner signer_;

    Outbox& outbox_;
    net::OutboxWorker outbox_worker_;
    std::size_t waker_ = 0;  // the outbox's registration of outbox_worker_

    std::string bot_user_id_;
    std::string bot_username_;
    std::string team_id_;
    std::string command_token_;
    std::string command_status_ = "not checked yet";
    bool command_checked_ = false;
    std::map<std::string, std::string> names_;
    std::map<std::string, std::string> direct_channels_;
    std::string announce_id_;

    std::atomic<bool> connected_{false};
    std::atomic<bool> stopping_{false};
    bool draining_ = false;
    bool in_event_ = false;  // a frame taken from the socket, not yet stored
    bool authenticated_ = false;
    std::string connection_id_;
    std::int64_t next_seq_ = 0;
    std::int64_t gap_retried_at_ = -1;
    bool resync_needed_ = false;
    std::string last_error_;
    // When the last connection was lost (for a dead one: when it went silent), until the
    // next authentication: the log says how long the reconnect took.
    std::optional<std::chrono::steady_clock::time_point> lost_at_;
    std::string lost_why_;
    int reconnects_ = 0;
    std::shared_ptr<Connection> connection_;
};

// ws(s)://host/api/v4/websocket from http(s)://host; empty when `url` is not http(s).
std::string websocket_endpoint(const std::string& url);

// Its entry in bot/app/platforms.cpp: on when MATTERMOST_URL is set.
PlatformRegistration platform();

}  // namespace incident::mattermost

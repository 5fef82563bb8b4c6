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

#include "adapters/chat_platform.hpp"
#include "adapters/net/backoff.hpp"
#include "adapters/net/effect_queue.hpp"
#include "adapters/net/http_client.hpp"
#include "adapters/net/http_types.hpp"
#include "adapters/net/observer.hpp"
#include "adapters/net/outbox_worker.hpp"
#include "adapters/net/websocket_client.hpp"
#include "adapters/net/websocket_types.hpp"
#include "adapters/slack/decode.hpp"
#include "adapters/slack/web_api.hpp"
#include "bot/incident_service.hpp"
#include "bot/outbox.hpp"
#include "commands/forms.hpp"
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
    net::OutboxWorkerOptions outbox;  // retries of effects that did not go through
};

// Slack on both of its delivery paths (Socket Mode and signed HTTP requests), turning
// wire events into the neutral events of bot/ and effects into Web API calls. Every event
// is stored before it is acked. The effects it causes are written into `outbox` (sink
// "slack") in the same transaction and delivered afterwards by an outbox worker: in order
// per incident, retried while Slack is unreachable, kept as failed when Slack refuses them.
// Replies to buttons (ephemeral messages) are answers, not effects: they go out from memory.
class SlackAdapter final : public ChatPlatform {
public:
    SlackAdapter(boost::asio::any_io_executor executor, net::TlsContext tls,
                 IncidentService& service, commands::CommandRouter& router, Outbox& outbox,
                 SlackOptions options, net::PlatformObserver* observer = nullptr);
    ~SlackAdapter() override;

    // Spawns the effect workers and, with an app token, the Socket Mode connection loop.
    void start() override;
    void stop() override;
    // Graceful shutdown, before stop(): takes no new events (unacked envelopes are left to
    // Slack's redelivery, HTTP requests get 503), lets the batch being stored finish and be
    // acked, closes the Socket Mode connection with a close frame, and delivers pending
    // effects until none is due or `deadline` passes (the rest waits in the outbox).
    boost::asio::awaitable<void> drain(std::chrono::steady_clock::time_point deadline) override;
    bool draining() const { return draining_; }

    // An effect that did not come from a Slack event and is not in the outbox yet: written
    // into it, then delivered like the others.
    void deliver(const Effect& effect) override;
    // New outbox entries were committed, or a failed one is to be retried.
    void wake_outbox() { outbox_worker_.wake(); }
    // An outbox entry is being delivered right now (after stop(): not yet let go).
    bool delivering() const { return outbox_worker_.delivering(); }

    // POST /slack/events, /slack/commands, /slack/interactive.
    boost::asio::awaitable<net::HttpResponse> handle_http(net::HttpRequest request) override;

    // For /healthz.
    nlohmann::json health() const override;
    bool socket_connected() const { return connected_; }
    WebApi& api() { return api_; }
    // Effects not yet delivered: pending in the outbox, or replies in memory (tests wait for 0).
    std::size_t pending_effects() const { return effects_.pending() + outbox_worker_.pending(); }

private:
    struct Ephemeral {
        std::string channel;
        std::string user;
        std::string text;
    };
    // Replies to buttons: in the channel, or to the one who clicked.
    using Job = std::variant<PostMessage, Ephemeral>;

    // An interactive payload, read and looked up (users' names) before it is stored. Modals
    // have been asked for already (views.open cannot wait for the batch: the trigger_id
    // expires 3 s after the interaction).
    struct Interaction {
        nlohmann::json payload;
        std::optional<ViewSubmission> submission;  // users_select values made mentions
        std::vector<ChatEvent> events;             // "Add to timeline as key event"
        std::optional<Ephemeral> answer;           // said to the one who acted, after storing
        bool handled = false;                      // nothing left to store
        bool redelivered = false;                  // the trigger was used (or has expired)
    };

    // A channel id, or why there is none yet.
    struct ChannelLookup {
        std::string id;
        net::Delivery failure;
    };

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
    boost::asio::awaitable<net::Delivery> deliver_entry(OutboxEntry& entry);
    boost::asio::awaitable<net::Delivery> create_channel(const CreateChannel& create,
                                                         OutboxEntry& entry);
    // `entry`: the outbox entry this post is (null: a reply to a button, from memory). The
    // first announcement of the entry's incident is remembered as a live message, kept
    // current by refresh_summary.
    boost::asio::awaitable<net::Delivery> post(const PostMessage& post,
                                               OutboxEntry* entry = nullptr);
    // chat.postMessage of `entry` with `args`, sent once and marked with the entry's id in its
    // metadata. `step` names it in the entry's progress, recorded before the call: when an
    // earlier attempt's call may have gone out, the channel's recent messages are read first
    // (conversations.history) and the one found with the marker is taken for it (`found`).
    struct MarkedPost {
        ApiResult result;  // chat.postMessage's answer, or one made of the message found
        std::optional<net::Delivery> lookup_failed;  // the lookup could not be made: no post
        bool found = false;
    };
    boost::asio::awaitable<MarkedPost> post_marked(OutboxEntry& entry, nlohmann::json& progress,
                                                   const std::string& step, nlohmann::json args);
    boost::asio::awaitable<net::Delivery> set_topic(const SetTopic& topic);
    // Downloads a shared file (url_private_download, with the bot token) into the store.
    boost::asio::awaitable<net::Delivery> fetch_file(const FetchFile& fetch);
    // The bot token goes only to Slack: its API host (the fake's, in tests) or *.slack.com.
    bool may_send_token(const std::string& url) const;
    // chat.update of the live summary with the incident as it is now; nothing when it would
    // show what it shows already.
    boost::asio::awaitable<net::Delivery> refresh_summary(const RefreshSummary& refresh);
    // The summary message's chat.postMessage / chat.update arguments (text and blocks).
    nlohmann::json summary_message(const Incident& incident);
    boost::asio::awaitable<std::optional<net::Delivery>> refresh_live(LiveMessage live,
                                                                      nlohmann::json message);
    // A public channel by name through conversations.list: its object, null when none.
    boost::asio::awaitable<std::pair<nlohmann::json, std::optional<net::Delivery>>> find_channel(
        const std::string& name);
    boost::asio::awaitable<ChannelLookup> announce_channel_id();
    // The IM with a person: a user id, or a name as typed where Slack did not escape it
    // ("@dave" in the dashboard's owner field is Actor{"dave", "dave"}), looked up first.
    boost::asio::awaitable<ChannelLookup> direct_channel_id(const std::string& user_id);
    // The id of the member whose name or display name is `name` (any case), from users.list.
    boost::asio::awaitable<ChannelLookup> user_id_named(const std::string& name);
    boost::asio::awaitable<ChannelLookup> bot_user_id();
    boost::asio::awaitable<std::string> display_name(const std::string& user_id);

    // Decoding and name lookups come first (they may wait on the Web API); storing is
    // synchronous so that many envelopes can share one transaction. Replies to buttons are
    // collected in `jobs` and queued only after the commit.
    boost::asio::awaitable<std::optional<ChatEvent>> prepare_event(const nlohmann::json& payload);
    void store_event(const ChatEvent& event);
    // The answer to a slash command; null when there is none to give (a modal was opened).
    nlohmann::json process_command(const nlohmann::json& payload);
    void process_action(const nlohmann::json& payload, std::vector<Job>& jobs);
    // Replies as the command's reply says: in the channel, or to the caller alone; a request
    // without a channel (a global shortcut) gets a direct message. A duplicate says nothing.
    void reply_later(const CommandRequest& request, const Outcome& outcome, std::vector<Job>& jobs);
    boost::asio::awaitable<Interaction> prepare_interaction(nlohmann::json payload,
                                                            bool redelivered);
    // Stores what an interaction changes; the response for Slack (a view_submission's
    // `response_action: errors`), null when there is none.
    nlohmann::json process_interaction(const Interaction& interaction, std::vector<Job>& jobs);
    nlohmann::json submit_view(const ViewSubmission& submission, std::vector<Job>& jobs);
    // Opens `form` for `user` with views.open right away, on its own (not through the outbox:
    // the trigger expires). A failure is logged and, with a channel, told to the user.
    void open_form(const commands::Form& form, const FormContext& context,
                   const std::string& trigger_id, const Actor& user, bool redelivered = false);
    boost::asio::awaitable<void> open_view(nlohmann::json args, std::string channel,
                                           std::string user, std::string form);
    // The form behind a summary button, for the incident as it is now; nullopt (and
    // `why_not` set) when there is nothing to fill in.
    std::optional<commands::Form> incident_form(commands::FormId id, std::int64_t incident,
                                                std::string& why_not);
    // One batch of Socket Mode frames: stored in one transaction, then acked.
    // Returns the disconnect reason when the server asked to reconnect.
    boost::asio::awaitable<std::optional<std::string>> process_frames(
        std::vector<std::string> frames, net::WebSocketClient& socket);
    void enqueue(Job job);
    // Returns once a transaction commits again (or the adapter stops).
    boost::asio::awaitable<void> wait_for_store();

    boost::asio::any_io_executor executor_;
    net::TlsContext tls_;
    IncidentService& service_;
    commands::CommandRouter& router_;
    SlackOptions options_;
    net::PlatformObserver* observer_;
    net::HttpClient http_;
    WebApi api_;

    Outbox& outbox_;
    net::EffectQueue effects_;  // replies to buttons
    net::OutboxWorker outbox_worker_;
    std::size_t waker_ = 0;  // the outbox's registration of outbox_worker_
    std::map<std::string, std::string> names_;
    std::string announce_id_;
    std::string bot_user_id_;
    std::map<std::string, std::string> direct_channels_;  // user id -> IM channel id
    // user + form + incident -> when its modal was last opened: a double click opens one.
    std::map<std::string, std::chrono::steady_clock::time_point> opened_forms_;
    std::atomic<bool> connected_{false};
    std::atomic<bool> stopping_{false};
    bool draining_ = false;
    bool in_batch_ = false;  // envelopes taken from the socket, not yet stored and acked
    std::size_t committed_batches_ = 0;  // batches of envelopes stored
    std::string last_error_;
    int reconnects_ = 0;
    struct Connection;
    std::shared_ptr<Connection> connection_;
};

// Its entry in bot/app/platforms.cpp: on when SLACK_BOT_TOKEN is set.
PlatformRegistration platform();

}  // namespace incident::slack

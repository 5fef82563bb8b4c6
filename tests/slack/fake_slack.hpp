#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <nlohmann/json.hpp>

#include "adapters/net/http_server.hpp"
#include "adapters/net/websocket_session.hpp"

namespace incident::testing {

// A Slack stand-in on loopback: the Web API methods the bot uses, and Socket Mode with
// Slack's delivery rules (envelopes are redelivered until acked, with retry_attempt + 1).
class FakeSlack {
public:
    struct Call {
        std::string method;
        nlohmann::json args;
        std::string authorization;
    };

    explicit FakeSlack(boost::asio::any_io_executor executor,
                       std::optional<net::TlsContext> tls = std::nullopt);

    std::string api_url() const;
    std::vector<Call> calls_of(const std::string& method) const;
    std::size_t count(const std::string& method) const { return calls_of(method).size(); }

    // Socket Mode: queue an envelope (sent now if connected, again after reconnects until acked).
    void deliver(const nlohmann::json& envelope);
    // The same with the envelope already serialised (the benchmark prepares them).
    void deliver(const std::string& envelope_id, std::string frame);
    // Sends a raw frame as is (garbage, unknown types).
    void send_raw(const std::string& frame);
    void request_refresh();  // a `disconnect` frame with reason refresh_requested
    void drop();             // closes the TCP connection without a close frame
    // The next connection gets its hello and redeliveries, then is never read again (a hung
    // server): acks are not seen and the client's pings go unanswered. It is dropped when
    // the client connects again.
    void stall_next_connection() { stall_next_ = true; }
    bool connected() const;
    std::uint16_t port() const { return server_.port(); }
    std::size_t unacked() const { return pending_.size(); }

    // Several connections at once, as Slack runs them for one app (up to 10, one per
    // replica): each envelope goes to one open connection, in turn; when a connection closes,
    // what it had not acked goes to another open one (retry_attempt + 1), or to the next one
    // that opens. Off: the newest connection gets every envelope, and each new connection
    // gets every unacked one again. Set before the first connection.
    bool spread_over_connections = false;
    std::size_t open_connections() const;
    // Envelopes sent on connection `number` that it has not acked (spread_over_connections).
    std::size_t unacked_on(int number) const;
    // Envelopes handed to another connection after theirs closed (spread_over_connections).
    std::size_t moved_to_another_connection = 0;

    std::string bot_token = "xoxb-test-bot";
    std::string app_token = "xapp-test-app";
    std::map<std::string, int> rate_limit;  // method -> how many 429s to answer next
    int retry_after_seconds = 1;
    std::map<std::string, int> server_errors;  // method -> how many HTTP 500s to answer next
    // method -> how many calls to leave unanswered for `stall_for` (then 504, unprocessed:
    // the client has given up by then).
    std::map<std::string, int> stalls;
    std::chrono::milliseconds stall_for{2000};
    int stalled_calls = 0;
    // method -> how many calls to hold open: answered (and carried out) only once
    // release_held() is called, as a server whose answers never reached a killed client.
    std::map<std::string, int> holds;
    int held_calls = 0;  // calls being held right now
    void release_held();
    // method -> how many calls to carry out and then close the connection without an answer,
    // as when it drops after Slack made the message: the work is done, the bot never hears.
    std::map<std::string, int> lost_answers;
    int lost_calls = 0;
    // The port in the Socket Mode URL (a proxy in front of this server); 0: this server's.
    std::uint16_t socket_port = 0;
    std::set<std::string> taken_names{"inc-1-checkout-down"};
    std::map<std::string, std::string> user_names{{"U1", "alice"}, {"U2", "bob"}, {"U3", "carol"}};
    std::map<std::string, std::string> channel_names{{"CGENERAL", "general"}};
    // Who created each channel (conversations.create: the bot, UBOT) and when, in Unix
    // seconds, as conversations.list shows them.
    std::map<std::string, std::pair<std::string, std::int64_t>> channel_creators;
    // The bot's IM with each user, opened by conversations.open: user id -> D... channel id.
    std::map<std::string, std::string> ims;
    // Membership (tests/protocol/slack/README.md, "not_in_channel"): the channels the bot is
    // in, by conversations.create or conversations.join (scope channels:join; is_archived
    // for an archived channel, method_not_supported_for_channel_type for a private one;
    // already in: ok with the warning already_in_channel). chat.postMessage into a public
    // channel the bot is not in answers not_in_channel unless chat:write.public is granted;
    // into a private one it is not in, channel_not_found (the bot cannot see it); into an
    // archived one, is_archived.
    std::set<std::string> member_of;
    std::set<std::string> archived;
    std::set<std::string> private_channels;
    bool is_member(const std::string& channel) const;
    // chat.postMessage calls into `channel` (an IM id: what a user received as a DM).
    std::vector<nlohmann::json> posted_in(const std::string& channel) const;
    // Granted to the bot token, sent as auth.test's x-oauth-scopes header: the scopes of
    // deploy/slack-app-manifest.yml. Erase one (drop_scope) to play a missing scope.
    std::set<std::string> scopes{"commands",         "chat:write",     "chat:write.public",
                                 "channels:manage",  "channels:read",  "channels:join",
                                 "channels:history", "groups:history", "reactions:read",
                                 "users:read",       "im:write",       "im:history",
                                 "pins:write",       "files:read"};
    bool send_scopes_header = true;
    void drop_scope(const std::string& scope) { scopes.erase(scope); }

    // Messages as they stand now, by ts: chat.postMessage adds one, chat.update replaces its
    // text and blocks (docs.slack.dev/reference/methods/chat.update: `channel` and `ts`
    // name it; an unknown one is message_not_found). chat.postMessage takes `metadata` only in
    // the documented shape (docs.slack.dev/messaging/message-metadata: an object, a JSON string
    // in a form body, with a string `event_type` and an object `event_payload`; else
    // invalid_metadata_format or invalid_metadata_schema). conversations.history serves a
    // channel's messages newest first (`limit`, default 100, at most 999; `oldest`; `cursor`),
    // with their metadata only when `include_all_metadata` is true, and needs channels:history
    // (im:history for an IM).
    std::map<std::string, nlohmann::json> messages;
    // The messages in `channel` now, oldest first.
    std::vector<nlohmann::json> messages_in(const std::string& channel) const;
    // pins.add (docs.slack.dev/reference/methods/pins.add: `channel` and `timestamp`):
    // "channel/ts" of every pinned message; pinning one twice is already_pinned.
    std::set<std::string> pinned;

    // views.open (docs.slack.dev/reference/methods/views.open and reference/views/modal-views):
    // a trigger_id is exchanged once, within 3 seconds of the interaction that carried it
    // (later: expired_trigger_id; unknown or used: invalid_arguments, "invalid `trigger_id`").
    // trigger() issues one, as Slack puts one in each interaction payload. The view must be a
    // modal within the documented limits, or views.open answers invalid_arguments.
    std::string trigger();
    std::chrono::milliseconds trigger_lifetime{3000};
    // Opened views by id, as views.open returned them; why views were refused.
    std::map<std::string, nlohmann::json> views;
    std::vector<std::string> refused_views;

    // Files on files.slack.com (docs.slack.dev/reference/objects/file-object): their
    // url_private and url_private_download are served by path, only with "Authorization:
    // Bearer <bot token>" (anything else: 403, as a private file is refused without it).
    // host_file() returns the url_private_download to put in a file object, and keeps the
    // file's object (uploaded by `user`) for files.info.
    struct HostedFile {
        std::string content;
        std::string content_type;
    };
    std::string host_file(const std::string& id, const std::string& name, std::string content,
                          std::string content_type, const std::string& user = "U2");
    std::map<std::string, HostedFile> hosted_files;  // by path
    // files.info's file objects, by file id (docs.slack.dev/reference/methods/files.info: the
    // answer is ok, file, comments and response_metadata, as
    // tests/protocol/slack/fixtures/web_files_info_ok.docs.json). Unknown: file_not_found.
    std::map<std::string, nlohmann::json> file_objects;
    std::map<std::string, int> file_errors;  // path -> how many HTTP 500s to answer next
    struct FileRequest {
        std::string path;
        std::string authorization;
        int status = 0;
    };
    std::vector<FileRequest> file_requests;

    std::vector<Call> calls;
    std::vector<nlohmann::json> acks;  // every frame the bot sent
    bool keep_acks = true;             // the benchmark only counts them
    std::size_t ack_count = 0;
    std::function<void(const std::string& envelope_id)> on_ack;
    int connections = 0;
    // Connections whose every frame has been read: what the bot sent on them is counted.
    int finished_connections = 0;
    // envelope id -> the number of the connection (1, 2, ...) that carried its first ack.
    std::map<std::string, int> acked_on;

private:
    net::HttpResponse api(const net::HttpRequest& request);
    net::HttpResponse file(const net::HttpRequest& request);
    boost::asio::awaitable<void> session(net::WebSocketSession session);

    // Sends pending envelope `seq` again on connection `number`, counting the attempt.
    void redeliver(std::uint64_t seq, int number);
    // The next open connection in turn, 0 when none is open.
    int next_connection();

    net::HttpServer server_;
    std::string scheme_;
    std::optional<net::WebSocketSession> current_;
    std::map<int, net::WebSocketSession> open_;  // by number (spread_over_connections)
    std::map<std::uint64_t, int> sent_on_;       // pending envelope -> the connection it is on
    int last_picked_ = 0;
    // Unacked envelopes in delivery order, and where each id is in it.
    std::map<std::uint64_t, std::string> pending_;
    std::unordered_map<std::string, std::uint64_t> pending_ids_;
    std::uint64_t next_seq_ = 0;
    int next_channel_ = 1;
    int next_ts_ = 1;
    int next_trigger_ = 1;
    int next_view_ = 1;
    std::map<std::string, std::chrono::steady_clock::time_point> triggers_;
    bool stall_next_ = false;
    int releases_ = 0;  // release_held() calls so far
};

}  // namespace incident::testing

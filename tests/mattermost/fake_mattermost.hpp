#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "adapters/net/http_client.hpp"
#include "adapters/net/http_server.hpp"
#include "adapters/net/websocket_session.hpp"

namespace incident::testing {

// A 26-character Mattermost-style id: "alice" -> "alice000000000000000000001".
std::string mm_id(std::string_view prefix, int n = 1);

// A Mattermost stand-in on loopback: the REST v4 routes the bot uses, and the WebSocket
// with the server's rules (authentication_challenge first; hello with a connection id;
// per-connection event seq; a dead queue of the last 128 events replayed when a client
// comes back with connection_id + sequence_number; a new connection id and hello when
// it cannot replay). Slash commands are sent to the registered command URL with its
// token, as the server does, and in_channel replies are posted with from_webhook.
class FakeMattermost {
public:
    struct Call {
        std::string method;
        std::string path;  // below /api/v4/, with the query
        nlohmann::json body;
        std::string authorization;
    };

    explicit FakeMattermost(boost::asio::any_io_executor executor,
                            std::optional<net::TlsContext> tls = std::nullopt);

    std::string url() const;  // http(s)://127.0.0.1:<port>
    std::uint16_t port() const { return server_.port(); }
    std::vector<Call> calls_of(const std::string& method, const std::string& path_prefix) const;
    std::size_t count(const std::string& method, const std::string& path_prefix) const {
        return calls_of(method, path_prefix).size();
    }

    // Chat activity: each change is stored and published as an event.
    nlohmann::json post_message(const std::string& channel_id, const std::string& user_id,
                                const std::string& message, const std::string& root_id = {},
                                std::int64_t at = 0);
    // A post another server node accepted (the same id and times), stored and published as
    // "posted": how a second replica's connection sees it.
    void deliver_post(const nlohmann::json& post);
    void edit_post(const std::string& post_id, const std::string& message, std::int64_t at = 0);
    void delete_post(const std::string& post_id, std::int64_t at = 0);
    // Pins or unpins a post as POST /posts/{id}/pin and /unpin do: is_pinned and update_at
    // change, message and edit_at stay, and post_edited is published. Returns the frame.
    std::string pin_post(const std::string& post_id, bool pinned, std::int64_t at = 0);
    // Sets props of a post as PUT /posts/{id}/patch with only `props` does (an integration
    // or plugin): message, edit_at and is_pinned stay, update_at moves, post_edited is
    // published. Returns the frame.
    std::string set_props(const std::string& post_id, const nlohmann::json& props,
                          std::int64_t at = 0);
    void react(bool added, const std::string& post_id, const std::string& user_id,
               const std::string& emoji, std::int64_t at = 0);
    // Publishes an event: the next seq of the connection, into the dead queue, sent if the
    // client is connected. Returns the frame.
    std::string publish(const std::string& event, nlohmann::json data, nlohmann::json broadcast);
    // The same with `data` as raw text, which need not be valid JSON (a poison event).
    std::string publish_text(const std::string& event, const std::string& data,
                             const nlohmann::json& broadcast);
    // Sends a frame exactly as given (no seq, not queued).
    void send_raw(const std::string& frame);
    // Re-sends an already published frame as is (same seq): a duplicate delivery.
    void resend(const std::string& frame);

    // Drops the TCP connection without a close frame; the connection stays resumable.
    void drop();
    // The next connection is served up to its hello or replay, then never read again (a
    // hung server): the client's pings go unanswered. One connection only.
    void hang_next_connection() { hang_next_ = true; }
    // Forgets every connection (a server restart): the next client gets a new id and hello.
    void forget_connections();
    bool connected() const;
    // The seq the next published event gets.
    std::int64_t next_sequence() const { return next_seq_; }

    // A slash command as the server sends it to the registered command's URL, with its
    // token; an in_channel reply becomes a post with props.from_webhook. Returns the reply.
    boost::asio::awaitable<nlohmann::json> run_command(const std::string& channel_id,
                                                       const std::string& user_id,
                                                       const std::string& text);
    // The form body of such a request.
    std::string command_body(const std::string& channel_id, const std::string& user_id,
                             const std::string& text, const std::string& token);

    // A click on button `action_id` of `post_id` by `user_id`, as the server sends it
    // (DoPostActionWithCookie): POST <integration.url> with the PostActionIntegrationRequest
    // (the action's stored context and a new trigger id). The integration's answer.
    struct ActionAnswer {
        int status = 0;
        nlohmann::json body;  // null when it was not JSON
        std::string trigger_id;
    };
    boost::asio::awaitable<ActionAnswer> click(const std::string& post_id,
                                               const std::string& action_id,
                                               const std::string& user_id);
    // The same request with `context` in place of the stored one (a forged request).
    boost::asio::awaitable<ActionAnswer> post_action(const std::string& url,
                                                     const std::string& post_id,
                                                     const std::string& user_id,
                                                     const nlohmann::json& context);
    // Submits the `index`-th dialog opened, as the client and SubmitInteractiveDialog do:
    // POST <url> with {type: dialog_submission, callback_id, state, user_id, channel_id,
    // team_id, submission, cancelled}. The integration's answer (`state` overridden when
    // given: a tampered submission).
    boost::asio::awaitable<ActionAnswer> submit_dialog(std::size_t index,
                                                       const std::string& user_id,
                                                       const nlohmann::json& submission,
                                                       std::optional<std::string> state = {},
                                                       bool cancelled = false);
    // Dialogs opened through POST actions/dialogs/open (the OpenDialogRequest with the
    // trigger id) and why a request to open one was refused.
    std::vector<nlohmann::json> dialogs;
    std::vector<std::string> dialog_refusals;
    // How long a trigger id may be used after the click (3 s: InteractiveDialogTriggerTimeout
    // of servers before 5.x's configurable OutgoingIntegrationRequestsTimeout).
    std::chrono::milliseconds trigger_timeout{3000};

    std::string token = "mmbottoken00000000000000000";
    std::string socket_token;  // what the WebSocket accepts; empty: `token`
    std::string bot_user_id = mm_id("bot");
    std::string team_id = mm_id("team");
    std::string team_name = "ops";
    std::map<std::string, std::string> users;  // id -> username
    std::set<std::string> taken_names{"inc-1-checkout-down"};
    std::map<std::string, int> rate_limit;  // "POST posts" -> how many 429s to answer next
    int retry_after_seconds = 1;
    bool rate_limit_with_reset_header = false;  // X-Ratelimit-Reset only, no Retry-After
    // Keyed like rate_limit: how many HTTP 500s to answer next.
    std::map<std::string, int> server_errors;
    // Keyed like rate_limit: how many 403s (no permission: the server refuses) to answer next.
    std::map<std::string, int> forbidden;
    // Keyed like rate_limit: how many requests to leave unanswered for `stall_for` (then
    // 504, unprocessed: the client has given up by then).
    std::map<std::string, int> stalls;
    std::chrono::milliseconds stall_for{2000};
    int stalled_calls = 0;
    // Keyed like rate_limit: how many requests to carry out and then answer 504, as a proxy
    // in front of the server does when it stopped waiting for an answer that came too late:
    // the work is done, the client never sees its answer.
    std::map<std::string, int> lost_answers;
    int lost_calls = 0;
    bool commands_forbidden = false;
    // What users/me and teams/{team}/members/{user} say of the bot, and what POST roles/names
    // answers for each role.
    std::string bot_roles = "system_user";
    std::string bot_team_roles = "team_user team_admin";
    std::map<std::string, std::vector<std::string>> role_permissions{
        {"system_user", {"create_team", "create_direct_channel"}},
        {"team_user", {"create_public_channel", "join_public_channels", "view_team"}},
        {"team_admin", {"manage_slash_commands", "manage_team"}}};
    std::vector<nlohmann::json> commands;
    std::int64_t clock = 1'800'000'000'000;  // ms; each event without `at` moves it by 1 s

    struct Channel {
        std::string id, team_id, name, display_name, header, type;
        std::set<std::string> members;
        std::string creator_id;  // who created it through the API ("" for set-up channels)
    };
    std::map<std::string, Channel> channels;
    std::map<std::string, nlohmann::json> posts;
    std::string town_square_id = mm_id("townsquare");

    // Files (REST v4 "files"): uploaded ones by id, each with its FileInfo (the fields of
    // tests/protocol/mattermost/fixtures/file_info.api-docs.json). GET files/{id}/info answers
    // the FileInfo and GET files/{id} the bytes, only with the bot's token (else 401).
    struct StoredFile {
        nlohmann::json info;
        std::string content;
    };
    // Stores a file as the bot's users upload it; `claimed_size` (when >= 0) is what its
    // FileInfo says instead of the real size.
    std::string upload_file(const std::string& user_id, const std::string& name,
                            const std::string& mime_type, std::string content,
                            std::int64_t claimed_size = -1);
    // A post with attachments, as the server publishes it: file_ids and metadata.files
    // (without `metadata`: as servers before 5.x do).
    nlohmann::json post_files(const std::string& channel_id, const std::string& user_id,
                              const std::string& message, const std::vector<std::string>& ids,
                              bool metadata = true);
    std::map<std::string, StoredFile> files;
    std::map<std::string, int> file_errors;  // file id -> how many HTTP 500s GET files/{id} answers

    std::vector<Call> calls;
    std::vector<nlohmann::json> received;     // every frame the client sent
    std::vector<std::string> socket_targets;  // request target of every WebSocket upgrade
    int connections = 0;
    int hellos = 0;
    int replays = 0;  // connections resumed from the dead queue

private:
    net::HttpResponse api(const net::HttpRequest& request);
    boost::asio::awaitable<void> session(net::WebSocketSession session);
    // A new post by `user_id` (next id, stamped), not stored or published yet.
    nlohmann::json new_post(const std::string& channel_id, const std::string& user_id,
                            const std::string& message, const std::string& root_id,
                            std::int64_t at);
    Channel* channel_by_name(const std::string& team, const std::string& name);
    nlohmann::json channel_json(const Channel& c) const;
    std::int64_t stamp(std::int64_t at);
    void publish_post_event(const std::string& event, const nlohmann::json& post,
                            const nlohmann::json& extra);

    boost::asio::any_io_executor executor_;
    net::HttpServer server_;
    net::HttpClient client_;
    std::string scheme_;
    std::optional<net::WebSocketSession> current_;
    // The server's connection state for the one bot connection.
    std::string connection_id_;
    std::int64_t next_seq_ = 0;
    std::deque<std::pair<std::int64_t, std::string>> dead_queue_;
    int next_id_ = 1;
    std::map<std::string, int> reaction_counts_;  // post id -> reactions on it
    bool hang_next_ = false;
    struct Trigger {
        std::string user_id, channel_id;
        std::chrono::steady_clock::time_point issued;
    };
    std::map<std::string, Trigger> triggers_;
    std::vector<std::string> dialog_channels_;  // per dialogs[i]: where its click was
    boost::asio::awaitable<ActionAnswer> send_json(const std::string& url,
                                                   const nlohmann::json& body);
    std::optional<std::string> dialog_problem(const nlohmann::json& request) const;
};

}  // namespace incident::testing

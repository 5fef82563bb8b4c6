#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "adapters/net/http_client.hpp"
#include "adapters/net/observer.hpp"
#include "adapters/net/retrying_caller.hpp"

namespace incident::mattermost {

struct ApiResult {
    bool ok = false;
    int status = 0;        // HTTP status, 0 when nothing was received
    std::string error_id;  // Mattermost's error id ("store.sql_channel.save_channel.exists...")
    std::string error;     // its message, or what failed on the way
    nlohmann::json body;   // the answer when it was JSON

    // "HTTP 403 api.context.permissions.app_error: You do not have ..." for logs.
    std::string describe() const;
};

// How long a 429 (or an exhausted X-Ratelimit-Remaining) asks us to wait: Retry-After,
// else X-Ratelimit-Reset. The server sends seconds until the reset; an epoch value (what
// the API docs describe) is recognised too. Nullopt when the response says nothing.
std::optional<std::chrono::milliseconds> rate_limit_delay(const net::HttpResponse& response,
                                                          std::int64_t now_epoch_seconds);

// REST API v4 with "Authorization: Bearer <token>". A 429 is waited out and the call
// repeated, so a post is delayed, never dropped; network errors and 5xx are retried with
// backoff a bounded number of times. Every failure is logged with the method and path
// (never the token).
class RestApi {
public:
    // `server_url`: the Mattermost base URL (https://chat.example.com[/subpath]).
    RestApi(boost::asio::any_io_executor executor, net::HttpClient& http, std::string server_url,
            std::string token, net::PlatformObserver* observer = nullptr);

    // `path` below /api/v4/ ("users/me"); a null body sends none.
    boost::asio::awaitable<ApiResult> call(std::string method, std::string path,
                                           nlohmann::json body = nullptr);
    // The same tried at most `max_attempts` times on network errors and 5xx (429s are
    // still waited out: the server did nothing).
    boost::asio::awaitable<ApiResult> call(std::string method, std::string path,
                                           nlohmann::json body, int max_attempts);

    boost::asio::awaitable<ApiResult> get_me();
    boost::asio::awaitable<ApiResult> get_my_teams();
    boost::asio::awaitable<ApiResult> get_user(std::string user_id);
    // GET /users/username/{username}: a person named as typed ("@bob" in a command).
    boost::asio::awaitable<ApiResult> get_user_by_username(std::string username);
    boost::asio::awaitable<ApiResult> get_team_by_name(std::string name);
    boost::asio::awaitable<ApiResult> get_team(std::string team_id);
    // type "O"; the header is set at creation.
    boost::asio::awaitable<ApiResult> create_channel(std::string team_id, std::string name,
                                                     std::string display_name, std::string header);
    boost::asio::awaitable<ApiResult> get_channel_by_name(std::string team_id, std::string name);
    boost::asio::awaitable<ApiResult> add_member(std::string channel_id, std::string user_id);
    boost::asio::awaitable<ApiResult> patch_channel_header(std::string channel_id,
                                                           std::string header);
    // `props` (an object; null sends none): attachments with buttons.
    boost::asio::awaitable<ApiResult> create_post(std::string channel_id, std::string message,
                                                  std::string root_id = {},
                                                  nlohmann::json props = nullptr);
    // The same sent once whatever the answer: a post the server took although its answer was
    // lost (no answer, a proxy's 504) is not posted again here; the outbox looks for its
    // marker among the channel's recent posts before it tries again.
    boost::asio::awaitable<ApiResult> create_post_once(std::string channel_id, std::string message,
                                                       nlohmann::json props);
    // GET channels/{id}/posts?page=0&per_page=N: the channel's newest posts, a PostList
    // (`order` newest first, `posts` by id). The server gives at most 200 per page.
    boost::asio::awaitable<ApiResult> get_recent_posts(std::string channel_id, int per_page);
    // PUT posts/{id}/patch with the new message (the live summary). Given props replace the
    // post's props as a whole, so the buttons are sent again with every patch.
    boost::asio::awaitable<ApiResult> patch_post(std::string post_id, std::string message,
                                                 nlohmann::json props = nullptr);
    // POST actions/dialogs/open: shows `dialog` to the user whose click made `trigger_id`,
    // submitted to `url`.
    boost::asio::awaitable<ApiResult> open_dialog(std::string trigger_id, std::string url,
                                                  nlohmann::json dialog);
    // POST posts/{id}/pin: pinned to its channel (pinning a pinned post succeeds).
    boost::asio::awaitable<ApiResult> pin_post(std::string post_id);
    boost::asio::awaitable<ApiResult> direct_channel(std::string user_a, std::string user_b);
    boost::asio::awaitable<ApiResult> get_channel_posts_since(std::string channel_id,
                                                              std::int64_t since);
    boost::asio::awaitable<ApiResult> list_commands(std::string team_id);
    boost::asio::awaitable<ApiResult> create_command(nlohmann::json command);

    const std::string& api_base() const { return api_base_; }

    // Retry pacing for transient failures, shortened by tests.
    void set_retry_policy(int max_attempts, std::chrono::milliseconds first_delay) {
        caller_.set_retry_policy(max_attempts, first_delay);
    }

private:
    std::string api_base_;
    std::string token_;
    net::RetryingCaller caller_;
};

// "http://host:8065/" -> "http://host:8065" (no trailing slashes).
std::string trim_base_url(std::string url);

}  // namespace incident::mattermost

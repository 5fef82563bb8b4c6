#pragma once

#include <chrono>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "adapters/net/form.hpp"
#include "adapters/net/http_client.hpp"
#include "adapters/net/observer.hpp"
#include "adapters/net/retrying_caller.hpp"

namespace incident::slack {

struct ApiResult {
    bool ok = false;
    int status = 0;        // HTTP status, 0 when nothing was received
    std::string error;     // Slack's "error" field, or what failed on the way
    nlohmann::json body;   // the whole answer when it was JSON
    net::Headers headers;  // e.g. x-oauth-scopes, the scopes the token was granted

    // The member `key` of the answer when it is an object, else an empty object: Slack's
    // answers may leave a field out, and reading a missing key of a const json is undefined.
    const nlohmann::json& object_at(const char* key) const;
};

// Slack Web API calls with the bot token. A 429 is waited out (Retry-After) and the call
// repeated, so a message is delayed, never dropped; network errors and 5xx are retried
// with backoff a bounded number of times. Every non-ok answer is logged with its method.
class WebApi {
public:
    WebApi(boost::asio::any_io_executor executor, net::HttpClient& http, std::string base_url,
           std::string token, net::PlatformObserver* observer = nullptr);

    // JSON body; Authorization: Bearer <token> (or `token_override`, e.g. the app token).
    boost::asio::awaitable<ApiResult> call(const std::string& method, nlohmann::json args,
                                           const std::string& token_override = {});
    // The same sent at most once on network errors and 5xx (a 429 is still waited out): for
    // a post Slack may have made although its answer was lost, which only a lookup can tell.
    boost::asio::awaitable<ApiResult> call_once(const std::string& method, nlohmann::json args);
    // Form body, for the read methods that do not take JSON (users.info, conversations.list).
    boost::asio::awaitable<ApiResult> call_form(const std::string& method, net::FormFields args,
                                                const std::string& token_override = {});

    // Retry pacing, shortened by tests.
    void set_retry_policy(int max_attempts, std::chrono::milliseconds first_delay) {
        caller_.set_retry_policy(max_attempts, first_delay);
    }

private:
    boost::asio::awaitable<ApiResult> send(const std::string& method, std::string body, bool json,
                                           const std::string& token_override, int max_attempts = 0);

    std::string base_url_;
    std::string token_;
    net::RetryingCaller caller_;
};

}  // namespace incident::slack

#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "adapters/net/http_client.hpp"
#include "adapters/net/http_types.hpp"
#include "adapters/net/observer.hpp"

namespace incident::net {

// How one platform's API asks to slow down.
struct RateLimitRules {
    // How long a 429 asks to wait; nullopt when it does not say. Unset: its Retry-After.
    std::function<std::optional<std::chrono::milliseconds>(const HttpResponse&)> delay;
    // The wait after a 429 that does not say how long.
    std::chrono::milliseconds fallback{30'000};
    // The least wait after any 429.
    std::chrono::milliseconds floor{0};
    // How long to hold back the next call although this answer went through (the window
    // is used up); unset or nullopt: no wait.
    std::function<std::optional<std::chrono::milliseconds>(const HttpResponse&)> exhausted;
};

// One API call as logs and metrics name it.
struct ApiCallName {
    std::string method;        // in log lines, after the platform: "chat.postMessage", "POST posts"
    std::string metric;        // the metrics' method label: "chat.postMessage", "posts"
    std::string limit_bucket;  // calls in the same bucket wait out one another's 429s
};

// Sends a chat platform's API requests. A 429 is waited out and the request repeated, so a
// post is delayed, never dropped; network errors and 5xx are retried with backoff a bounded
// number of times. Every wait and retry is logged naming the platform and the method, and
// counted through the observer; so is every failure the platform reports with failed().
class RetryingCaller {
public:
    RetryingCaller(boost::asio::any_io_executor executor, HttpClient& http, std::string platform,
                   PlatformObserver* observer, RateLimitRules rules = {});

    // The answer that ended the retries: anything but a 429, and a network error or 5xx
    // only once the attempts are used up. `max_attempts` (when not 0) bounds the tries of
    // this call instead of the policy: 1 for a call that must not be repeated blindly (a post
    // the server may have taken although its answer was lost).
    boost::asio::awaitable<HttpResponse> send(HttpRequest request, const ApiCallName& name,
                                              int max_attempts = 0);
    // A call whose final answer was not ok: logged as an error and counted.
    void failed(const ApiCallName& name, std::string_view why);

    // Retry pacing for transient failures, shortened by tests.
    void set_retry_policy(int max_attempts, std::chrono::milliseconds first_delay) {
        max_attempts_ = max_attempts;
        first_delay_ = first_delay;
    }

private:
    boost::asio::awaitable<void> sleep(std::chrono::milliseconds delay);
    void block(const std::string& bucket, std::chrono::milliseconds delay);

    boost::asio::any_io_executor executor_;
    HttpClient& http_;
    std::string platform_;
    PlatformObserver* observer_;
    RateLimitRules rules_;
    std::map<std::string, std::chrono::steady_clock::time_point> blocked_until_;
    int max_attempts_ = 6;
    std::chrono::milliseconds first_delay_{500};
};

}  // namespace incident::net

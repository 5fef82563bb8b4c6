#include "adapters/net/retrying_caller.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "adapters/net/backoff.hpp"
#include "adapters/net/retry_after.hpp"

namespace incident::net {

namespace asio = boost::asio;
using std::chrono::milliseconds;

RetryingCaller::RetryingCaller(asio::any_io_executor executor, HttpClient& http,
                               std::string platform, PlatformObserver* observer,
                               RateLimitRules rules)
    : executor_(std::move(executor)),
      http_(http),
      platform_(std::move(platform)),
      observer_(observer),
      rules_(std::move(rules)) {}

asio::awaitable<void> RetryingCaller::sleep(milliseconds delay) {
    asio::steady_timer timer(executor_, delay);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

void RetryingCaller::block(const std::string& bucket, milliseconds delay) {
    // Never shortens a wait another answer asked for.
    auto& until = blocked_until_[bucket];
    until = std::max(until, std::chrono::steady_clock::now() + delay);
}

asio::awaitable<HttpResponse> RetryingCaller::send(HttpRequest request, const ApiCallName& name,
                                                   int max_attempts) {
    const int attempts_allowed = max_attempts > 0 ? max_attempts : max_attempts_;
    Backoff backoff(BackoffOptions{first_delay_, milliseconds(60'000), Jitter::full});
    int attempt = 0;
    while (true) {
        if (const auto it = blocked_until_.find(name.limit_bucket); it != blocked_until_.end()) {
            const auto now = std::chrono::steady_clock::now();
            if (it->second > now) {
                co_await sleep(std::chrono::ceil<milliseconds>(it->second - now));
            }
        }
        HttpRequest this_attempt = request;
        HttpResponse response = co_await http_.request(std::move(this_attempt));
        ++attempt;
        if (rules_.exhausted) {
            const auto pause = rules_.exhausted(response);
            if (pause && pause->count() > 0) block(name.limit_bucket, *pause);
        }

        if (response.status == 429) {
            std::optional<milliseconds> asked;
            if (rules_.delay) {
                asked = rules_.delay(response);
            } else if (const auto seconds = retry_after(response)) {
                asked = *seconds;
            }
            const milliseconds wait = std::max(asked.value_or(rules_.fallback), rules_.floor);
            block(name.limit_bucket, wait);
            spdlog::warn("{} {}: rate limited, retrying in {} ms (the call is kept, not dropped)",
                         platform_, name.method, wait.count());
            if (observer_) observer_->rate_limited(platform_, name.metric);
            continue;  // 429s never count against the attempts: delayed, never dropped
        }
        const bool transient = response.status == 0 || response.status >= 500;
        if (transient && attempt < attempts_allowed) {
            const auto delay = backoff.next();
            std::string what = response.error;
            if (response.status != 0) what = "HTTP " + std::to_string(response.status);
            spdlog::warn("{} {}: {} (attempt {}/{}), retrying in {} ms", platform_, name.method,
                         what, attempt, attempts_allowed, delay.count());
            co_await sleep(delay);
            continue;
        }
        co_return response;
    }
}

void RetryingCaller::failed(const ApiCallName& name, std::string_view why) {
    spdlog::error("{} {}: failed: {}", platform_, name.method, why);
    if (observer_) observer_->api_error(platform_, name.metric);
}

}  // namespace incident::net

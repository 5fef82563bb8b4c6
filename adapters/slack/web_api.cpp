#include "adapters/slack/web_api.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "adapters/net/backoff.hpp"
#include "adapters/net/retry_after.hpp"

namespace incident::slack {

namespace asio = boost::asio;

WebApi::WebApi(asio::any_io_executor executor, net::HttpClient& http, std::string base_url,
               std::string token, net::PlatformObserver* observer)
    : executor_(std::move(executor)),
      http_(http),
      base_url_(std::move(base_url)),
      token_(std::move(token)),
      observer_(observer) {}

asio::awaitable<void> WebApi::sleep(std::chrono::milliseconds delay) {
    asio::steady_timer timer(executor_, delay);
    co_await timer.async_wait(asio::use_awaitable);
}

asio::awaitable<ApiResult> WebApi::call(const std::string& method, nlohmann::json args,
                                        const std::string& token_override) {
    // Named first: GCC 12 destroys a conditional's temporary twice inside co_await.
    std::string body;
    if (!args.is_null()) body = args.dump();
    co_return co_await send(method, std::move(body), true, token_override);
}

asio::awaitable<ApiResult> WebApi::call_form(const std::string& method, net::FormFields args,
                                             const std::string& token_override) {
    co_return co_await send(method, net::encode_form(args), false, token_override);
}

asio::awaitable<ApiResult> WebApi::send(const std::string& method, std::string body, bool json,
                                        const std::string& token_override) {
    net::Backoff backoff(net::BackoffOptions{first_delay_, std::chrono::milliseconds(60'000),
                                             net::Jitter::full});
    int attempt = 0;
    while (true) {
        if (const auto it = blocked_until_.find(method); it != blocked_until_.end()) {
            const auto now = std::chrono::steady_clock::now();
            if (it->second > now) {
                co_await sleep(std::chrono::ceil<std::chrono::milliseconds>(it->second - now));
            }
        }
        net::HttpRequest request;
        request.method = "POST";
        request.url = base_url_ + method;
        request.headers.set("Authorization",
                            "Bearer " + (token_override.empty() ? token_ : token_override));
        request.headers.set("Content-Type", json ? "application/json; charset=utf-8"
                                                 : "application/x-www-form-urlencoded");
        request.body = body;
        const net::HttpResponse response = co_await http_.request(std::move(request));
        ++attempt;

        if (response.status == 429) {
            const auto wait = net::retry_after(response).value_or(std::chrono::seconds(30));
            blocked_until_[method] = std::chrono::steady_clock::now() + wait;
            spdlog::warn("slack {}: rate limited, retrying in {}s (the call is kept, not dropped)",
                         method, wait.count());
            if (observer_) observer_->rate_limited("slack", method);
            continue;  // 429s never count against the attempts: delayed, never dropped
        }
        const bool transient = response.status == 0 || response.status >= 500;
        if (transient && attempt < max_attempts_) {
            const auto delay = backoff.next();
            spdlog::warn("slack {}: {} (attempt {}/{}), retrying in {} ms", method,
                         response.status ? "HTTP " + std::to_string(response.status) : response.error,
                         attempt, max_attempts_, delay.count());
            co_await sleep(delay);
            continue;
        }

        ApiResult result;
        result.status = response.status;
        result.headers = response.headers;
        if (response.status == 0) {
            result.error = response.error;
        } else {
            result.body = nlohmann::json::parse(response.body, nullptr, false);
            if (result.body.is_discarded() || !result.body.is_object()) {
                result.error = "HTTP " + std::to_string(response.status) + ", not a JSON object";
                result.body = nlohmann::json();
            } else {
                result.ok = result.body.value("ok", false);
                if (!result.ok) result.error = result.body.value("error", std::string("unknown_error"));
            }
        }
        if (!result.ok) {
            spdlog::error("slack {}: failed: {}", method, result.error);
            if (observer_) observer_->api_error("slack", method);
        }
        co_return result;
    }
}

}  // namespace incident::slack

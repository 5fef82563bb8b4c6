#include "adapters/slack/web_api.hpp"

#include <boost/asio/use_awaitable.hpp>

namespace incident::slack {

const nlohmann::json& ApiResult::object_at(const char* key) const {
    static const nlohmann::json empty = nlohmann::json::object();
    if (!body.is_object()) return empty;
    const auto found = body.find(key);
    return found != body.end() && found->is_object() ? *found : empty;
}

namespace asio = boost::asio;

WebApi::WebApi(asio::any_io_executor executor, net::HttpClient& http, std::string base_url,
               std::string token, net::PlatformObserver* observer)
    : base_url_(std::move(base_url)),
      token_(std::move(token)),
      // Rate limits are per method: once Slack said wait, every call of that method waits
      // (Retry-After, else 30 s).
      caller_(std::move(executor), http, "slack", observer, net::RateLimitRules{}) {}

asio::awaitable<ApiResult> WebApi::call(const std::string& method, nlohmann::json args,
                                        const std::string& token_override) {
    // Named first: GCC 12 destroys a conditional's temporary twice inside co_await.
    std::string body;
    if (!args.is_null()) body = args.dump();
    co_return co_await send(method, std::move(body), true, token_override);
}

asio::awaitable<ApiResult> WebApi::call_once(const std::string& method, nlohmann::json args) {
    std::string body = args.dump();
    co_return co_await send(method, std::move(body), true, {}, 1);
}

asio::awaitable<ApiResult> WebApi::call_form(const std::string& method, net::FormFields args,
                                             const std::string& token_override) {
    co_return co_await send(method, net::encode_form(args), false, token_override);
}

asio::awaitable<ApiResult> WebApi::send(const std::string& method, std::string body, bool json,
                                        const std::string& token_override, int max_attempts) {
    net::HttpRequest request;
    request.method = "POST";
    request.url = base_url_ + method;
    request.headers.set("Authorization",
                        "Bearer " + (token_override.empty() ? token_ : token_override));
    request.headers.set("Content-Type", json ? "application/json; charset=utf-8"
                                             : "application/x-www-form-urlencoded");
    request.body = std::move(body);
    const net::ApiCallName name{method, method, method};
    const net::HttpResponse response =
        co_await caller_.send(std::move(request), name, max_attempts);

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
    if (!result.ok) caller_.failed(name, result.error);
    co_return result;
}

}  // namespace incident::slack

#include "adapters/mattermost/rest_api.hpp"

#include <algorithm>
#include <charconv>

#include <boost/asio/use_awaitable.hpp>

#include "adapters/net/form.hpp"
#include "adapters/net/retry_after.hpp"

namespace incident::mattermost {

namespace asio = boost::asio;
using nlohmann::json;
using std::chrono::milliseconds;

namespace {

constexpr std::int64_t k_max_wait_seconds = 3600;
// Some servers answer 429 with "Retry-After: 0"; never hammer them in a tight loop.
constexpr milliseconds k_min_rate_limit_wait{250};

std::optional<std::int64_t> parse_int(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

// Ids in paths would make one metric label per channel: "channels/{id}/members".
std::string route_label(std::string_view path) {
    path = path.substr(0, path.find('?'));
    std::string out;
    while (!path.empty()) {
        const auto slash = path.find('/');
        const std::string_view part = path.substr(0, slash);
        path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
        bool id = part.size() == 26;
        for (const char c : part) id = id && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
        // Nor one per person: "users/username/{name}".
        const bool name = out == "users/username";
        if (!out.empty()) out += '/';
        out += name ? std::string("{name}") : id ? std::string("{id}") : std::string(part);
    }
    return out;
}

std::int64_t epoch_seconds() {
    using namespace std::chrono;
    return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

// 429s wait for Retry-After or X-Ratelimit-Reset (else 1 s, and never less than 250 ms);
// the last request of a window makes the next one wait for the reset instead of
// collecting a 429.
net::RateLimitRules rate_limit_rules() {
    net::RateLimitRules rules;
    rules.delay = [](const net::HttpResponse& response) {
        return rate_limit_delay(response, epoch_seconds());
    };
    rules.fallback = milliseconds(1000);
    rules.floor = k_min_rate_limit_wait;
    rules.exhausted = [](const net::HttpResponse& response) -> std::optional<milliseconds> {
        const auto remaining = response.headers.get("X-Ratelimit-Remaining");
        if (!remaining || parse_int(*remaining) != std::int64_t{0}) return std::nullopt;
        return rate_limit_delay(response, epoch_seconds());
    };
    return rules;
}

}  // namespace

std::string ApiResult::describe() const {
    if (status == 0) return error;
    std::string out = "HTTP " + std::to_string(status);
    if (!error_id.empty()) out += " " + error_id;
    if (!error.empty()) out += ": " + error;
    return out;
}

std::optional<milliseconds> rate_limit_delay(const net::HttpResponse& response,
                                             std::int64_t now_epoch_seconds) {
    if (const auto retry = net::retry_after(response)) {
        return std::chrono::duration_cast<milliseconds>(
            std::min(*retry, std::chrono::seconds(k_max_wait_seconds)));
    }
    const auto reset_header = response.headers.get("X-Ratelimit-Reset");
    if (!reset_header) return std::nullopt;
    auto reset = parse_int(*reset_header);
    if (!reset || *reset < 0) return std::nullopt;
    // The code sends seconds until the reset; the docs say an epoch. A value that can only
    // be an epoch is read as one.
    if (*reset > 1'000'000'000) *reset = std::max<std::int64_t>(0, *reset - now_epoch_seconds);
    return milliseconds(std::min(*reset, k_max_wait_seconds) * 1000);
}

std::string trim_base_url(std::string url) {
    while (!url.empty() && url.back() == '/') url.pop_back();
    return url;
}

RestApi::RestApi(asio::any_io_executor executor, net::HttpClient& http, std::string server_url,
                 std::string token, net::PlatformObserver* observer)
    : api_base_(trim_base_url(std::move(server_url)) + "/api/v4/"),
      token_(std::move(token)),
      caller_(std::move(executor), http, "mattermost", observer, rate_limit_rules()) {}

asio::awaitable<ApiResult> RestApi::call(std::string method, std::string path, json body) {
    co_return co_await call(std::move(method), std::move(path), std::move(body), 0);
}

asio::awaitable<ApiResult> RestApi::call(std::string method, std::string path, json body,
                                         int max_attempts) {
    net::HttpRequest request;
    request.method = method;
    request.url = api_base_ + path;
    request.headers.set("Authorization", "Bearer " + token_);
    request.headers.set("Accept", "application/json");
    if (!body.is_null()) {
        request.headers.set("Content-Type", "application/json");
        request.body = body.dump();
    }
    const std::string label = route_label(path);
    // Mattermost limits per token (or IP), not per route: one wait for every call.
    const net::ApiCallName name{method + " " + label, label, std::string()};
    const net::HttpResponse response =
        co_await caller_.send(std::move(request), name, max_attempts);

    ApiResult result;
    result.status = response.status;
    if (response.status == 0) {
        result.error = response.error;
    } else {
        result.ok = response.ok();
        result.body = json::parse(response.body, nullptr, false);
        if (result.body.is_discarded()) result.body = json();
        if (!result.ok) {
            if (result.body.is_object()) {
                result.error_id = result.body.value("id", std::string());
                result.error = result.body.value("message", std::string());
            } else {
                result.error = response.body.substr(0, 200);
                while (!result.error.empty() &&
                       (result.error.back() == '\n' || result.error.back() == '\r')) {
                    result.error.pop_back();
                }
            }
        }
    }
    if (!result.ok) caller_.failed(name, result.describe());
    co_return result;
}

asio::awaitable<ApiResult> RestApi::get_me() {
    co_return co_await call("GET", "users/me");
}

asio::awaitable<ApiResult> RestApi::get_my_teams() {
    co_return co_await call("GET", "users/me/teams");
}

asio::awaitable<ApiResult> RestApi::get_user(std::string user_id) {
    std::string path = "users/" + net::percent_encode(user_id);
    co_return co_await call("GET", std::move(path));
}

asio::awaitable<ApiResult> RestApi::get_user_by_username(std::string username) {
    std::string path = "users/username/" + net::percent_encode(username);
    co_return co_await call("GET", std::move(path));
}

asio::awaitable<ApiResult> RestApi::get_team_by_name(std::string name) {
    std::string path = "teams/name/" + net::percent_encode(name);
    co_return co_await call("GET", std::move(path));
}

asio::awaitable<ApiResult> RestApi::get_team(std::string team_id) {
    std::string path = "teams/" + net::percent_encode(team_id);
    co_return co_await call("GET", std::move(path));
}

asio::awaitable<ApiResult> RestApi::create_channel(std::string team_id, std::string name,
                                                   std::string display_name, std::string header) {
    json body = json::object();
    body["team_id"] = team_id;
    body["name"] = name;
    body["display_name"] = display_name;
    body["type"] = "O";
    if (!header.empty()) body["header"] = header;
    co_return co_await call("POST", "channels", std::move(body));
}

asio::awaitable<ApiResult> RestApi::get_channel_by_name(std::string team_id, std::string name) {
    std::string path =
        "teams/" + net::percent_encode(team_id) + "/channels/name/" + net::percent_encode(name);
    co_return co_await call("GET", std::move(path));
}

asio::awaitable<ApiResult> RestApi::add_member(std::string channel_id, std::string user_id) {
    json body = json::object();
    body["user_id"] = user_id;
    std::string path = "channels/" + net::percent_encode(channel_id) + "/members";
    co_return co_await call("POST", std::move(path), std::move(body));
}

asio::awaitable<ApiResult> RestApi::patch_channel_header(std::string channel_id,
                                                         std::string header) {
    json body = json::object();
    body["header"] = header;
    std::string path = "channels/" + net::percent_encode(channel_id) + "/patch";
    co_return co_await call("PUT", std::move(path), std::move(body));
}

asio::awaitable<ApiResult> RestApi::create_post(std::string channel_id, std::string message,
                                                std::string root_id, json props) {
    json body = json::object();
    body["channel_id"] = channel_id;
    body["message"] = message;
    if (!root_id.empty()) body["root_id"] = root_id;
    if (!props.is_null()) body["props"] = std::move(props);
    co_return co_await call("POST", "posts", std::move(body));
}

asio::awaitable<ApiResult> RestApi::create_post_once(std::string channel_id, std::string message,
                                                     json props) {
    json body = json::object();
    body["channel_id"] = channel_id;
    body["message"] = message;
    body["props"] = std::move(props);
    co_return co_await call("POST", "posts", std::move(body), 1);
}

asio::awaitable<ApiResult> RestApi::get_recent_posts(std::string channel_id, int per_page) {
    std::string path = "channels/" + net::percent_encode(channel_id) +
                       "/posts?page=0&per_page=" + std::to_string(per_page);
    co_return co_await call("GET", std::move(path));
}

asio::awaitable<ApiResult> RestApi::patch_post(std::string post_id, std::string message,
                                               json props) {
    json body = json::object();
    body["message"] = message;
    if (!props.is_null()) body["props"] = std::move(props);
    std::string path = "posts/" + net::percent_encode(post_id) + "/patch";
    co_return co_await call("PUT", std::move(path), std::move(body));
}

asio::awaitable<ApiResult> RestApi::open_dialog(std::string trigger_id, std::string url,
                                                json dialog) {
    json body = json::object();
    body["trigger_id"] = trigger_id;
    body["url"] = url;
    body["dialog"] = std::move(dialog);
    co_return co_await call("POST", "actions/dialogs/open", std::move(body));
}

asio::awaitable<ApiResult> RestApi::pin_post(std::string post_id) {
    std::string path = "posts/" + net::percent_encode(post_id) + "/pin";
    co_return co_await call("POST", std::move(path));
}

asio::awaitable<ApiResult> RestApi::direct_channel(std::string user_a, std::string user_b) {
    json body = json::array();
    body.push_back(user_a);
    body.push_back(user_b);
    co_return co_await call("POST", "channels/direct", std::move(body));
}

asio::awaitable<ApiResult> RestApi::get_channel_posts_since(std::string channel_id,
                                                            std::int64_t since) {
    std::string path =
        "channels/" + net::percent_encode(channel_id) + "/posts?since=" + std::to_string(since);
    co_return co_await call("GET", std::move(path));
}

asio::awaitable<ApiResult> RestApi::list_commands(std::string team_id) {
    std::string path = "commands?team_id=" + net::percent_encode(team_id) + "&custom_only=true";
    co_return co_await call("GET", std::move(path));
}

asio::awaitable<ApiResult> RestApi::create_command(json command) {
    co_return co_await call("POST", "commands", std::move(command));
}

}  // namespace incident::mattermost

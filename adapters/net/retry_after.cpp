#include "adapters/net/retry_after.hpp"

#include "adapters/net/http_types.hpp"

namespace incident::net {

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value) {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (value.empty()) return std::nullopt;

    constexpr long long k_max_seconds = 24 * 60 * 60;
    long long seconds = 0;
    for (const char c : value) {
        if (c < '0' || c > '9') return std::nullopt;
        seconds = seconds * 10 + (c - '0');
        if (seconds > k_max_seconds) seconds = k_max_seconds;
    }
    return std::chrono::seconds(seconds);
}

std::optional<std::chrono::seconds> retry_after(const HttpResponse& response) {
    const auto value = response.headers.get("Retry-After");
    if (!value) return std::nullopt;
    return parse_retry_after(*value);
}

}  // namespace incident::net

#include "adapters/slack/signing.hpp"

#include <charconv>

#include "adapters/net/digest.hpp"

namespace incident::slack {

namespace {

constexpr std::int64_t k_window_seconds = 5 * 60;

}  // namespace

std::string sign_request(std::string_view secret, std::string_view timestamp,
                         std::string_view body) {
    std::string base;
    base.reserve(4 + timestamp.size() + body.size());
    base.append("v0:").append(timestamp).append(":").append(body);
    return "v0=" + net::hmac_sha256_hex(secret, base);
}

SignatureCheck verify_request(std::string_view secret, std::string_view timestamp,
                              std::string_view signature, std::string_view body,
                              std::int64_t now_seconds) {
    if (secret.empty()) return {false, "no signing secret is configured"};
    if (timestamp.empty() || signature.empty()) {
        return {false, "missing X-Slack-Request-Timestamp or X-Slack-Signature header"};
    }
    std::int64_t ts = 0;
    const auto [end, ec] =
        std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), ts);
    if (ec != std::errc{} || end != timestamp.data() + timestamp.size()) {
        return {false, "X-Slack-Request-Timestamp is not a number"};
    }
    if (ts < now_seconds - k_window_seconds || ts > now_seconds + k_window_seconds) {
        return {false,
                "X-Slack-Request-Timestamp is more than 5 minutes from now (stale or "
                "replayed request, or a wrong clock)"};
    }
    if (!signature.starts_with("v0=")) return {false, "unknown signature version"};
    const std::string expected = sign_request(secret, timestamp, body);
    if (!net::equal_constant_time(expected, signature)) {
        return {false, "signature mismatch"};
    }
    return {true, {}};
}

}  // namespace incident::slack

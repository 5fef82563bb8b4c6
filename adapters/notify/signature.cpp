#include "adapters/notify/signature.hpp"

#include <charconv>

namespace incident::notify {

std::string sign_webhook(std::string_view secret, std::string_view timestamp,
                         std::string_view body) {
    std::string base;
    base.reserve(timestamp.size() + 1 + body.size());
    base.append(timestamp).append(".").append(body);
    return "v1=" + hmac_sha256_hex(secret, base);
}

bool verify_webhook(std::string_view secret, std::string_view timestamp, std::string_view body,
                    std::string_view signature, std::optional<std::int64_t> now_seconds,
                    std::int64_t tolerance_seconds) {
    if (secret.empty() || timestamp.empty() || !signature.starts_with("v1=")) return false;
    if (now_seconds) {
        std::int64_t ts = 0;
        const auto [end, ec] =
            std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), ts);
        if (ec != std::errc{} || end != timestamp.data() + timestamp.size()) return false;
        if (ts < *now_seconds - tolerance_seconds || ts > *now_seconds + tolerance_seconds) {
            return false;
        }
    }
    const std::string expected = sign_webhook(secret, timestamp, body);
    return equal_constant_time(expected, signature);
}

std::string delivery_id(const Notify& event) {
    const std::string identity = event.key + "\n" + std::string(to_string(event.kind)) + "\n" +
                                 std::to_string(event.at) + "\n" + event.text;
    return sha256_hex(identity).substr(0, 32);
}

}  // namespace incident::notify

#include "adapters/web/session.hpp"

#include <charconv>
#include <stdexcept>

#include "adapters/net/digest.hpp"
#include "bot/text.hpp"

namespace incident::web {

using net::equal_constant_time;
using net::hmac_sha256;
using net::sha256;
using net::to_hex;

namespace {

constexpr std::string_view k_version = "v1";

}  // namespace

SessionAuth::SessionAuth(std::string_view token, Timestamp ttl_ms)
    : enabled_(!token.empty()), ttl_ms_(ttl_ms) {
    if (!enabled_) return;
    token_digest_ = sha256(token);
    session_key_ = hmac_sha256(token, "incident-bot dashboard session key");
}

bool SessionAuth::token_matches(std::string_view candidate) const {
    return enabled_ && equal_constant_time(sha256(candidate), token_digest_);
}

bool SessionAuth::bearer_matches(std::string_view authorization) const {
    const std::string_view header = trim(authorization);
    if (header.size() < 7 || to_lower(header.substr(0, 7)) != "bearer ") return false;
    return token_matches(trim(header.substr(7)));
}

std::string SessionAuth::mac(std::string_view data) const {
    return to_hex(hmac_sha256(session_key_, data));
}

std::string SessionAuth::issue(Timestamp now) const {
    const std::string payload = std::string(k_version) + "." + std::to_string(now + ttl_ms_);
    return payload + "." + mac(payload);
}

bool SessionAuth::session_valid(std::string_view cookie, Timestamp now) const {
    if (!enabled_) return false;
    const auto last_dot = cookie.rfind('.');
    if (last_dot == std::string_view::npos) return false;
    const std::string_view payload = cookie.substr(0, last_dot);
    if (!payload.starts_with(k_version) || payload.size() <= k_version.size() + 1 ||
        payload[k_version.size()] != '.') {
        return false;
    }
    const std::string_view expiry_text = payload.substr(k_version.size() + 1);
    Timestamp expiry = 0;
    const auto [end, error] =
        std::from_chars(expiry_text.data(), expiry_text.data() + expiry_text.size(), expiry);
    if (error != std::errc{} || end != expiry_text.data() + expiry_text.size()) return false;
    const bool mac_ok = equal_constant_time(mac(payload), cookie.substr(last_dot + 1));
    return mac_ok && expiry > now && expiry <= now + ttl_ms_;
}

std::optional<std::string> cookie_value(std::string_view header, std::string_view name) {
    std::size_t start = 0;
    while (start < header.size()) {
        auto end = header.find(';', start);
        if (end == std::string_view::npos) end = header.size();
        const std::string_view pair = trim(header.substr(start, end - start));
        start = end + 1;
        const auto eq = pair.find('=');
        if (eq == std::string_view::npos || trim(pair.substr(0, eq)) != name) continue;
        std::string_view value = trim(pair.substr(eq + 1));
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
            value = value.substr(1, value.size() - 2);
        }
        return std::string(value);
    }
    return std::nullopt;
}

}  // namespace incident::web

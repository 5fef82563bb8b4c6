#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "bot/types.hpp"

namespace incident::web {

// Dashboard access with INCIDENT_BOT_DASHBOARD_TOKEN. Keeps only values derived from the
// token; the session cookie is "v1.<expiry ms>.<HMAC-SHA256>" so it never holds the token and
// a new token invalidates every session. All comparisons are constant-time.
class SessionAuth {
public:
    SessionAuth(std::string_view token, Timestamp ttl_ms);

    bool enabled() const { return enabled_; }
    bool token_matches(std::string_view candidate) const;
    // The value of an "Authorization" header: "Bearer <token>" (scheme case-insensitive).
    bool bearer_matches(std::string_view authorization) const;
    std::string issue(Timestamp now) const;
    bool session_valid(std::string_view cookie_value, Timestamp now) const;
    Timestamp ttl_ms() const { return ttl_ms_; }

private:
    std::string mac(std::string_view data) const;

    bool enabled_ = false;
    Timestamp ttl_ms_ = 0;
    std::string token_digest_;  // SHA-256 of the token: compared without leaking its length
    std::string session_key_;   // HMAC key derived from the token
};

// The value of cookie `name` in a Cookie header ("a=1; b=2").
std::optional<std::string> cookie_value(std::string_view cookie_header, std::string_view name);

}  // namespace incident::web

#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace incident::slack {

// Slack's v0 request signature: "v0=" + hex(HMAC-SHA256(secret, "v0:" + ts + ":" + body)).
std::string sign_request(std::string_view secret, std::string_view timestamp,
                         std::string_view body);

struct SignatureCheck {
    bool ok = false;
    std::string error;  // for the log and the 401 body; never contains the secret
};

// Verifies the headers X-Slack-Request-Timestamp and X-Slack-Signature against the raw
// body: five minutes of clock skew either way, constant-time comparison.
SignatureCheck verify_request(std::string_view secret, std::string_view timestamp,
                              std::string_view signature, std::string_view body,
                              std::int64_t now_seconds);

}  // namespace incident::slack

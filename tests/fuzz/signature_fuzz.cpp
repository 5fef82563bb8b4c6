#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "adapters/slack/signing.hpp"
#include "fuzz_check.hpp"

using incident::fuzz::require;
namespace slack = incident::slack;

namespace {

struct Request {
    std::string secret, timestamp, signature, body;
};

// The known-answer fixture (shared/protocol/slack/fixtures/signing_known_answer.json) is
// a seed as it is; anything else is read as secret, timestamp and signature lines, then
// the body.
Request read_request(std::string_view text) {
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_object()) {
        const auto str = [&](const char* key) {
            const auto it = j.find(key);
            return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
        };
        return {str("signing_secret"), str("x_slack_request_timestamp"), str("x_slack_signature"),
                str("raw_body")};
    }
    Request r;
    std::string* parts[] = {&r.secret, &r.timestamp, &r.signature};
    for (std::string* part : parts) {
        const auto newline = text.find('\n');
        *part = std::string(text.substr(0, newline));
        text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    }
    r.body = std::string(text);
    return r;
}

std::int64_t seconds_of(const std::string& timestamp) {
    std::int64_t value = 0;
    for (const char c : timestamp) {
        if (c < '0' || c > '9' || value > 1'000'000'000'000) return 0;
        value = value * 10 + (c - '0');
    }
    return value;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const Request r = read_request(std::string_view(reinterpret_cast<const char*>(data), size));
    const std::int64_t now = seconds_of(r.timestamp);

    // No false accept: only the exact signature of these bytes passes.
    const slack::SignatureCheck given =
        slack::verify_request(r.secret, r.timestamp, r.signature, r.body, now);
    const std::string expected = slack::sign_request(r.secret, r.timestamp, r.body);
    require(!given.ok || r.signature == expected, "only the right signature is accepted");
    require(given.ok || !given.error.empty(), "a refusal says why");
    if (!r.secret.empty()) {
        // The reason for a refusal is the same whatever the secret: it cannot show it.
        const slack::SignatureCheck other =
            slack::verify_request(r.secret + "?", r.timestamp, r.signature, r.body, now);
        require(given.ok || other.ok || other.error == given.error,
                "a refusal does not depend on the secret");
    }

    if (r.secret.empty() || r.timestamp.empty() || now == 0 ||
        r.timestamp.find_first_not_of("0123456789") != std::string::npos) {
        return 0;
    }
    // No false refusal: the right signature within the window passes, and a changed body
    // or an old timestamp does not.
    require(slack::verify_request(r.secret, r.timestamp, expected, r.body, now + 299).ok,
            "the signature of the same bytes is accepted");
    require(!slack::verify_request(r.secret, r.timestamp, expected, r.body + "x", now).ok,
            "a changed body is refused");
    require(!slack::verify_request(r.secret, r.timestamp, expected, r.body, now + 301).ok,
            "a stale timestamp is refused");
    return 0;
}

#include "adapters/slack/signing.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>

namespace incident::slack {

namespace {

constexpr std::int64_t k_window_seconds = 5 * 60;

}  // namespace

std::string sign_request(std::string_view secret, std::string_view timestamp,
                         std::string_view body) {
    std::string base;
    base.reserve(4 + timestamp.size() + body.size());
    base.append("v0:").append(timestamp).append(":").append(body);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(base.data()), base.size(), digest, &length);
    static constexpr char k_hex[] = "0123456789abcdef";
    std::string out = "v0=";
    for (unsigned int i = 0; i < length; ++i) {
        out += k_hex[digest[i] >> 4];
        out += k_hex[digest[i] & 0x0F];
    }
    return out;
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
    if (expected.size() != signature.size() ||
        CRYPTO_memcmp(expected.data(), signature.data(), expected.size()) != 0) {
        return {false, "signature mismatch"};
    }
    return {true, {}};
}

}  // namespace incident::slack

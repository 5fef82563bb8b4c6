#include "adapters/web/session.hpp"

#include <charconv>
#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "bot/text.hpp"

namespace incident::web {

namespace {

constexpr std::string_view k_version = "v1";

std::string sha256(std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(data.data(), data.size(), out, &length, EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("SHA-256 failed");
    }
    return std::string(reinterpret_cast<const char*>(out), length);
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
              reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &length)) {
        throw std::runtime_error("HMAC-SHA256 failed");
    }
    return std::string(reinterpret_cast<const char*>(out), length);
}

std::string to_hex(std::string_view bytes) {
    static constexpr char k_hex[] = "0123456789abcdef";
    std::string out;
    for (const char c : bytes) {
        const auto u = static_cast<unsigned char>(c);
        out += k_hex[u >> 4];
        out += k_hex[u & 15];
    }
    return out;
}

bool equal_constant_time(std::string_view a, std::string_view b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

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

#include "adapters/notify/signature.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>

namespace incident::notify {

namespace {

std::string to_hex(const unsigned char* bytes, unsigned int length) {
    static constexpr char k_hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(length * 2);
    for (unsigned int i = 0; i < length; ++i) {
        out += k_hex[bytes[i] >> 4];
        out += k_hex[bytes[i] & 0x0F];
    }
    return out;
}

}  // namespace

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
    return to_hex(digest, length);
}

std::string sha256_hex(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
    return to_hex(digest, length);
}

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

bool equal_constant_time(std::string_view a, std::string_view b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string delivery_id(const Notify& event) {
    const std::string identity = event.key + "\n" + std::string(to_string(event.kind)) + "\n" +
                                 std::to_string(event.at) + "\n" + event.text;
    return sha256_hex(identity).substr(0, 32);
}

}  // namespace incident::notify

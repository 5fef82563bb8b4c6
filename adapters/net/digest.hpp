#pragma once

#include <optional>
#include <string>
#include <string_view>

// SHA-256, HMAC-SHA256 and comparing secrets, for every signature and token check of the
// adapters (Slack and webhook signatures, Mattermost command tokens, dashboard sessions).
namespace incident::net {

// The 32 raw bytes.
std::string sha256(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);
// Lower-case hex of raw bytes.
std::string to_hex(std::string_view bytes);
// The bytes of lower-case hex as to_hex writes it; nullopt for anything else.
std::optional<std::string> from_hex(std::string_view hex);
std::string sha256_hex(std::string_view data);
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

// Equal sizes and bytes, compared in time that does not depend on where they differ (for
// signatures of a known length; the length itself is not secret).
bool equal_constant_time(std::string_view a, std::string_view b);
// Equal, learning nothing from either length too (the digests are compared): for tokens.
bool secrets_equal(std::string_view a, std::string_view b);

}  // namespace incident::net

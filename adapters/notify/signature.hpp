#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "adapters/net/digest.hpp"
#include "bot/events.hpp"

namespace incident::notify {

inline constexpr std::string_view k_timestamp_header = "X-Incident-Bot-Timestamp";
inline constexpr std::string_view k_signature_header = "X-Incident-Bot-Signature";
inline constexpr std::string_view k_delivery_header = "X-Incident-Bot-Delivery";
inline constexpr std::string_view k_event_header = "X-Incident-Bot-Event";
inline constexpr std::string_view k_attempt_header = "X-Incident-Bot-Attempt";

using net::equal_constant_time;
using net::hmac_sha256_hex;
using net::sha256_hex;

// "v1=" + hex HMAC-SHA256(secret, timestamp + "." + body): the X-Incident-Bot-Signature value.
std::string sign_webhook(std::string_view secret, std::string_view timestamp,
                         std::string_view body);

// What a receiver does: recompute and compare in constant time. With `now_seconds`, the
// timestamp (Unix seconds) must also be within `tolerance_seconds` of it, which stops replays.
bool verify_webhook(std::string_view secret, std::string_view timestamp, std::string_view body,
                    std::string_view signature, std::optional<std::int64_t> now_seconds = {},
                    std::int64_t tolerance_seconds = 300);

// The same for every attempt and every sink, derived from the event itself, so a receiver
// can drop a delivery it has already seen (X-Incident-Bot-Delivery, Message-ID).
std::string delivery_id(const Notify& event);

}  // namespace incident::notify

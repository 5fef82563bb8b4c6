#pragma once

#include <string>

#include "bot/events.hpp"

namespace incident::notify::testing {

// 2026-11-23T10:00:00Z
inline constexpr Timestamp k_at = 1'795'428'000'000;

inline Notify sample_event(NotifyKind kind, std::int64_t number = 7,
                           std::string title = "Checkout returns 502s") {
    Notify n;
    n.kind = kind;
    n.number = number;
    n.key = incident_key(number);
    n.title = std::move(title);
    n.severity = Severity::sev2;
    n.state = kind == NotifyKind::resolved ? State::resolved : State::investigating;
    n.platform = "slack";
    n.channel_name = "inc-" + std::to_string(number) + "-checkout-returns-502s";
    n.by = Actor{"U1", "alice"};
    n.text = std::string(to_string(kind)) + " by @alice";
    n.link = "https://bot.example.com/incidents/" + n.key;
    n.at = k_at + number;
    return n;
}

}  // namespace incident::notify::testing

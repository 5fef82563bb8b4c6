#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "bot/alerts.hpp"

namespace incident::alerts {

inline constexpr std::string_view k_pagerduty = "pagerduty";

// The header of PagerDuty v3 webhooks: "v1=<hex HMAC-SHA256(secret, raw body)>", several
// comma-separated while a secret is rotated.
inline constexpr std::string_view k_pagerduty_signature_header = "x-pagerduty-signature";

std::string sign_pagerduty(std::string_view secret, std::string_view body);
// True when one of the v1 signatures of `header` is the body's; compared in constant time.
bool verify_pagerduty(std::string_view secret, std::string_view body, std::string_view header);

// One PagerDuty v3 webhook event about an incident (tests/protocol/pagerduty).
struct PagerDutyEvent {
    std::string id;          // event.id: the same on every retry of one delivery
    std::string event_type;  // "incident.triggered", ...
    // incident.triggered, .reopened and .resolved: the PagerDuty incident as an alert group of
    // one alert.
    std::optional<AlertNotification> notification;
    // incident.acknowledged, .priority_updated, .annotated: a line for the timeline.
    std::optional<AlertEvent> note;
    std::string ignored;  // why an event of another type changes nothing
};

struct DecodedPagerDuty {
    std::optional<PagerDutyEvent> event;
    std::string error;
};

DecodedPagerDuty decode_pagerduty(std::string_view body);

}  // namespace incident::alerts

#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "bot/alerts.hpp"

namespace incident::alerts {

inline constexpr std::string_view k_alertmanager = "alertmanager";
inline constexpr std::string_view k_grafana = "grafana";

// A decoded notification, or what is wrong with the payload (naming the field).
struct Decoded {
    std::optional<AlertNotification> notification;
    std::string error;
};

// Prometheus Alertmanager's webhook payload, version "4" (tests/protocol/alertmanager).
// Every field the incident needs is checked; unknown fields are ignored.
Decoded decode_alertmanager(std::string_view body);

// Grafana alerting's webhook contact point: the same format (Grafana notifies through an
// embedded Alertmanager), payload version "1" (tests/protocol/grafana).
Decoded decode_grafana(std::string_view body);

}  // namespace incident::alerts

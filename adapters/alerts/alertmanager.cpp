#include "adapters/alerts/alertmanager.hpp"

#include <nlohmann/json.hpp>

#include "adapters/alerts/json_fields.hpp"
#include "bot/text.hpp"

namespace incident::alerts {

namespace {

using nlohmann::json;

// Go's zero time.Time: what Alertmanager sends as endsAt while an alert fires.
constexpr Timestamp k_go_zero_time = -62'135'596'800'000;

Alert decode_alert(const json& a, const std::string& where, std::string_view source, Fields& f) {
    Alert alert;
    alert.source = std::string(source);
    if (!a.is_object()) {
        f.fail(where + " is not an object");
        return alert;
    }
    alert.status = f.one_of(a, "status", where, {"firing", "resolved"});
    alert.labels = f.string_map(a, "labels", where, true);
    alert.annotations = f.string_map(a, "annotations", where, false);
    alert.fingerprint = f.string(a, "fingerprint", where, true);
    alert.url = f.string(a, "generatorURL", where, false);
    if (const auto starts = f.time(a, "startsAt", where, true)) alert.starts_at = *starts;
    if (const auto ends = f.time(a, "endsAt", where, false); ends && *ends > k_go_zero_time) {
        alert.ends_at = *ends;
    }
    return alert;
}

// Alertmanager's notification format, as Alertmanager (version 4) and Grafana (version 1)
// send it.
Decoded decode_grouped(std::string_view body, std::string_view source, std::string_view version,
                       std::string_view what) {
    Decoded out;
    const json payload = json::parse(body, nullptr, false);
    if (payload.is_discarded()) {
        out.error = "the body is not JSON (or not UTF-8)";
        return out;
    }
    if (!payload.is_object()) {
        out.error = "the body is not a JSON object";
        return out;
    }
    const auto found = payload.find("version");
    if (found == payload.end() || !found->is_string() || found->get<std::string>() != version) {
        out.error = "version must be \"" + std::string(version) + "\": this endpoint takes " +
                    std::string(what);
        return out;
    }
    Fields f;
    AlertNotification n;
    n.source = std::string(source);
    n.group_key = f.string(payload, "groupKey", "", true);
    f.one_of(payload, "status", "", {"firing", "resolved"});
    n.group_labels = f.string_map(payload, "groupLabels", "", false);
    n.common_annotations = f.string_map(payload, "commonAnnotations", "", false);
    n.external_url = f.string(payload, "externalURL", "", false);
    const auto alerts = payload.find("alerts");
    if (alerts == payload.end() || !alerts->is_array()) {
        f.fail("alerts must be an array");
    } else if (alerts->empty()) {
        f.fail("alerts is empty: a notification names at least one alert");
    } else {
        for (std::size_t i = 0; i < alerts->size() && f.ok(); ++i) {
            Alert alert =
                decode_alert((*alerts)[i], "alerts[" + std::to_string(i) + "]", source, f);
            alert.group_key = n.group_key;
            n.alerts.push_back(std::move(alert));
        }
    }
    if (!f.ok()) {
        out.error = f.error();
        return out;
    }
    out.notification = std::move(n);
    return out;
}

}  // namespace

Decoded decode_alertmanager(std::string_view body) {
    return decode_grouped(body, k_alertmanager, "4", "Alertmanager's webhook_config payload");
}

Decoded decode_grafana(std::string_view body) {
    return decode_grouped(body, k_grafana, "1", "Grafana's webhook contact point payload");
}

}  // namespace incident::alerts

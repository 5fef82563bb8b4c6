#include "adapters/alerts/pagerduty.hpp"

#include <nlohmann/json.hpp>

#include "adapters/alerts/json_fields.hpp"
#include "adapters/notify/signature.hpp"
#include "bot/text.hpp"

namespace incident::alerts {

namespace {

using nlohmann::json;

constexpr std::string_view k_v1 = "v1=";

std::string summary_of(const json& data, std::string_view name) {
    const auto it = data.find(name);
    if (it == data.end() || !it->is_object()) return {};
    const auto summary = it->find("summary");
    return summary != it->end() && summary->is_string() ? summary->get<std::string>()
                                                        : std::string();
}

// The PagerDuty incident as one alert: its id is the group and the fingerprint; it starts
// when it was created, or reopened, so that a reopened incident is a new alert.
Alert incident_alert(const json& data, const std::string& status, Fields& f) {
    Alert a;
    a.source = std::string(k_pagerduty);
    a.fingerprint = f.string(data, "id", "event.data", true);
    a.group_key = a.fingerprint;
    a.status = status;
    const std::string title = f.string(data, "title", "event.data", true);
    const auto created = f.time(data, "created_at", "event.data", true);
    const auto reopened = f.time(data, "reopened_at", "event.data", false);
    a.starts_at = reopened.value_or(created.value_or(0));
    a.url = f.string(data, "html_url", "event.data", false);
    a.annotations["summary"] = title;
    a.labels["alertname"] = title;
    if (const std::string service = summary_of(data, "service"); !service.empty()) {
        a.labels["service"] = service;
    }
    // PagerDuty's P1-P5 priority is what the severity comes from.
    if (const std::string priority = summary_of(data, "priority"); !priority.empty()) {
        a.labels["priority"] = priority;
    }
    if (const auto urgency = data.find("urgency"); urgency != data.end() && urgency->is_string()) {
        a.labels["urgency"] = urgency->get<std::string>();
    }
    if (const auto number = data.find("number"); number != data.end() && number->is_number()) {
        a.labels["pagerduty_number"] = number->dump();
    }
    return a;
}

}  // namespace

std::string sign_pagerduty(std::string_view secret, std::string_view body) {
    return std::string(k_v1) + notify::hmac_sha256_hex(secret, body);
}

bool verify_pagerduty(std::string_view secret, std::string_view body, std::string_view header) {
    if (secret.empty()) return false;
    const std::string expected = sign_pagerduty(secret, body);
    bool match = false;
    std::size_t start = 0;
    while (start <= header.size()) {
        const auto comma = header.find(',', start);
        const std::string_view item = trim(header.substr(
            start, comma == std::string_view::npos ? header.size() - start : comma - start));
        // Every candidate is compared, so the time taken does not tell which one matched.
        if (notify::equal_constant_time(item, expected)) match = true;
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return match;
}

DecodedPagerDuty decode_pagerduty(std::string_view body) {
    DecodedPagerDuty out;
    const json payload = json::parse(body, nullptr, false);
    if (payload.is_discarded()) {
        out.error = "the body is not JSON (or not UTF-8)";
        return out;
    }
    Fields f;
    const json* event = payload.is_object() ? f.object(payload, "event", "", true) : nullptr;
    if (!payload.is_object()) f.fail("the body is not a JSON object");
    PagerDutyEvent e;
    if (event) {
        e.id = f.string(*event, "id", "event", true);
        e.event_type = f.string(*event, "event_type", "event", true);
    }
    if (!f.ok()) {
        out.error = f.error();
        return out;
    }
    const std::string& type = e.event_type;
    const bool handled = type == "incident.triggered" || type == "incident.reopened" ||
                         type == "incident.resolved" || type == "incident.acknowledged" ||
                         type == "incident.priority_updated" || type == "incident.annotated";
    if (!handled) {
        // A documented event the bot does not act on: PagerDuty counts a 4xx as a dropped
        // delivery (and disables the subscription after three), so it is accepted as is.
        e.ignored = "event type " + truncate_utf8(type, 60) + " changes nothing here";
        out.event = std::move(e);
        return out;
    }
    const json* data = f.object(*event, "data", "event", true);
    const auto occurred = f.time(*event, "occurred_at", "event", true);
    if (!f.ok()) {
        out.error = f.error();
        return out;
    }
    const std::string agent = summary_of(*event, "agent");
    const std::string by = agent.empty() ? std::string() : " by " + agent;
    // The handled event types carry the data type the documentation gives them: anything
    // else is not what PagerDuty sends.
    const auto data_type_is = [&](std::string_view expected) {
        const std::string got = f.string(*data, "type", "event.data", true);
        if (f.ok() && got != expected) {
            f.fail("event.data.type must be \"" + std::string(expected) + "\" for " +
                   truncate_utf8(type, 60) + ", not \"" + truncate_utf8(got, 60) + "\"");
        }
    };
    if (type == "incident.triggered" || type == "incident.reopened" ||
        type == "incident.resolved") {
        data_type_is("incident");
        Alert alert = incident_alert(*data, type == "incident.resolved" ? "resolved" : "firing", f);
        if (type == "incident.resolved") alert.ends_at = occurred;
        AlertNotification n;
        n.source = std::string(k_pagerduty);
        n.group_key = alert.group_key;
        n.external_url = alert.url;
        n.common_annotations["summary"] = alert.annotations["summary"];
        n.alerts.push_back(std::move(alert));
        e.notification = std::move(n);
    } else {  // acknowledged, priority_updated, annotated
        AlertEvent note;
        note.source = std::string(k_pagerduty);
        note.event_id = e.id;
        note.at = occurred.value_or(0);
        data_type_is(type == "incident.annotated" ? "incident_note" : "incident");
        if (type == "incident.annotated") {
            // data is an incident_note: the incident is a reference.
            const json* incident = f.object(*data, "incident", "event.data", true);
            if (incident) note.group_key = f.string(*incident, "id", "event.data.incident", true);
            const std::string content = f.string(*data, "content", "event.data", true);
            note.text = "PagerDuty note" + by + ": " + content;
        } else {
            note.group_key = f.string(*data, "id", "event.data", true);
            if (type == "incident.acknowledged") {
                note.text = "Acknowledged in PagerDuty" + by;
            } else {
                const std::string priority = summary_of(*data, "priority");
                note.priority = priority;
                note.text = "PagerDuty priority " +
                            (priority.empty() ? std::string("removed") : "set to " + priority) + by;
            }
        }
        e.note = std::move(note);
    }
    if (!f.ok()) {
        out.error = f.error();
        return out;
    }
    out.event = std::move(e);
    return out;
}

}  // namespace incident::alerts

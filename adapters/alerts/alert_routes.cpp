#include "adapters/alerts/alert_routes.hpp"

#include <exception>
#include <utility>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "adapters/alerts/alertmanager.hpp"
#include "adapters/alerts/pagerduty.hpp"

namespace incident::alerts {

namespace {

using nlohmann::json;

web::WebResponse respond(int status, json body) {
    web::WebResponse res;
    res.status = status;
    res.content_type = "application/json";
    res.body = body.dump() + "\n";
    return res;
}

web::WebResponse error(int status, const std::string& message) {
    return respond(status, json{{"ok", false}, {"error", message}});
}

std::string path_of(const std::string& target) {
    return target.substr(0, target.find('?'));
}

std::string header(const web::WebRequest& request, const std::string& name) {
    const auto it = request.headers.find(name);
    return it == request.headers.end() ? std::string() : it->second;
}

std::optional<web::WebResponse> refuse_method(const web::WebRequest& request) {
    if (request.method == "POST") return std::nullopt;
    web::WebResponse res = error(405, "use POST");
    res.headers.emplace_back("Allow", "POST");
    return res;
}

}  // namespace

AlertRoutes::AlertRoutes(AlertIntake& intake, AlertRouteOptions options, Deliver deliver)
    : intake_(intake),
      options_(std::move(options)),
      deliver_(std::move(deliver)),
      bearer_(options_.token, 0) {}

web::WebResponse AlertRoutes::handle(const web::WebRequest& request) {
    auto accepted = accept(request);
    if (auto* answered = std::get_if<web::WebResponse>(&accepted)) return std::move(*answered);
    auto& pending = std::get<PendingAlert>(accepted);
    try {
        intake_.batch([&] { pending.store(); });
    } catch (const std::exception&) {
        return pending.answer(false);
    }
    return pending.answer(true);
}

std::variant<web::WebResponse, PendingAlert> AlertRoutes::accept(const web::WebRequest& request) {
    const std::string path = path_of(request.target);
    if (!options_.token.empty()) {
        if (path == "/alerts/alertmanager") return grouped(request, k_alertmanager);
        if (path == "/alerts/grafana") return grouped(request, k_grafana);
    }
    if (path == "/alerts/pagerduty" && !options_.pagerduty_secret.empty()) {
        return pagerduty(request);
    }
    return error(404, "no such endpoint: " + path.substr(0, 80) +
                          " (alert sources are enabled by their secret, see README)");
}

std::variant<web::WebResponse, PendingAlert> AlertRoutes::grouped(const web::WebRequest& request,
                                                                  std::string_view source) {
    if (auto refused = refuse_method(request)) return *refused;
    if (!bearer_.bearer_matches(header(request, "authorization"))) {
        spdlog::warn("{}: refused a request from {}: missing or wrong bearer token", source,
                     request.remote);
        web::WebResponse res = error(
            401, "send Authorization: Bearer <INCIDENT_BOT_ALERTS_TOKEN>" +
                     std::string(source == k_alertmanager ? " (http_config.authorization)" : ""));
        res.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"incident-bot alerts\"");
        return res;
    }
    Decoded decoded =
        source == k_grafana ? decode_grafana(request.body) : decode_alertmanager(request.body);
    if (!decoded.notification) {
        spdlog::warn("{}: refused a payload from {}: {}", source, request.remote, decoded.error);
        return error(400, decoded.error);
    }
    PendingAlert pending;
    pending.routes_ = this;
    pending.source_ = std::string(source);
    pending.group_ = decoded.notification->group_key;
    pending.notification_ = std::move(decoded.notification);
    return pending;
}

std::variant<web::WebResponse, PendingAlert> AlertRoutes::pagerduty(
    const web::WebRequest& request) {
    if (auto refused = refuse_method(request)) return *refused;
    const std::string signature = header(request, std::string(k_pagerduty_signature_header));
    if (!verify_pagerduty(options_.pagerduty_secret, request.body, signature)) {
        spdlog::warn("pagerduty: refused a request from {}: {} signature", request.remote,
                     signature.empty() ? "no" : "a wrong");
        return error(401,
                     "send X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the body with "
                     "INCIDENT_BOT_PAGERDUTY_WEBHOOK_SECRET>");
    }
    DecodedPagerDuty decoded = decode_pagerduty(request.body);
    if (!decoded.event) {
        spdlog::warn("pagerduty: refused a payload from {}: {}", request.remote, decoded.error);
        return error(400, decoded.error);
    }
    PagerDutyEvent& e = *decoded.event;
    if (!e.notification && !e.note) {
        return respond(200, json{{"ok", true}, {"incident", nullptr}, {"note", e.ignored}});
    }
    PendingAlert pending;
    pending.routes_ = this;
    pending.source_ = std::string(k_pagerduty);
    pending.group_ = (e.notification ? e.notification->group_key : e.note->group_key) + " " +
                     e.event_type + " (event " + e.id + ")";
    pending.notification_ = std::move(e.notification);
    pending.note_ = std::move(e.note);
    return pending;
}

void PendingAlert::store() {
    try {
        result_ = notification_ ? routes_->intake_.receive(*notification_)
                                : routes_->intake_.annotate(*note_);
        stored_ = true;
    } catch (const std::exception& e) {
        spdlog::error("{}: could not store a notification of group {}: {}", source_, group_,
                      e.what());
        throw;
    }
}

web::WebResponse PendingAlert::answer(bool committed) {
    if (!committed || !stored_) {
        return error(503, "the alerts could not be stored; retry");
    }
    return routes_->answer(result_, source_, group_);
}

web::WebResponse AlertRoutes::answer(const AlertIntakeResult& result, const std::string& source,
                                     const std::string& group) {
    if (!result.outcome.reply.ok) return error(422, result.outcome.reply.text);
    for (const auto& effect : result.outcome.effects) deliver_(effect);
    json body{{"ok", true},
              {"incident", result.incident ? json(incident_key(*result.incident)) : json(nullptr)},
              {"opened", result.opened},
              {"new_alerts", result.new_alerts},
              {"resolved_alerts", result.resolved_alerts}};
    if (result.ignored > 0) body["ignored"] = result.ignored;
    if (result.announced > 0) body["announced"] = result.announced;
    if (!result.note.empty()) body["note"] = result.note;
    spdlog::info("{}: group {}: {}{} ({} new, {} resolved)", source, group,
                 result.incident ? incident_key(*result.incident) : std::string("no incident"),
                 result.opened ? " opened" : "", result.new_alerts, result.resolved_alerts);
    return respond(200, body);
}

}  // namespace incident::alerts

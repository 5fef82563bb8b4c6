#include "adapters/alerts/alert_routes.hpp"

#include <exception>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "adapters/alerts/alertmanager.hpp"

namespace incident::alerts {

namespace {

using nlohmann::json;

web::WebResponse answer(int status, json body) {
    web::WebResponse res;
    res.status = status;
    res.content_type = "application/json";
    res.body = body.dump() + "\n";
    return res;
}

web::WebResponse error(int status, const std::string& message) {
    return answer(status, json{{"ok", false}, {"error", message}});
}

std::string path_of(const std::string& target) {
    return target.substr(0, target.find('?'));
}

std::string header(const web::WebRequest& request, const std::string& name) {
    const auto it = request.headers.find(name);
    return it == request.headers.end() ? std::string() : it->second;
}

}  // namespace

AlertRoutes::AlertRoutes(AlertIntake& intake, AlertRouteOptions options, Deliver deliver)
    : intake_(intake),
      options_(std::move(options)),
      deliver_(std::move(deliver)),
      bearer_(options_.token, 0) {}

web::WebResponse AlertRoutes::handle(const web::WebRequest& request) {
    const std::string path = path_of(request.target);
    if (path == "/alerts/alertmanager" && !options_.token.empty()) return alertmanager(request);
    return error(404, "no such endpoint: " + path.substr(0, 80) +
                          " (alert sources are enabled by their secret, see README)");
}

web::WebResponse AlertRoutes::alertmanager(const web::WebRequest& request) {
    if (request.method != "POST") {
        web::WebResponse res = error(405, "use POST");
        res.headers.emplace_back("Allow", "POST");
        return res;
    }
    if (!bearer_.bearer_matches(header(request, "authorization"))) {
        spdlog::warn("alertmanager: refused a request from {}: missing or wrong bearer token",
                     request.remote);
        web::WebResponse res = error(
            401,
            "send Authorization: Bearer <INCIDENT_BOT_ALERTS_TOKEN> (http_config.authorization)");
        res.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"incident-bot alerts\"");
        return res;
    }
    const Decoded decoded = decode_alertmanager(request.body);
    if (!decoded.notification) {
        spdlog::warn("alertmanager: refused a payload from {}: {}", request.remote, decoded.error);
        return error(400, decoded.error);
    }
    return receive(*decoded.notification);
}

web::WebResponse AlertRoutes::receive(const AlertNotification& notification) {
    AlertIntakeResult result;
    try {
        result = intake_.receive(notification);
    } catch (const std::exception& e) {
        spdlog::error("{}: could not store a notification of group {}: {}", notification.source,
                      notification.group_key, e.what());
        return error(503, "the alerts could not be stored; retry");
    }
    if (!result.outcome.reply.ok) {
        return error(422, result.outcome.reply.text);
    }
    for (const auto& effect : result.outcome.effects) deliver_(effect);
    json body{{"ok", true},
              {"incident", result.incident ? json(incident_key(*result.incident)) : json(nullptr)},
              {"opened", result.opened},
              {"new_alerts", result.new_alerts},
              {"resolved_alerts", result.resolved_alerts}};
    if (!result.note.empty()) body["note"] = result.note;
    spdlog::info("{}: group {}: {}{} ({} new, {} resolved)", notification.source,
                 notification.group_key,
                 result.incident ? incident_key(*result.incident) : std::string("no incident"),
                 result.opened ? " opened" : "", result.new_alerts, result.resolved_alerts);
    return answer(200, body);
}

}  // namespace incident::alerts

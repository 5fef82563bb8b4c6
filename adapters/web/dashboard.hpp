#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "adapters/web/metrics.hpp"
#include "adapters/web/session.hpp"
#include "adapters/web/web_types.hpp"
#include "bot/incident_service.hpp"
#include "bot/outbox.hpp"

namespace incident::web {

struct DashboardOptions {
    std::string token;  // INCIDENT_BOT_DASHBOARD_TOKEN; empty: no authentication
    // Per-platform connection and database state, supplied by main: an object whose values
    // are objects with a boolean "ok", e.g. {"database": {"ok": true}, "slack": {"ok": false,
    // "detail": "reconnecting"}}. /healthz answers 200 only if every "ok" is true.
    std::function<nlohmann::json()> health;
    bool secure_cookie = false;  // add "Secure" to the session cookie (served over https)
    // The durable outbox: /outbox lists its failed effects, /healthz and /metrics count it.
    Outbox* outbox = nullptr;
    // After a Retry from /outbox: wake the delivery workers.
    std::function<void()> outbox_retried;
    Timestamp session_ttl_ms = 12 * 3'600'000LL;
    // The public status page (/status, /status.json, /status/feed.atom): served to everyone,
    // with or without a token. Its title (INCIDENT_BOT_STATUS_TITLE) and, for the Atom ids
    // and links, the bot's public URL.
    std::string status_title = "Service status";
    std::string public_url;
};

// The read-only web dashboard, JSON API, /healthz and /metrics, as a plain function from
// request to response; the HTTP server owns the sockets. Only reads the service.
//
// HEAD is answered like GET, with an empty body: servers do not always strip it.
class Dashboard {
public:
    Dashboard(IncidentService& service, Metrics& metrics, DashboardOptions options);

    WebResponse handle(const WebRequest& request);

    static constexpr std::string_view k_session_cookie = "incident_bot_session";

private:
    struct Route;
    WebResponse route(const WebRequest& request);
    WebResponse login(const WebRequest& request, const std::string& query);
    WebResponse logout();
    WebResponse healthz();
    WebResponse metrics();
    WebResponse retry(std::int64_t id);
    WebResponse status_page(int kind);
    nlohmann::json outbox_health();
    bool authenticated(const WebRequest& request) const;

    IncidentService& service_;
    Metrics& metrics_;
    SessionAuth auth_;  // keeps only values derived from the token, never the token
    std::function<nlohmann::json()> health_;
    bool secure_cookie_;
    Outbox* outbox_;
    std::function<void()> outbox_retried_;
    std::string status_title_;
    std::string public_url_;
};

}  // namespace incident::web

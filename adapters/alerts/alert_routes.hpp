#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "adapters/web/session.hpp"
#include "adapters/web/web_types.hpp"
#include "bot/alerts.hpp"
#include "bot/events.hpp"

namespace incident::alerts {

struct AlertRouteOptions {
    // INCIDENT_BOT_ALERTS_TOKEN: the bearer token of /alerts/alertmanager and /alerts/grafana.
    // Empty: those routes answer 404.
    std::string token;
    // INCIDENT_BOT_PAGERDUTY_WEBHOOK_SECRET: the signing secret of /alerts/pagerduty. Empty:
    // that route answers 404.
    std::string pagerduty_secret;
};

class AlertRoutes;

// A request whose credential and payload were accepted: stored inside a commit (which other
// requests may share), answered once that commit is done.
class PendingAlert {
public:
    // Inside the transaction. A failure is kept for the answer (503) and rethrown, so that
    // this request's part is rolled back.
    void store();
    // After the commit. `committed` false: the commit failed, nothing of it was stored.
    web::WebResponse answer(bool committed);

private:
    friend class AlertRoutes;
    AlertRoutes* routes_ = nullptr;
    std::string source_;
    std::string group_;  // for the log
    std::optional<AlertNotification> notification_;
    std::optional<AlertEvent> note_;
    AlertIntakeResult result_;
    bool stored_ = false;
};

// The webhook endpoints of the monitoring systems, on the bot's HTTP listener:
// POST /alerts/alertmanager, /alerts/grafana and /alerts/pagerduty. Request in, response out (no
// network types): the HTTP server hands requests over, and the effects of what was stored go to
// `deliver` after the commit.
class AlertRoutes {
public:
    using Deliver = std::function<void(const Effect&)>;

    AlertRoutes(AlertIntake& intake, AlertRouteOptions options, Deliver deliver);

    static bool handles(std::string_view path) { return path.starts_with("/alerts/"); }

    // 200 once stored; 400 naming what is wrong with a payload (nothing stored); 401 for a
    // missing or wrong credential; 404 for a source that is not enabled; 503 when storing
    // failed, so that the source retries.
    web::WebResponse handle(const web::WebRequest& request);

    // The same in two steps, for a caller that commits several requests at once: the answer
    // now (refused, or nothing to store), or what to store.
    std::variant<web::WebResponse, PendingAlert> accept(const web::WebRequest& request);

private:
    friend class PendingAlert;
    std::variant<web::WebResponse, PendingAlert> grouped(const web::WebRequest& request,
                                                         std::string_view source);
    std::variant<web::WebResponse, PendingAlert> pagerduty(const web::WebRequest& request);
    web::WebResponse answer(const AlertIntakeResult& result, const std::string& source,
                            const std::string& group);

    AlertIntake& intake_;
    AlertRouteOptions options_;
    Deliver deliver_;
    web::SessionAuth bearer_;
};

}  // namespace incident::alerts

#pragma once

#include <functional>
#include <map>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "adapters/web/html.hpp"
#include "adapters/web/metrics.hpp"
#include "adapters/web/session.hpp"
#include "adapters/web/sign_in.hpp"
#include "adapters/web/web_types.hpp"
#include "bot/incident_service.hpp"
#include "bot/outbox.hpp"

namespace incident::web {

// Which replica answers, and each job only one replica does ("reminders", "housekeeping")
// with whether this one leads it now; shown on every page and in /metrics.
struct ReplicaRole {
    std::string id;
    std::map<std::string, bool> jobs;
};

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
    // Sign-in through `/incident login` links (/login/<token>) and editing the post-mortem
    // as that person; none: the post-mortem is read-only.
    SignIn* sign_in = nullptr;
    // This process among the replicas; none: the header and /metrics do not name it.
    std::function<ReplicaRole()> replica;
};

// The web dashboard, JSON API, /healthz and /metrics, as a plain function from request to
// response; the HTTP server owns the sockets. It reads the service; it changes only the
// outbox (Retry) and, for a person signed in through a chat link, the post-mortem sections,
// through the same domain calls as the chat commands.
//
// HEAD is answered like GET, with an empty body: servers do not always strip it.
class Dashboard {
public:
    Dashboard(IncidentService& service, Metrics& metrics, DashboardOptions options);

    WebResponse handle(const WebRequest& request);

    static constexpr std::string_view k_session_cookie = "incident_bot_session";
    // The session of a person signed in through `/incident login` (SignIn).
    static constexpr std::string_view k_person_cookie = "incident_bot_person";
    // Ties a sign-in link's button to the browser that was shown it.
    static constexpr std::string_view k_sign_in_cookie = "incident_bot_sign_in";

private:
    struct Route;
    WebResponse route(const WebRequest& request);
    WebResponse login(const WebRequest& request, const std::string& query);
    WebResponse logout(const WebRequest& request);
    WebResponse login_link(const WebRequest& request, std::string_view token);
    // A form post of a signed-in person with its anti-forgery token, checked.
    struct SignedForm {
        std::string cookie;
        Person person;
        std::map<std::string, std::string> fields;
        std::string field(const std::string& name) const {
            const auto it = fields.find(name);
            return it == fields.end() ? "" : it->second;
        }
    };
    std::variant<WebResponse, SignedForm> signed_form(const WebRequest& request,
                                                      const Chrome& chrome) const;
    WebResponse save_section(const WebRequest& request, std::int64_t number);
    WebResponse save_action(const WebRequest& request, std::int64_t number);
    // The Publish button: freezes the draft as the next version, as `/incident postmortem
    // publish` does, unless a version was published since the page was opened.
    WebResponse publish(const WebRequest& request, std::int64_t number);
    std::optional<std::string> person_cookie(const WebRequest& request) const;
    std::optional<Person> signed_in(const WebRequest& request) const;
    Chrome base_chrome() const;
    Chrome chrome_for(const WebRequest& request) const;
    std::string cookie_attributes(Timestamp max_age_ms, std::string_view same_site) const;
    WebResponse healthz();
    WebResponse metrics();
    WebResponse retry(std::int64_t id);
    // GET /incidents/INC-<n>/files/<id>: a stored evidence file, served so that it cannot run.
    WebResponse file_response(int audience, std::int64_t number, std::int64_t id,
                              const Chrome& chrome);
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
    SignIn* sign_in_;
    std::function<ReplicaRole()> replica_;
};

}  // namespace incident::web

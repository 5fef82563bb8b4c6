#include "adapters/web/dashboard.hpp"

#include <charconv>

#include <spdlog/spdlog.h>

#include "adapters/web/charts.hpp"
#include "adapters/web/filter.hpp"
#include "adapters/web/markdown.hpp"
#include "adapters/web/pages.hpp"
#include "adapters/web/query.hpp"
#include "adapters/web/status_pages.hpp"
#include "bot/calendar.hpp"
#include "bot/export_json.hpp"
#include "bot/postmortem.hpp"
#include "bot/text.hpp"

namespace incident::web {

namespace {

constexpr std::string_view k_html = "text/html; charset=utf-8";
constexpr std::string_view k_json = "application/json";
constexpr std::string_view k_text = "text/plain; charset=utf-8";
constexpr std::string_view k_prometheus = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::size_t k_max_form_body = 4096;
constexpr int k_default_weeks = 12;
constexpr int k_max_weeks = 104;

enum class Kind {
    list,
    incident,
    postmortem,
    postmortem_md,
    published,    // /incidents/INC-<n>/postmortem/v<k>
    review_ics,   // /incidents/INC-<n>/review.ics
    postmortems,  // /postmortems?q=
    stats,
    api_list,
    api_incident,
    healthz,
    metrics,
    login,
    logout,
    outbox,
    outbox_retry,
    status,  // the public status page: /status, /status.json, /status/feed.atom
    status_json,
    status_atom,
    unknown_incident_path,  // /incidents/<not an id>/...
    none,
};

// How errors are shaped for a path: JSON for the API, plain text for scrapers, else HTML.
enum class Audience { page, api, text };

Audience audience_of(std::string_view path) {
    if (path == "/api" || path.starts_with("/api/") || path == "/healthz") return Audience::api;
    if (path == "/metrics") return Audience::text;
    return Audience::page;
}

WebResponse make(int status, std::string_view type, std::string body) {
    WebResponse res;
    res.status = status;
    res.content_type = std::string(type);
    res.body = std::move(body);
    return res;
}

std::string dump(const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

WebResponse json_response(int status, const nlohmann::json& j) {
    return make(status, k_json, dump(j));
}

WebResponse error_response(Audience audience, int status, std::string_view message,
                           const Chrome& chrome) {
    switch (audience) {
        case Audience::api:
            return json_response(status, {{"error", message}, {"status", status}});
        case Audience::text:
            return make(status, k_text, std::string(message) + "\n");
        case Audience::page:
            return make(status, k_html, error_page(status, message, chrome));
    }
    return make(status, k_text, std::string(message) + "\n");
}

WebResponse redirect(std::string location) {
    WebResponse res = make(303, k_text, "See " + location + "\n");
    res.headers.emplace_back("Location", std::move(location));
    return res;
}

// Only a local path may follow a login, and it goes into a Location header as is.
std::string safe_next(std::string_view next) {
    if (next.empty() || next.front() != '/' || next.starts_with("//")) return "/";
    for (const char c : next) {
        if (c <= 0x20 || c >= 0x7f || c == '\\') return "/";
    }
    return std::string(next);
}

std::optional<std::string> header(const WebRequest& request, const std::string& name) {
    const auto it = request.headers.find(name);
    if (it == request.headers.end()) return std::nullopt;
    return it->second;
}

int parse_weeks(const std::map<std::string, std::string>& params) {
    const auto it = params.find("weeks");
    if (it == params.end() || it->second.empty()) return k_default_weeks;
    int weeks = 0;
    const std::string& text = it->second;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), weeks);
    if (error != std::errc{} || end != text.data() + text.size() || weeks < 1 ||
        weeks > k_max_weeks) {
        throw BadRequest("The period 'weeks' must be a whole number from 1 to " +
                         std::to_string(k_max_weeks) + ".");
    }
    return weeks;
}

}  // namespace

struct Dashboard::Route {
    Kind kind = Kind::none;
    std::int64_t number = 0;
    int version = 0;

    static Route match(std::string_view path) {
        if (path == "/") return {Kind::list};
        if (path == "/postmortems") return {Kind::postmortems};
        if (path == "/stats") return {Kind::stats};
        if (path == "/api/incidents") return {Kind::api_list};
        if (path == "/healthz") return {Kind::healthz};
        if (path == "/metrics") return {Kind::metrics};
        if (path == "/login") return {Kind::login};
        if (path == "/logout") return {Kind::logout};
        if (path == "/status") return {Kind::status};
        if (path == "/status.json") return {Kind::status_json};
        if (path == "/status/feed.atom") return {Kind::status_atom};
        if (path == "/outbox") return {Kind::outbox};
        if (path.starts_with("/outbox/") && path.ends_with("/retry")) {
            const std::string_view id = path.substr(8, path.size() - 8 - 6);
            std::int64_t number = 0;
            const auto [end, error] = std::from_chars(id.data(), id.data() + id.size(), number);
            if (error != std::errc{} || end != id.data() + id.size() || number <= 0) {
                return {Kind::none};
            }
            return {Kind::outbox_retry, number};
        }
        for (const auto& [prefix, kind] :
             {std::pair<std::string_view, Kind>{"/incidents/", Kind::incident},
              {"/api/incidents/", Kind::api_incident}}) {
            if (!path.starts_with(prefix)) continue;
            std::string_view rest = path.substr(prefix.size());
            const auto slash = rest.find('/');
            const std::string_view id = rest.substr(0, slash);
            const std::string_view tail = slash == std::string_view::npos ? "" : rest.substr(slash);
            const auto number = parse_incident_key(id);
            if (!number) return {Kind::unknown_incident_path};
            if (tail.empty()) return {kind, *number};
            if (kind == Kind::incident && tail == "/postmortem") return {Kind::postmortem, *number};
            if (kind == Kind::incident && tail == "/postmortem.md") {
                return {Kind::postmortem_md, *number};
            }
            if (kind == Kind::incident && tail == "/review.ics") return {Kind::review_ics, *number};
            if (kind == Kind::incident && tail.starts_with("/postmortem/v")) {
                int version = 0;
                const std::string_view digits = tail.substr(13);
                const auto [end, error] =
                    std::from_chars(digits.data(), digits.data() + digits.size(), version);
                if (error == std::errc{} && end == digits.data() + digits.size() && version > 0) {
                    return {Kind::published, *number, version};
                }
            }
            return {Kind::none};
        }
        return {Kind::none};
    }
};

Dashboard::Dashboard(IncidentService& service, Metrics& metrics, DashboardOptions options)
    : service_(service),
      metrics_(metrics),
      auth_(options.token, options.session_ttl_ms),
      health_(std::move(options.health)),
      secure_cookie_(options.secure_cookie),
      outbox_(options.outbox),
      outbox_retried_(std::move(options.outbox_retried)),
      status_title_(std::move(options.status_title)),
      public_url_(std::move(options.public_url)) {}

WebResponse Dashboard::handle(const WebRequest& request) {
    const std::string_view raw_path =
        std::string_view(request.target).substr(0, request.target.find('?'));
    const Audience audience = audience_of(raw_path);
    const Chrome chrome{auth_.enabled()};
    WebResponse res;
    try {
        res = route(request);
    } catch (const BadRequest& e) {
        res = error_response(audience, 400, e.what(), chrome);
    } catch (const std::exception& e) {
        // Details go to the log, not to the page; the query string is left out of both.
        spdlog::error("dashboard: {} {} failed: {}", request.method, raw_path, e.what());
        res = error_response(audience, 500,
                             "The dashboard could not read the incident data; try again, and "
                             "see the bot's log if this persists.",
                             chrome);
    }
    res.headers.emplace_back("Content-Security-Policy",
                             "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' "
                             "data:; form-action 'self'");
    res.headers.emplace_back("X-Content-Type-Options", "nosniff");
    res.headers.emplace_back("Referrer-Policy", "no-referrer");
    res.headers.emplace_back("X-Frame-Options", "DENY");
    res.headers.emplace_back("Cache-Control", "no-store");
    if (request.method == "HEAD") res.body.clear();
    return res;
}

bool Dashboard::authenticated(const WebRequest& request) const {
    if (!auth_.enabled()) return true;
    if (const auto authorization = header(request, "authorization")) {
        if (auth_.bearer_matches(*authorization)) return true;
    }
    if (const auto cookies = header(request, "cookie")) {
        if (const auto session = cookie_value(*cookies, k_session_cookie)) {
            return auth_.session_valid(*session, service_.now());
        }
    }
    return false;
}

WebResponse Dashboard::route(const WebRequest& request) {
    const Target target = split_target(request.target);
    const Audience audience = audience_of(target.path);
    const Chrome chrome{auth_.enabled()};
    const Route route = Route::match(target.path);

    if (route.kind == Kind::none || route.kind == Kind::unknown_incident_path) {
        return error_response(audience, 404,
                              route.kind == Kind::none
                                  ? "There is no page at this address."
                                  : "That is not an incident id; ids look like INC-7.",
                              chrome);
    }

    const bool is_get = request.method == "GET" || request.method == "HEAD";
    const bool post_only = route.kind == Kind::logout || route.kind == Kind::outbox_retry;
    const bool allowed = route.kind == Kind::login ? is_get || request.method == "POST"
                         : post_only               ? request.method == "POST"
                                                   : is_get;
    if (!allowed) {
        WebResponse res = error_response(
            audience, 405, "This address does not accept " + request.method + " requests.", chrome);
        res.headers.emplace_back("Allow", route.kind == Kind::login ? "GET, HEAD, POST"
                                          : post_only               ? "POST"
                                                                    : "GET, HEAD");
        return res;
    }

    if (route.kind == Kind::login) return login(request, target.query);
    if (route.kind == Kind::logout) return logout();
    if (route.kind == Kind::healthz) return healthz();
    // Public: what was published is for everyone, signed in or not.
    if (route.kind == Kind::status || route.kind == Kind::status_json ||
        route.kind == Kind::status_atom) {
        return status_page(static_cast<int>(route.kind));
    }

    if (!authenticated(request)) {
        if (audience != Audience::page) {
            WebResponse res = error_response(
                audience, 401,
                "Authentication required: send \"Authorization: Bearer <dashboard token>\".",
                chrome);
            res.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"incident-bot\"");
            return res;
        }
        return redirect("/login?next=" + percent_encode(request.target));
    }

    const auto params = parse_query(target.query);
    switch (route.kind) {
        case Kind::metrics:
            return metrics();
        case Kind::outbox:
            if (!outbox_) return error_response(audience, 404, "This bot has no outbox.", chrome);
            return make(200, k_html,
                        outbox_page(outbox_->failed(), outbox_->counts(), service_.now(), chrome));
        case Kind::outbox_retry:
            return retry(route.number);
        case Kind::list:
        case Kind::api_list: {
            const ListFilter filter = ListFilter::parse(params);
            std::vector<Incident> incidents;
            for (auto& inc : service_.list(filter.include_closed())) {
                if (filter.matches(inc)) incidents.push_back(std::move(inc));
            }
            if (route.kind == Kind::list) {
                return make(200, k_html, list_page(incidents, filter, service_.now(), chrome));
            }
            nlohmann::json out = nlohmann::json::array();
            for (const auto& inc : incidents) out.push_back(to_json(inc));
            return json_response(200, out);
        }
        case Kind::postmortems: {
            const auto q = params.find("q");
            const std::string query = q == params.end() ? "" : q->second;
            if (query.size() > 200) throw BadRequest("Search for at most 200 characters.");
            return make(200, k_html,
                        postmortems_page(service_.search_published(query), query, chrome));
        }
        case Kind::stats: {
            const int weeks = parse_weeks(params);
            const Timestamp now = service_.now();
            // The same period as the charts: from the Monday of the first week shown.
            const Timestamp since = iso_week(now).monday - Timestamp(weeks - 1) * 7 * 86'400'000;
            const int days = static_cast<int>((now - since + 86'399'999) / 86'400'000);
            return make(200, k_html,
                        stats_page(service_.stats(days), service_.list(true), weeks, now, chrome));
        }
        default:
            break;
    }

    // The incident routes.
    if (!service_.find(route.number)) {
        return error_response(audience, 404, incident_key(route.number) + " does not exist.",
                              chrome);
    }
    const IncidentSnapshot snap = service_.snapshot(route.number);
    switch (route.kind) {
        case Kind::incident:
            return make(200, k_html, incident_page(snap, service_.now(), chrome));
        case Kind::api_incident:
            return json_response(200, to_json(snap));
        case Kind::postmortem:
            return make(200, k_html,
                        postmortem_page(snap.incident, markdown_to_html(render_postmortem(snap)),
                                        service_.published(route.number), chrome));
        case Kind::published: {
            const auto versions = service_.published(route.number);
            for (const auto& version : versions) {
                if (version.version != route.version) continue;
                return make(200, k_html,
                            published_page(snap.incident, version, versions.back().version,
                                           markdown_to_html(version.markdown), chrome));
            }
            return error_response(audience, 404,
                                  snap.incident.key() + " has no published version " +
                                      std::to_string(route.version) + ".",
                                  chrome);
        }
        case Kind::review_ics: {
            const auto event = review_event(snap, service_.incident_link(snap.incident));
            if (!event) {
                return error_response(audience, 404,
                                      snap.incident.key() +
                                          " has no review meeting yet: `/incident review "
                                          "YYYY-MM-DD HH:MM` schedules one.",
                                      chrome);
            }
            WebResponse res = make(200, "text/calendar; charset=utf-8", review_calendar(*event));
            res.headers.emplace_back(
                "Content-Disposition",
                "attachment; filename=\"" + snap.incident.key() + "-review.ics\"");
            return res;
        }
        case Kind::postmortem_md: {
            WebResponse res = make(200, "text/markdown; charset=utf-8", render_postmortem(snap));
            res.headers.emplace_back(
                "Content-Disposition",
                "attachment; filename=\"" + snap.incident.key() + "-postmortem.md\"");
            return res;
        }
        default:
            break;
    }
    return error_response(audience, 404, "There is no page at this address.", chrome);
}

WebResponse Dashboard::login(const WebRequest& request, const std::string& query) {
    if (!auth_.enabled()) return redirect("/");
    if (request.method != "POST") {
        const auto params = parse_query(query);
        const auto next = params.find("next");
        const std::string target = safe_next(next == params.end() ? "/" : next->second);
        if (authenticated(request)) return redirect(target);
        return make(200, k_html, login_page(target, ""));
    }

    if (request.body.size() > k_max_form_body) {
        return make(413, k_html, error_page(413, "The login form is too large.", Chrome{}));
    }
    const auto type = header(request, "content-type");
    if (type && !to_lower(*type).starts_with("application/x-www-form-urlencoded")) {
        throw BadRequest("Send the login form as application/x-www-form-urlencoded.");
    }
    const auto form = parse_query(request.body);
    const auto next_field = form.find("next");
    const std::string next = safe_next(next_field == form.end() ? "/" : next_field->second);
    const auto token = form.find("token");
    if (token == form.end() || token->second.empty()) {
        return make(400, k_html, login_page(next, "Enter the dashboard token."));
    }
    if (!auth_.token_matches(token->second)) {
        WebResponse res = make(401, k_html, login_page(next, "That token is not valid."));
        res.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"incident-bot\"");
        return res;
    }
    WebResponse res = redirect(next);
    res.headers.emplace_back(
        "Set-Cookie", std::string(k_session_cookie) + "=" + auth_.issue(service_.now()) +
                          "; Path=/; Max-Age=" + std::to_string(auth_.ttl_ms() / 1000) +
                          "; HttpOnly; SameSite=Strict" + (secure_cookie_ ? "; Secure" : ""));
    return res;
}

WebResponse Dashboard::logout() {
    if (!auth_.enabled()) return redirect("/");
    WebResponse res = redirect("/login");
    res.headers.emplace_back("Set-Cookie", std::string(k_session_cookie) +
                                               "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict" +
                                               (secure_cookie_ ? "; Secure" : ""));
    return res;
}

WebResponse Dashboard::status_page(int kind) {
    const Timestamp now = service_.now();
    const PublicStatus status = public_status(service_, now);
    switch (static_cast<Kind>(kind)) {
        case Kind::status_json:
            return make(200, k_json, status_json(status, status_title_));
        case Kind::status_atom:
            return make(200, "application/atom+xml; charset=utf-8",
                        status_atom(status, status_title_, public_url_));
        default:
            return make(200, k_html, status_html(status, status_title_, now));
    }
}

WebResponse Dashboard::retry(std::int64_t id) {
    if (!outbox_) return redirect("/outbox");
    if (!outbox_->retry(id)) {
        return error_response(Audience::page, 404,
                              "There is no failed effect " + std::to_string(id) +
                                  " (it may have been retried already).",
                              Chrome{auth_.enabled()});
    }
    spdlog::info("dashboard: outbox entry {} retried", id);
    if (outbox_retried_) outbox_retried_();
    return redirect("/outbox");
}

// Failed effects make the bot degraded, not unavailable: it still takes events, and a
// restart would not deliver them.
nlohmann::json Dashboard::outbox_health() {
    const OutboxCounts counts = outbox_->counts();
    const std::int64_t failed = counts.failed_total();
    nlohmann::json check{
        {"ok", true}, {"degraded", failed > 0}, {"pending", counts.pending}, {"failed", failed}};
    if (counts.oldest_pending) {
        check["oldest_pending_seconds"] = (service_.now() - *counts.oldest_pending) / 1000;
    }
    if (failed > 0) {
        check["detail"] =
            std::to_string(failed) + " effect(s) failed for good; see /outbox to retry them";
    }
    return check;
}

WebResponse Dashboard::healthz() {
    nlohmann::json checks = nlohmann::json::object();
    try {
        if (health_) checks = health_();
        if (outbox_ && checks.is_object()) checks["outbox"] = outbox_health();
    } catch (const std::exception&) {
        return json_response(
            503, {{"status", "unavailable"}, {"error", "the health check itself failed"}});
    }
    bool ok = checks.is_object();
    bool degraded = false;
    if (ok) {
        for (const auto& [name, check] : checks.items()) {
            const bool check_ok = check.is_object() && check.contains("ok") &&
                                  check["ok"].is_boolean() && check["ok"].get<bool>();
            ok = ok && check_ok;
            degraded = degraded || (check.is_object() && check.value("degraded", false));
        }
    }
    const char* status = !ok ? "unavailable" : degraded ? "degraded" : "ok";
    return json_response(ok ? 200 : 503, {{"status", status}, {"checks", checks}});
}

WebResponse Dashboard::metrics() {
    GaugeFamily open{"incident_bot_open_incidents",
                     "Incidents not yet resolved (investigating, identified, monitoring), by "
                     "current severity.",
                     {"severity"},
                     {}};
    int counts[5] = {0, 0, 0, 0, 0};
    for (const auto& inc : service_.list(false)) {
        if (inc.is_open()) ++counts[static_cast<int>(inc.severity) - 1];
    }
    for (int s = 1; s <= 5; ++s) {
        open.samples.push_back(
            {{std::string(to_string(static_cast<Severity>(s)))}, double(counts[s - 1])});
    }
    std::vector<GaugeFamily> gauges{open};
    if (outbox_) {
        const OutboxCounts counts = outbox_->counts();
        gauges.push_back({"incident_bot_outbox_pending",
                          "Effects (posts, channels, topics, emails, webhooks) not delivered yet.",
                          {},
                          {{{}, double(counts.pending)}}});
        const double oldest =
            counts.oldest_pending ? double(service_.now() - *counts.oldest_pending) / 1000.0 : 0.0;
        gauges.push_back({"incident_bot_outbox_oldest_seconds",
                          "Age of the oldest effect not delivered yet; 0 when none waits.",
                          {},
                          {{{}, oldest}}});
    }
    return make(200, k_prometheus, metrics_.render(gauges));
}

}  // namespace incident::web

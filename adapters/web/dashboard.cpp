#include "adapters/web/dashboard.hpp"

#include <algorithm>
#include <charconv>
#include <variant>

#include <spdlog/spdlog.h>

#include "adapters/net/digest.hpp"
#include "adapters/web/charts.hpp"
#include "adapters/web/editor.hpp"
#include "adapters/web/filter.hpp"
#include "adapters/web/markdown.hpp"
#include "adapters/web/pages.hpp"
#include "adapters/web/query.hpp"
#include "adapters/web/status_pages.hpp"
#include "bot/calendar.hpp"
#include "bot/evidence.hpp"
#include "bot/export_json.hpp"
#include "bot/people.hpp"
#include "bot/postmortem.hpp"
#include "bot/text.hpp"

namespace incident::web {

namespace {

// The whole of `text` as a number of at least `least` (an id in a path or a form), or nothing.
template <typename Number>
std::optional<Number> whole_number(std::string_view text, Number least = 1) {
    Number value{};
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size() || value < least) {
        return std::nullopt;
    }
    return value;
}

constexpr std::string_view k_html = "text/html; charset=utf-8";
constexpr std::string_view k_json = "application/json";
constexpr std::string_view k_text = "text/plain; charset=utf-8";
constexpr std::string_view k_prometheus = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::size_t k_max_form_body = 4096;
// A section's text at its longest (20,000 characters of up to 4 bytes, each percent-encoded)
// and the form's other fields.
constexpr std::size_t k_max_edit_body = k_max_section_chars * 4 * 3 + 4096;
constexpr int k_default_weeks = 12;
constexpr std::string_view k_sign_in_to_edit =
    "Sign in to edit: type `/incident login` in chat and open the link it gives you. Nothing "
    "was saved.";
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
    login_link,  // /login/<token>, from `/incident login`
    logout,
    postmortem_history,  // /incidents/INC-<n>/postmortem/history
    postmortem_save,     // POST /incidents/INC-<n>/postmortem/sections
    postmortem_actions,  // POST /incidents/INC-<n>/postmortem/actions
    postmortem_publish,  // POST /incidents/INC-<n>/postmortem/publish
    outbox,
    outbox_retry,
    status,  // the public status page: /status, /status.json, /status/feed.atom
    status_json,
    status_atom,
    file,                   // /incidents/INC-<n>/files/<id>: evidence
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
    std::int64_t file = 0;

    static Route match(std::string_view path) {
        if (path == "/") return {Kind::list};
        if (path == "/postmortems") return {Kind::postmortems};
        if (path == "/stats") return {Kind::stats};
        if (path == "/api/incidents") return {Kind::api_list};
        if (path == "/healthz") return {Kind::healthz};
        if (path == "/metrics") return {Kind::metrics};
        if (path == "/login") return {Kind::login};
        if (path == "/logout") return {Kind::logout};
        if (path.starts_with("/login/")) return {Kind::login_link};
        if (path == "/status") return {Kind::status};
        if (path == "/status.json") return {Kind::status_json};
        if (path == "/status/feed.atom") return {Kind::status_atom};
        if (path == "/outbox") return {Kind::outbox};
        if (path.starts_with("/outbox/") && path.ends_with("/retry")) {
            const auto id = whole_number<std::int64_t>(path.substr(8, path.size() - 8 - 6));
            if (!id) return {Kind::none};
            return {Kind::outbox_retry, *id};
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
            if (kind == Kind::incident && tail == "/postmortem/history") {
                return {Kind::postmortem_history, *number};
            }
            if (kind == Kind::incident && tail == "/postmortem/sections") {
                return {Kind::postmortem_save, *number};
            }
            if (kind == Kind::incident && tail == "/postmortem/actions") {
                return {Kind::postmortem_actions, *number};
            }
            if (kind == Kind::incident && tail == "/postmortem/publish") {
                return {Kind::postmortem_publish, *number};
            }
            if (kind == Kind::incident && tail.starts_with("/files/")) {
                const auto file = whole_number<std::int64_t>(tail.substr(7));
                if (file) return {Kind::file, *number, 0, *file};
                return {Kind::none};
            }
            if (kind == Kind::incident && tail.starts_with("/postmortem/v")) {
                if (const auto version = whole_number<int>(tail.substr(13))) {
                    return {Kind::published, *number, *version};
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
      public_url_(std::move(options.public_url)),
      sign_in_(options.sign_in),
      replica_(std::move(options.replica)) {}

WebResponse Dashboard::handle(const WebRequest& request) {
    const std::string_view raw_path =
        std::string_view(request.target).substr(0, request.target.find('?'));
    const Audience audience = audience_of(raw_path);
    const Chrome chrome = base_chrome();
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
    // A file response carries its own (sandbox): one policy, so it is not weakened or doubled.
    const bool own_policy = std::any_of(res.headers.begin(), res.headers.end(), [](const auto& h) {
        return h.first == "Content-Security-Policy";
    });
    if (!own_policy) {
        res.headers.emplace_back("Content-Security-Policy",
                                 "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' "
                                 "data:; form-action 'self'");
    }
    res.headers.emplace_back("X-Content-Type-Options", "nosniff");
    res.headers.emplace_back("Referrer-Policy", "no-referrer");
    res.headers.emplace_back("X-Frame-Options", "DENY");
    res.headers.emplace_back("Cache-Control", "no-store");
    if (request.method == "HEAD") res.body.clear();
    return res;
}

std::optional<std::string> Dashboard::person_cookie(const WebRequest& request) const {
    if (!sign_in_) return std::nullopt;
    const auto cookies = header(request, "cookie");
    if (!cookies) return std::nullopt;
    return cookie_value(*cookies, k_person_cookie);
}

std::optional<Person> Dashboard::signed_in(const WebRequest& request) const {
    const auto cookie = person_cookie(request);
    if (!cookie) return std::nullopt;
    return sign_in_->session(*cookie, service_.now());
}

namespace {

// "replica web-1 · leads housekeeping, reminders" or "replica web-2 · standby".
std::string replica_line(const ReplicaRole& role) {
    std::string led;
    for (const auto& [job, leading] : role.jobs) {
        if (leading) led += (led.empty() ? "" : ", ") + job;
    }
    return "replica " + role.id + " · " + (led.empty() ? "standby" : "leads " + led);
}

}  // namespace

Chrome Dashboard::base_chrome() const {
    Chrome chrome{auth_.enabled()};
    if (replica_) chrome.replica = replica_line(replica_());
    return chrome;
}

Chrome Dashboard::chrome_for(const WebRequest& request) const {
    Chrome chrome = base_chrome();
    if (const auto person = signed_in(request)) {
        chrome.person = mention(person->actor) + " (" + person->platform + ")";
    }
    return chrome;
}

std::string Dashboard::cookie_attributes(Timestamp max_age_ms, std::string_view same_site) const {
    return "; Path=/; Max-Age=" + std::to_string(max_age_ms / 1000) +
           "; HttpOnly; SameSite=" + std::string(same_site) + (secure_cookie_ ? "; Secure" : "");
}

bool Dashboard::authenticated(const WebRequest& request) const {
    if (!auth_.enabled()) return true;
    // Signed in through a chat link: the chat platform vouched for the person.
    if (signed_in(request)) return true;
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
    const Route route = Route::match(target.path);
    const Chrome chrome = chrome_for(request);

    if (route.kind == Kind::none || route.kind == Kind::unknown_incident_path) {
        return error_response(audience, 404,
                              route.kind == Kind::none
                                  ? "There is no page at this address."
                                  : "That is not an incident id; ids look like INC-7.",
                              chrome);
    }

    const bool is_get = request.method == "GET" || request.method == "HEAD";
    const bool post_only = route.kind == Kind::logout || route.kind == Kind::outbox_retry ||
                           route.kind == Kind::postmortem_save ||
                           route.kind == Kind::postmortem_actions ||
                           route.kind == Kind::postmortem_publish;
    const bool get_or_post = route.kind == Kind::login || route.kind == Kind::login_link;
    const bool allowed = get_or_post ? is_get || request.method == "POST"
                         : post_only ? request.method == "POST"
                                     : is_get;
    if (!allowed) {
        WebResponse res = error_response(
            audience, 405, "This address does not accept " + request.method + " requests.", chrome);
        res.headers.emplace_back("Allow", get_or_post ? "GET, HEAD, POST"
                                          : post_only ? "POST"
                                                      : "GET, HEAD");
        return res;
    }

    if (route.kind == Kind::login) return login(request, target.query);
    if (route.kind == Kind::logout) return logout(request);
    if (route.kind == Kind::login_link) return login_link(request, target.path.substr(7));
    if (route.kind == Kind::healthz) return healthz();
    // Public: what was published is for everyone, signed in or not.
    if (route.kind == Kind::status || route.kind == Kind::status_json ||
        route.kind == Kind::status_atom) {
        return status_page(static_cast<int>(route.kind));
    }

    // An edit needs a person: without one, a form post is refused, token or not.
    if ((route.kind == Kind::postmortem_save || route.kind == Kind::postmortem_actions ||
         route.kind == Kind::postmortem_publish) &&
        !signed_in(request)) {
        return error_response(audience, 403, k_sign_in_to_edit, chrome);
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
    if (route.kind == Kind::postmortem_save) return save_section(request, route.number);
    if (route.kind == Kind::file)
        return file_response(static_cast<int>(audience), route.number, route.file, chrome);
    if (route.kind == Kind::postmortem_actions) return save_action(request, route.number);
    if (route.kind == Kind::postmortem_publish) return publish(request, route.number);
    const IncidentSnapshot snap = service_.snapshot(route.number);
    switch (route.kind) {
        case Kind::incident:
            return make(200, k_html, incident_page(snap, service_.now(), chrome));
        case Kind::api_incident:
            return json_response(200, to_json(snap));
        case Kind::postmortem: {
            const auto cookie = person_cookie(request);
            const std::string form_token =
                cookie && !chrome.person.empty() ? sign_in_->form_token(*cookie) : "";
            const std::string editor =
                editor_html(snap.incident, current_sections(snap.revisions), chrome.person,
                            form_token) +
                actions_editor_html(snap.incident, snap.actions, chrome.person, form_token) +
                publish_form_html(snap.incident, service_.published(route.number).size(),
                                  chrome.person, form_token);
            return make(
                200, k_html,
                postmortem_page(snap.incident, markdown_to_html(render_postmortem(snap)),
                                service_.published(route.number), chrome, sign_in_ ? editor : ""));
        }
        case Kind::postmortem_history:
            return make(200, k_html, history_page(snap.incident, snap.revisions, chrome));
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

WebResponse Dashboard::file_response(int audience, std::int64_t number, std::int64_t id,
                                     const Chrome& chrome) {
    const auto shape = static_cast<Audience>(audience);
    const auto file = service_.file(id);
    if (!file || file->incident != number) {
        return error_response(
            shape, 404, incident_key(number) + " has no file " + std::to_string(id) + ".", chrome);
    }
    const auto content = service_.file_content(*file);
    if (!content) {
        return error_response(shape, 404,
                              incident_key(number) + "'s file " + std::to_string(id) +
                                  " is not kept (" + std::string(to_string(file->status)) + ").",
                              chrome);
    }
    // Only image types browsers never run get their own type; anything else (HTML, SVG,
    // scripts) is a download, and the sandbox keeps even a misread file from running.
    const bool image = is_inline_image(file->mime_type);
    WebResponse res =
        make(200, image ? to_lower(trim(file->mime_type)) : "application/octet-stream", *content);
    res.headers.emplace_back("Content-Disposition", std::string(image ? "inline" : "attachment") +
                                                        "; filename=\"" +
                                                        safe_file_name(file->name) + "\"");
    res.headers.emplace_back("Content-Security-Policy", "sandbox");
    return res;
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

WebResponse Dashboard::logout(const WebRequest& request) {
    WebResponse res = redirect(auth_.enabled() ? "/login" : "/");
    if (const auto cookie = person_cookie(request)) {
        sign_in_->end_session(*cookie, service_.now());
        res.headers.emplace_back("Set-Cookie",
                                 std::string(k_person_cookie) + "=" + cookie_attributes(0, "Lax"));
    }
    if (auth_.enabled()) {
        res.headers.emplace_back(
            "Set-Cookie", std::string(k_session_cookie) + "=" + cookie_attributes(0, "Strict"));
    }
    return res;
}

WebResponse Dashboard::login_link(const WebRequest& request, std::string_view token) {
    const Chrome chrome{auth_.enabled()};
    if (!sign_in_) {
        return error_response(Audience::page, 404, "This dashboard has no sign-in links.", chrome);
    }
    // Opening the link only asks: link previews fetch it too, and must not spend it.
    const bool spend = request.method == "POST";
    // What the link is, first, spending nothing: an expired, used or forged link says so
    // whatever the form carried.
    SignIn::Redeemed redeemed = sign_in_->check(token, service_.now());
    if (redeemed.status == SignIn::Status::ok && spend) {
        // The button must come from the page this browser was shown, or another site could
        // sign the visitor in as its own person (login CSRF); checked before the link is spent.
        const auto cookies = header(request, "cookie");
        const auto browser = cookies ? cookie_value(*cookies, k_sign_in_cookie) : std::nullopt;
        const auto form = parse_query(request.body.substr(0, k_max_form_body));
        const auto csrf = form.find("csrf");
        if (!browser || browser->empty() || csrf == form.end() ||
            !sign_in_->form_token_valid("sign-in." + *browser, csrf->second)) {
            return error_response(Audience::page, 403,
                                  "This sign-in was not sent from the page of the link, so "
                                  "nobody was signed in. Open the link from chat again and "
                                  "press Sign in there.",
                                  chrome);
        }
        redeemed = sign_in_->redeem(token, service_.now());
    }
    switch (redeemed.status) {
        case SignIn::Status::ok:
            break;
        case SignIn::Status::expired:
            return error_response(Audience::page, 410,
                                  "This sign-in link has expired (links work for 10 minutes). "
                                  "Type `/incident login` in chat again for a new one.",
                                  chrome);
        case SignIn::Status::used:
            return error_response(Audience::page, 410,
                                  "This sign-in link was used already (each works once). Type "
                                  "`/incident login` in chat again for a new one.",
                                  chrome);
        case SignIn::Status::invalid:
            return error_response(Audience::page, 403,
                                  "This is not a valid sign-in link (it may have been cut or "
                                  "changed). Type `/incident login` in chat again for a new one.",
                                  chrome);
    }
    if (!spend) {
        // Strict, and only for /login/: a cross-site post of the button never carries it.
        const std::string nonce = sign_in_->browser_nonce();
        WebResponse res = make(
            200, k_html,
            sign_in_page(request.target.substr(0, request.target.find('?')),
                         mention(redeemed.person.actor) + " (" + redeemed.person.platform + ")",
                         sign_in_->form_token("sign-in." + nonce)));
        res.headers.emplace_back(
            "Set-Cookie", std::string(k_sign_in_cookie) + "=" + nonce + "; Path=/login/; Max-Age=" +
                              std::to_string(SignIn::k_link_ttl_ms / 1000) +
                              "; HttpOnly; SameSite=Strict" + (secure_cookie_ ? "; Secure" : ""));
        return res;
    }
    spdlog::info("dashboard: {} ({}) signed in", redeemed.person.actor.id,
                 redeemed.person.platform);
    WebResponse res = redirect("/");
    // Lax: the link is opened from the chat application, another site, and the redirect
    // after it must carry the cookie; forms are guarded by their token.
    res.headers.emplace_back("Set-Cookie",
                             std::string(k_person_cookie) + "=" +
                                 sign_in_->start_session(redeemed.person, service_.now()) +
                                 cookie_attributes(sign_in_->session_ttl_ms(), "Lax"));
    return res;
}

std::variant<WebResponse, Dashboard::SignedForm> Dashboard::signed_form(
    const WebRequest& request, const Chrome& chrome) const {
    const auto cookie = person_cookie(request);
    const auto person = signed_in(request);
    if (!cookie || !person) {
        return error_response(Audience::page, 403, k_sign_in_to_edit, chrome);
    }
    if (request.body.size() > k_max_edit_body) {
        return error_response(Audience::page, 413, "The form is too large; nothing was saved.",
                              chrome);
    }
    const auto type = header(request, "content-type");
    if (type && !to_lower(*type).starts_with("application/x-www-form-urlencoded")) {
        throw BadRequest("Send the form as application/x-www-form-urlencoded.");
    }
    SignedForm out{*cookie, *person, parse_query(request.body)};
    if (!sign_in_->form_token_valid(*cookie, out.field("csrf"))) {
        return error_response(Audience::page, 403,
                              "This form has no valid anti-forgery token, so nothing was saved. "
                              "Open the post-mortem page again and edit it there.",
                              chrome);
    }
    return out;
}

WebResponse Dashboard::save_section(const WebRequest& request, std::int64_t number) {
    const Chrome chrome = chrome_for(request);
    auto checked = signed_form(request, chrome);
    if (auto* refused = std::get_if<WebResponse>(&checked)) return std::move(*refused);
    const SignedForm& form = std::get<SignedForm>(checked);
    const auto section = parse_section(form.field("section"));
    bool editable = false;
    for (const Section s : editable_sections()) editable = editable || section == s;
    if (!section || !editable) throw BadRequest("The form names no section that can be edited.");
    SectionForm edit{*section, std::nullopt, 0, form.field("text")};
    const auto whole = [](const std::string& text, std::int64_t& out) {
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
        return error == std::errc{} && end == text.data() + text.size() && out >= 0;
    };
    if (const std::string item = form.field("item"); !item.empty()) {
        std::int64_t position = 0;
        if (!is_list_section(*section) || !whole(item, position) || position < 1 ||
            position > 10'000) {
            throw BadRequest("The form's item number is not valid.");
        }
        edit.position = static_cast<int>(position);
    }
    if (!whole(form.field("based_on"), edit.based_on)) {
        throw BadRequest("The form does not say which revision it was based on.");
    }
    const Incident incident = service_.require(number);
    if (form.field("do") == "preview") {
        return make(200, k_html,
                    form_page(incident, edit, markdown_to_html(edit.text), "",
                              sign_in_->form_token(form.cookie), chrome));
    }

    // One save per form submitted: a second click on Save repeats nothing.
    const std::string key =
        "web:save:" + net::sha256_hex(form.cookie + "\n" + std::to_string(number) + "\n" +
                                      std::string(to_string(edit.section)) + "\n" +
                                      std::to_string(edit.position.value_or(0)) + "\n" +
                                      std::to_string(edit.based_on) + "\n" + edit.text);
    std::optional<SectionSave> saved;
    const Outcome out = service_.execute(
        key,
        [&] {
            Incident inc = service_.require(number);
            saved = service_.save_section(inc, edit.section, edit.text, edit.position,
                                          edit.based_on, form.person.actor, service_.now());
            return Reply{true, Reply::Visibility::ephemeral,
                         saved->conflict() ? "conflict" : "saved"};
        },
        form.person.platform);
    if (!out.reply.ok) {
        const bool is_final = incident.state == State::closed || incident.state == State::merged;
        WebResponse res = make(is_final ? 409 : 400, k_html,
                               form_page(incident, edit, "", out.reply.text,
                                         sign_in_->form_token(form.cookie), chrome));
        return res;
    }
    if (out.reply.text == "conflict") {
        std::optional<SectionRevision> theirs = saved ? saved->newer : std::nullopt;
        if (!theirs) {  // a repeated submission: what stands now
            const PostmortemSections now = service_.sections(number);
            if (!is_list_section(edit.section)) {
                theirs = now.single(edit.section);
            } else if (edit.position &&
                       *edit.position <= static_cast<int>(now.list(edit.section).size())) {
                theirs = now.list(edit.section)[static_cast<std::size_t>(*edit.position - 1)];
            }
        }
        if (theirs) {
            return make(
                409, k_html,
                conflict_page(incident, edit, *theirs, sign_in_->form_token(form.cookie), chrome));
        }
    }
    return redirect("/incidents/" + incident_key(number) + "/postmortem#edit");
}

WebResponse Dashboard::save_action(const WebRequest& request, std::int64_t number) {
    const Chrome chrome = chrome_for(request);
    auto checked = signed_form(request, chrome);
    if (auto* refused = std::get_if<WebResponse>(&checked)) return std::move(*refused);
    const SignedForm& form = std::get<SignedForm>(checked);
    const std::string what = form.field("do");
    service_.require(number);  // an unknown incident is a 404 before anything else
    const auto refuse = [&](int status, const std::string& message) {
        return error_response(Audience::page, status, message + " Nothing was changed.", chrome);
    };
    // Whether the item is open to change (a closed incident takes no new items, a merged one
    // none at all) is the domain's rule: its refusal comes back as the reply.
    std::function<Reply()> work;
    const std::optional<int> item = whole_number<int>(form.field("item"));
    if ((what == "done" || what == "edit") && !item) {
        return refuse(400, "`" + form.field("item") + "` is not an action item number.");
    }
    const std::string text(trim(form.field("text")));
    std::string owner(trim(form.field("owner")));
    const std::string due(trim(form.field("due")));
    if (what == "add" || what == "edit") {
        if (text.empty()) {
            return refuse(400, "Say what needs doing: the action item's text is empty.");
        }
        if (utf8_length(text) > k_max_section_chars) {
            return refuse(413, "The action item is longer than " +
                                   std::to_string(k_max_section_chars) +
                                   " characters; shorten it.");
        }
        // Each field is one word of the chat grammar, so both surfaces accept the same things.
        if (owner.find_first_of(" \t\r\n") != std::string::npos) {
            return refuse(400, "`" + owner + "` is not one person: write @name.");
        }
        if (due.find_first_of(" \t\r\n") != std::string::npos) {
            return refuse(400,
                          "`" + due + "` is not a due date: write YYYY-MM-DD, e.g. 2026-12-01.");
        }
        if (!owner.empty() && owner.front() != '@') owner = "@" + owner;
    }
    if (what == "add") {
        const std::string kind = form.field("kind");
        if (kind != "corrective" && kind != "preventive") {
            throw BadRequest("The form names no kind of action item (corrective or preventive).");
        }
        std::string body = text;
        if (!owner.empty()) body += " " + owner;
        if (!due.empty()) body += " due:" + due;
        const TodoParse parsed = parse_todo_body(body);
        if (!parsed.spec) return refuse(400, parsed.error);
        const ActionKind action_kind =
            kind == "preventive" ? ActionKind::preventive : ActionKind::corrective;
        work = [this, number, spec = *parsed.spec, action_kind, &form] {
            Incident inc = service_.require(number);
            service_.add_action(inc, spec, form.person.actor, ActionSource::command, {},
                                service_.now(), action_kind);
            return Reply{true, Reply::Visibility::ephemeral, "added"};
        };
    } else if (what == "edit") {
        // The form shows every field, so an emptied field means nobody or no date.
        ActionEdit change{text, owner,
                          due.empty() ? std::optional<std::string>{} : std::optional{due}};
        work = [this, number, item = *item, change, &form] {
            Incident inc = service_.require(number);
            service_.edit_action(inc, item, change, form.person.actor, service_.now());
            return Reply{true, Reply::Visibility::ephemeral, "edited"};
        };
    } else if (what == "done") {
        work = [this, number, item = *item, &form] {
            Incident inc = service_.require(number);
            service_.complete_action(inc, item, form.person.actor, service_.now());
            return Reply{true, Reply::Visibility::ephemeral, "done"};
        };
    } else {
        throw BadRequest("The form says neither add, edit nor done.");
    }
    // One change per form submitted: a second click repeats nothing.
    const std::string key =
        "web:action:" +
        net::sha256_hex(form.cookie + "\n" + std::to_string(number) + "\n" + request.body);
    const Outcome out = service_.execute(key, work, form.person.platform);
    if (!out.reply.ok) return refuse(400, out.reply.text);
    return redirect("/incidents/" + incident_key(number) + "/postmortem#actions");
}

WebResponse Dashboard::publish(const WebRequest& request, std::int64_t number) {
    const Chrome chrome = chrome_for(request);
    auto checked = signed_form(request, chrome);
    if (auto* refused = std::get_if<WebResponse>(&checked)) return std::move(*refused);
    const SignedForm& form = std::get<SignedForm>(checked);
    const std::optional<std::size_t> versions =
        whole_number<std::size_t>(form.field("versions"), 0);
    if (!versions) throw BadRequest("The form does not say which published version it saw.");
    const std::size_t seen = *versions;
    // One version per form submitted: a second click publishes nothing more.
    const std::string key =
        "web:publish:" +
        net::sha256_hex(form.cookie + "\n" + std::to_string(number) + "\n" + std::to_string(seen));
    const Outcome out = service_.execute(
        key,
        [&] {
            Incident inc = service_.require(number);
            const auto before = service_.published(number);
            if (before.size() != seen) {
                throw DomainError("Version " + std::to_string(before.back().version) +
                                  " was published by " + mention(before.back().by) +
                                  " since you opened the page. Open the post-mortem page again "
                                  "to publish the draft as it is now.");
            }
            service_.update_postmortem(inc, std::nullopt, std::nullopt, true, form.person.actor,
                                       service_.now());
            return Reply{true, Reply::Visibility::ephemeral, "published"};
        },
        form.person.platform);
    if (!out.reply.ok) {
        return error_response(Audience::page, 409, out.reply.text + " Nothing was published.",
                              chrome);
    }
    // The version this form published, the first time or (repeated) before.
    return redirect("/incidents/" + incident_key(number) + "/postmortem/v" +
                    std::to_string(seen + 1));
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
                              base_chrome());
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
    if (replica_) {
        // One series per job: Prometheus scrapes every replica, so sum() over `replica`
        // shows a job with no leader (0) or, briefly during a hand-over, two (2).
        const ReplicaRole role = replica_();
        GaugeFamily leads{"incident_bot_replica_leads",
                          "1 when this replica does the job only one replica does, else 0.",
                          {"replica", "job"},
                          {}};
        for (const auto& [job, leading] : role.jobs) {
            leads.samples.push_back({{role.id, job}, leading ? 1.0 : 0.0});
        }
        gauges.push_back(std::move(leads));
    }
    return make(200, k_prometheus, metrics_.render(gauges));
}

}  // namespace incident::web

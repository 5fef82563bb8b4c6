#include "adapters/web/status_pages.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/web/html.hpp"
#include "bot/text.hpp"

namespace incident::web {

namespace {

constexpr std::string_view k_status_style = R"css(
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#fff}
main{max-width:48rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.5rem 0 1rem;overflow-wrap:anywhere}
h2{font-size:1.1rem;margin-top:1.6rem;border-bottom:1px solid #d1d9e0;padding-bottom:.2rem}
.banner{padding:.7rem 1rem;border-radius:.4rem;font-weight:600;color:#fff;background:#1a7f37}
.banner.issue{background:#d9480f}
ul.components{list-style:none;padding:0;margin:0;border:1px solid #d1d9e0;border-radius:.4rem}
ul.components li{display:flex;justify-content:space-between;gap:1rem;padding:.5rem .8rem;border-bottom:1px solid #d1d9e0}
ul.components li:last-child{border-bottom:0}
.c-operational{color:#1a7f37}.c-degraded{color:#9a6700}.c-partial-outage{color:#d9480f}.c-major-outage{color:#b42318}
article{border:1px solid #d1d9e0;border-radius:.4rem;padding:.6rem .9rem;margin:.6rem 0}
article ol{list-style:none;padding:0;margin:0}
article li{margin:.4rem 0}
.state{font-weight:700}
.text{white-space:pre-wrap;overflow-wrap:anywhere}
time,.muted{color:#59636e;font-size:.85rem}
)css";

std::string time_element(Timestamp at) {
    const std::string t = format_time(at);
    return "<time datetime=\"" + t + "\">" + t.substr(0, 10) + " " + t.substr(11, 5) +
           " UTC</time>";
}

std::string update_text(const PublicUpdate& u) {
    return u.text.empty() ? "Status changed to " + to_lower(describe(u.state)) + "." : u.text;
}

std::string incident_html(const PublicIncident& inc) {
    std::string out = "<article id=\"incident-" + std::to_string(inc.id) + "\"><ol>";
    for (const auto& u : inc.updates) {
        out += "<li><span class=\"state\">" + html_escape(describe(u.state)) +
               "</span> — <span class=\"text\">" + html_escape(update_text(u)) + "</span><br>" +
               time_element(u.at) + "</li>";
    }
    return out + "</ol></article>";
}

nlohmann::json incident_json(const PublicIncident& inc) {
    nlohmann::json updates = nlohmann::json::array();
    for (const auto& u : inc.updates) {
        updates.push_back({{"id", u.id},
                           {"state", std::string(to_string(u.state))},
                           {"text", u.text},
                           {"at", format_time(u.at)}});
    }
    return {{"id", inc.id},
            {"state", std::string(to_string(inc.state))},
            {"started_at", format_time(inc.started)},
            {"updated_at", format_time(inc.updated)},
            {"updates", updates}};
}

std::string trimmed_base(std::string_view base) {
    std::string out(base);
    while (out.ends_with('/')) out.pop_back();
    return out;
}

}  // namespace

std::string xml_escape(std::string_view text) {
    std::string kept;
    kept.reserve(text.size());
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 && c != '\t' && c != '\n' && c != '\r') continue;
        kept += c;
    }
    return html_escape(kept);
}

std::string status_html(const PublicStatus& status, std::string_view title, Timestamp now) {
    bool trouble = !status.current.empty();
    for (const auto& c : status.components)
        trouble = trouble || c.status != ComponentStatus::operational;
    std::string body = "<h1>" + html_escape(title) + "</h1>";
    body += trouble ? "<p class=\"banner issue\">Some systems are affected.</p>"
                    : "<p class=\"banner\">All systems operational.</p>";
    if (!status.components.empty()) {
        body += "<h2>Components</h2><ul class=\"components\">";
        for (const auto& c : status.components) {
            body += "<li><span>" + html_escape(c.name) + "</span><span class=\"c-" +
                    std::string(to_string(c.status)) + "\">" + html_escape(describe(c.status)) +
                    "</span></li>";
        }
        body += "</ul>";
    }
    body += "<h2>Current incidents</h2>";
    if (status.current.empty()) body += "<p class=\"muted\">No current incidents.</p>";
    for (const auto& inc : status.current) body += incident_html(inc);
    body += "<h2>Past incidents (last " + std::to_string(k_status_history_days) + " days)</h2>";
    if (status.past.empty()) body += "<p class=\"muted\">No incidents reported.</p>";
    for (const auto& inc : status.past) body += incident_html(inc);
    body += "<p class=\"muted\">Updated " + time_element(now) +
            " · <a href=\"/status/feed.atom\">Atom feed</a> · <a "
            "href=\"/status.json\">JSON</a></p>";

    std::string out =
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>";
    out += html_escape(title);
    out +=
        "</title><link rel=\"alternate\" type=\"application/atom+xml\" href=\"/status/feed.atom\">";
    out += "<style>" + std::string(k_status_style) + "</style></head><body><main>\n";
    out += body;
    out += "\n</main></body></html>\n";
    return out;
}

std::string status_json(const PublicStatus& status, std::string_view title) {
    nlohmann::json components = nlohmann::json::array();
    for (const auto& c : status.components) {
        nlohmann::json one{{"name", c.name}, {"status", std::string(to_string(c.status))}};
        if (c.updated) one["updated_at"] = format_time(c.updated);
        components.push_back(one);
    }
    nlohmann::json current = nlohmann::json::array(), past = nlohmann::json::array();
    for (const auto& inc : status.current) current.push_back(incident_json(inc));
    for (const auto& inc : status.past) past.push_back(incident_json(inc));
    nlohmann::json out{{"title", std::string(title)},
                       {"components", components},
                       {"incidents", current},
                       {"past_incidents", past},
                       {"history_days", k_status_history_days}};
    if (status.updated) out["updated_at"] = format_time(status.updated);
    return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string status_atom(const PublicStatus& status, std::string_view title, std::string_view base) {
    const std::string root = trimmed_base(base);
    const std::string page = root + "/status";
    const std::string feed_id = root.empty() ? "urn:incident-bot:status" : page + "/feed.atom";
    const auto entry_id = [&](std::int64_t id) {
        return root.empty() ? "urn:incident-bot:status:update:" + std::to_string(id)
                            : page + "#update-" + std::to_string(id);
    };
    // The feed's updated is the newest entry's; an empty feed has the epoch.
    std::string out = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";
    out += "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n";
    out += "  <id>" + xml_escape(feed_id) + "</id>\n";
    out += "  <title type=\"text\">" + xml_escape(title) + "</title>\n";
    out += "  <updated>" + format_time(status.updated) + "</updated>\n";
    out += "  <author><name>" + xml_escape(title) + "</name></author>\n";
    out += "  <link rel=\"alternate\" type=\"text/html\" href=\"" + xml_escape(page) + "\"/>\n";
    out += "  <link rel=\"self\" type=\"application/atom+xml\" href=\"" +
           xml_escape(page + "/feed.atom") + "\"/>\n";
    std::vector<std::pair<const PublicIncident*, const PublicUpdate*>> entries;
    for (const auto* list : {&status.current, &status.past}) {
        for (const auto& inc : *list) {
            for (const auto& u : inc.updates) entries.emplace_back(&inc, &u);
        }
    }
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
        return a.second->at != b.second->at ? a.second->at > b.second->at
                                            : a.second->id > b.second->id;
    });
    for (const auto& [inc, u] : entries) {
        const std::string text = update_text(*u);
        out += "  <entry>\n";
        out += "    <id>" + xml_escape(entry_id(u->id)) + "</id>\n";
        out += "    <title type=\"text\">" +
               xml_escape(std::string(describe(u->state)) + ": " + truncate_utf8(text, 80)) +
               "</title>\n";
        out += "    <updated>" + format_time(u->at) + "</updated>\n";
        out += "    <published>" + format_time(u->at) + "</published>\n";
        out += "    <link rel=\"alternate\" type=\"text/html\" href=\"" +
               xml_escape(page + "#incident-" + std::to_string(inc->id)) + "\"/>\n";
        out += "    <content type=\"text\">" + xml_escape(text) + "</content>\n";
        out += "  </entry>\n";
    }
    out += "</feed>\n";
    return out;
}

}  // namespace incident::web

#include "adapters/web/pages.hpp"

#include <algorithm>

#include "adapters/web/charts.hpp"
#include "adapters/web/query.hpp"
#include "bot/evidence.hpp"
#include "bot/people.hpp"
#include "bot/text.hpp"

namespace incident::web {

namespace {

constexpr Timestamp k_week_ms = 7 * 86'400'000LL;

std::string esc(std::string_view text) {
    return html_escape(text);
}

std::string incident_link(const Incident& inc) {
    return "<a href=\"/incidents/" + inc.key() + "\">" + inc.key() + "</a>";
}

std::string incident_link(std::int64_t number) {
    const std::string key = incident_key(number);
    return "<a href=\"/incidents/" + key + "\">" + key + "</a>";
}

std::string option(std::string_view value, std::string_view label, bool selected) {
    return "<option value=\"" + esc(value) + "\"" + (selected ? " selected" : "") + ">" +
           esc(label) + "</option>";
}

std::string td(std::string_view label, std::string_view html) {
    return "<td data-label=\"" + esc(label) + "\">" + std::string(html) + "</td>";
}

std::string role_title(Role role) {
    switch (role) {
        case Role::commander:
            return "Incident commander";
        case Role::scribe:
            return "Scribe";
        case Role::comms:
            return "Communications";
        case Role::liaison:
            return "Customer liaison";
        case Role::sme:
            return "Subject matter experts";
    }
    return "";
}

std::string duration_cell(const Incident& inc, Timestamp now) {
    if (inc.resolved_at) return "resolved in " + format_duration(inc.declared_at, *inc.resolved_at);
    if (inc.state == State::merged || inc.state == State::closed) return "—";
    return "open for " + format_duration(inc.declared_at, now);
}

std::string filter_form(const ListFilter& filter) {
    std::string out = "<form class=\"filters\" method=\"get\" action=\"/\">";
    out += "<label>State <select name=\"state\">";
    for (const std::string_view s : {"open", "active", "all", "investigating", "identified",
                                     "monitoring", "resolved", "closed", "merged"}) {
        const std::string_view label = s == "open"     ? "open (not closed)"
                                       : s == "active" ? "active (not resolved)"
                                                       : s;
        out += option(s, label, filter.state == s);
    }
    out += "</select></label><label>Severity <select name=\"severity\">";
    out += option("", "any", !filter.severity);
    for (int s = 1; s <= 5; ++s) {
        const auto sev = static_cast<Severity>(s);
        out += option(to_string(sev),
                      std::string(to_string(sev)) + " (" + std::string(describe(sev)) + ")",
                      filter.severity == sev);
    }
    out +=
        "</select></label><label>Search <input type=\"search\" name=\"q\" maxlength=\"200\" "
        "value=\"" +
        esc(filter.q) + "\"></label><button type=\"submit\">Filter</button></form>";
    return out;
}

std::string facts(const std::vector<std::pair<std::string, std::string>>& rows) {
    std::string out = "<dl class=\"facts\">";
    for (const auto& [term, html] : rows) out += "<dt>" + esc(term) + "</dt><dd>" + html + "</dd>";
    return out + "</dl>";
}

std::string timeline_entry(const TimelineEntry& e) {
    std::string classes;
    if (e.key_event) classes += " key";
    if (e.deleted_at) classes += " deleted";
    if (!e.thread_id.empty() && e.thread_id != e.message_id) classes += " reply";
    std::string out = "<li" + (classes.empty() ? "" : " class=\"" + classes.substr(1) + "\"") + ">";
    out += time_html(e.at) + " <span class=\"tag\">" + esc(to_string(e.kind)) + "</span> <b>" +
           esc(mention(e.author)) + "</b>";
    if (e.key_event) out += " <span class=\"tag\">📌 key event</span>";
    if (classes.find("reply") != std::string::npos) out += " <span class=\"tag\">in thread</span>";
    if (e.edited_at) {
        out += " <span class=\"tag\">edited " + esc(format_time(*e.edited_at)) + "</span>";
    }
    if (e.deleted_at) {
        out += " <span class=\"tag\">deleted " + esc(format_time(*e.deleted_at)) + "</span>";
    }
    out += "<div class=\"text\">" + esc(clip_for_display(e.text)) + "</div>";
    if (!e.previous_texts.empty()) {
        out += "<details><summary>" + std::to_string(e.previous_texts.size()) +
               (e.previous_texts.size() == 1 ? " earlier version" : " earlier versions") +
               "</summary><ol>";
        for (const auto& text : e.previous_texts) {
            out += "<li><span class=\"text\">" + esc(clip_for_display(text)) + "</span></li>";
        }
        out += "</ol></details>";
    }
    return out + "</li>\n";
}

std::string key_times(const Incident& inc) {
    std::string out =
        "<table class=\"list\"><thead><tr><th>Milestone</th><th>Time (UTC)</th>"
        "<th>Since declaration</th></tr></thead><tbody>";
    const auto row = [&](std::string_view name, const std::optional<Timestamp>& at) {
        out += "<tr>" + td("Milestone", esc(name)) +
               td("Time", at ? time_html(*at) : "<span class=\"muted\">—</span>") +
               td("Since declaration", at ? esc(format_duration(inc.declared_at, *at)) : "—") +
               "</tr>";
    };
    row("Declared", inc.declared_at);
    row("Identified", inc.identified_at);
    row("Mitigated (monitoring)", inc.mitigated_at);
    row("Resolved", inc.resolved_at);
    row("Closed", inc.closed_at);
    out += "</tbody></table>";
    std::string between;
    if (inc.identified_at && inc.mitigated_at) {
        between += "<li>Identified → mitigated: " +
                   esc(format_duration(*inc.identified_at, *inc.mitigated_at)) + "</li>";
    }
    if (inc.mitigated_at && inc.resolved_at) {
        between += "<li>Mitigated → resolved: " +
                   esc(format_duration(*inc.mitigated_at, *inc.resolved_at)) + "</li>";
    }
    if (inc.resolved_at) {
        between += "<li>Total time to resolve: " +
                   esc(format_duration(inc.declared_at, *inc.resolved_at)) + "</li>";
    }
    if (!between.empty()) out += "<ul>" + between + "</ul>";
    return out;
}

std::string action_table(const std::vector<ActionItem>& actions, Timestamp now) {
    if (actions.empty()) return "<p class=\"muted\">No action items were recorded.</p>";
    const std::string today = format_time(now).substr(0, 10);
    std::string out =
        "<table class=\"list\"><thead><tr><th>#</th><th>Action</th><th>Owner</th>"
        "<th>Due</th><th>Status</th><th>From</th></tr></thead><tbody>";
    for (const auto& a : actions) {
        const bool overdue = a.status == ActionStatus::open && a.due && *a.due < today;
        std::string due = a.due ? esc(*a.due) : "—";
        if (overdue) due = "<span class=\"overdue\">" + due + " (overdue)</span>";
        out += "<tr>" + td("#", std::to_string(a.number)) +
               td("Action", "<span class=\"text\">" + esc(a.text) + "</span>") +
               td("Owner",
                  a.owner.empty() ? "<span class=\"muted\">unassigned</span>" : esc(a.owner)) +
               td("Due", due) + td("Status", esc(to_string(a.status))) +
               td("From", esc(to_string(a.source))) + "</tr>";
    }
    return out + "</tbody></table>";
}

std::string card(std::string_view label, std::string_view value) {
    return "<div class=\"card\"><b>" + esc(value) + "</b>" + esc(label) + "</div>";
}

std::string duration_or_dash(const std::optional<Timestamp>& ms) {
    return ms ? format_duration(0, *ms) : "—";
}

}  // namespace

std::string list_page(const std::vector<Incident>& incidents, const ListFilter& filter,
                      Timestamp now, const Chrome& chrome) {
    std::string body = "<h1>Incidents</h1>" + filter_form(filter);
    const std::string query = filter.query_string();
    body += "<p class=\"muted\">" + std::to_string(incidents.size()) +
            (incidents.size() == 1 ? " incident" : " incidents") + " · <a href=\"/api/incidents" +
            (query.empty() ? "" : "?" + esc(query)) + "\">JSON</a></p>";
    if (incidents.empty()) {
        body += "<p>No incidents match these filters.</p>";
        return page("Incidents", body, chrome);
    }
    body +=
        "<table class=\"list\"><thead><tr><th>Incident</th><th>Severity</th><th>State</th>"
        "<th>Title</th><th>Declared (UTC)</th><th>Duration</th></tr></thead><tbody>\n";
    for (const auto& inc : incidents) {
        std::string state = state_badge(inc.state);
        if (inc.merged_into) state += " into " + incident_link(*inc.merged_into);
        body += "<tr>" + td("Incident", incident_link(inc)) +
                td("Severity", severity_badge(inc.final_severity.value_or(inc.severity))) +
                td("State", state) + td("Title", esc(inc.title)) +
                td("Declared", time_html(inc.declared_at)) +
                td("Duration", esc(duration_cell(inc, now))) + "</tr>\n";
    }
    body += "</tbody></table>";
    return page("Incidents", body, chrome);
}

namespace {

// Stored images as thumbnails (served from this origin, so img-src 'self' allows them), the
// other files as a list; a file that is not kept says why, with the platform's link.
std::string evidence_html(const std::vector<EvidenceFile>& files) {
    std::string images, others;
    for (const auto& f : files) {
        const std::string who = esc(mention(f.shared_by)) + ", " + time_html(f.shared_at);
        if (f.status == FileStatus::stored && is_inline_image(f.mime_type)) {
            images += "<figure class=\"evidence\"><a href=\"" + esc(file_path(f)) +
                      "\"><img src=\"" + esc(file_path(f)) + "\" alt=\"" + esc(f.name) +
                      "\" style=\"max-width:240px;max-height:180px\"></a><figcaption>" +
                      esc(f.name) + " · " + who + "</figcaption></figure>";
            continue;
        }
        others += "<li>";
        if (f.status == FileStatus::stored) {
            others += "<a href=\"" + esc(file_path(f)) + "\">" + esc(f.name) + "</a> (" +
                      esc(human_size(f.size)) + ")";
        } else {
            others += esc(f.name) + " <span class=\"muted\">";
            if (f.status == FileStatus::too_large) {
                others += "not kept: " + esc(human_size(f.size)) + " is over the size limit";
            } else if (f.status == FileStatus::failed) {
                others += "could not be downloaded: " + esc(f.error);
            } else {
                others += "download pending";
            }
            others += "</span>";
            if (f.source_url.starts_with("https://") || f.source_url.starts_with("http://")) {
                others += " <a href=\"" + esc(f.source_url) + "\" rel=\"noreferrer\">on " +
                          esc(f.platform) + "</a>";
            }
        }
        others += " · " + who + "</li>";
    }
    std::string out;
    if (!images.empty()) out += "<div class=\"evidence-images\">" + images + "</div>";
    if (!others.empty()) out += "<ul class=\"evidence-files\">" + others + "</ul>";
    return out;
}

}  // namespace

std::string incident_page(const IncidentSnapshot& snap, Timestamp now, const Chrome& chrome) {
    const Incident& inc = snap.incident;
    const std::string key = inc.key();
    std::string body = "<p class=\"muted\"><a href=\"/\">Incidents</a> › " + key + "</p>";
    body += "<h1>" + key + ": " + esc(inc.title) + "</h1>";
    body += "<p>" + severity_badge(inc.final_severity.value_or(inc.severity)) + " " +
            state_badge(inc.state);
    if (inc.merged_into) body += " into " + incident_link(*inc.merged_into);
    body += "</p><p class=\"links\"><a href=\"/incidents/" + key +
            "/postmortem\">Post-mortem</a><a href=\"/incidents/" + key +
            "/postmortem.md\">Download Markdown</a><a href=\"/api/incidents/" + key +
            "\">JSON</a></p>";

    std::vector<std::pair<std::string, std::string>> overview;
    overview.emplace_back("Severity",
                          severity_badge(inc.severity) + " " + esc(describe(inc.severity)));
    overview.emplace_back("Final severity", inc.final_severity
                                                ? severity_badge(*inc.final_severity)
                                                : "<span class=\"muted\">not set</span>");
    overview.emplace_back("State", state_badge(inc.state));
    overview.emplace_back("Platform", esc(inc.platform));
    overview.emplace_back("Channel", inc.channel_name.empty() ? "<span class=\"muted\">—</span>"
                                                              : "#" + esc(inc.channel_name));
    overview.emplace_back("Declared by", esc(mention(inc.declared_by)));
    overview.emplace_back("Summary", inc.summary.empty()
                                         ? "<span class=\"muted\">none yet</span>"
                                         : "<span class=\"text\">" + esc(inc.summary) + "</span>");
    overview.emplace_back(
        "Post-mortem",
        (inc.postmortem_published_at ? "published " + time_html(*inc.postmortem_published_at)
                                     : std::string("draft")) +
            " · owner " +
            (inc.postmortem_owner.empty() ? std::string("unassigned") : esc(inc.postmortem_owner)) +
            " · due " + (inc.postmortem_due ? esc(*inc.postmortem_due) : "not set"));
    body += "<h2>Overview</h2>" + facts(overview);

    std::vector<std::pair<std::string, std::string>> roles;
    for (const Role role : {Role::commander, Role::scribe, Role::comms, Role::liaison, Role::sme}) {
        std::string holders;
        for (const auto& r : snap.roles) {
            if (r.role != role) continue;
            holders += (holders.empty() ? "" : ", ") + esc(mention(r.person));
        }
        roles.emplace_back(role_title(role),
                           holders.empty() ? "<span class=\"muted\">—</span>" : holders);
    }
    body += "<h2>Roles</h2>" + facts(roles);
    body += "<h2>Key times</h2>" + key_times(inc);
    body += "<h2>Action items (" + std::to_string(snap.actions.size()) + ")</h2>" +
            action_table(snap.actions, now);

    if (!snap.files.empty()) {
        body += "<h2>Evidence (" + std::to_string(snap.files.size()) + " files)</h2>" +
                evidence_html(snap.files);
    }

    body += "<h2>Timeline (" + std::to_string(snap.timeline.size()) + " entries)</h2>";
    if (snap.timeline.empty()) {
        body += "<p class=\"muted\">Nothing was recorded yet.</p>";
    } else {
        body += "<ul class=\"timeline\">\n";
        for (const auto& e : snap.timeline) body += timeline_entry(e);
        body += "</ul>";
    }
    if (!snap.merged.empty()) {
        body += "<h2>Merged incidents</h2><ul>";
        for (const auto& m : snap.merged) {
            body += "<li>" + incident_link(m.incident) + ": " + esc(m.incident.title) + " " +
                    severity_badge(m.incident.severity) + "</li>";
        }
        body += "</ul>";
    }
    return page(key + ": " + inc.title, body, chrome);
}

std::string postmortem_page(const Incident& inc, std::string_view postmortem_html,
                            const std::vector<PublishedPostmortem>& versions, const Chrome& chrome,
                            std::string_view editor_html) {
    const std::string key = inc.key();
    std::string body = "<p class=\"muted\"><a href=\"/\">Incidents</a> › <a href=\"/incidents/" +
                       key + "\">" + key + "</a> › Post-mortem</p>";
    body += "<p class=\"links\"><a href=\"/incidents/" + key +
            "/postmortem.md\">Download Markdown</a><a href=\"/incidents/" + key +
            "\">Back to the incident</a></p>";
    if (versions.empty()) {
        body +=
            "<p class=\"muted\">Draft, not published yet: <code>/incident postmortem "
            "publish</code> freezes it under a permanent link.</p>";
    } else {
        body += "<p class=\"muted\">This is the draft. Published: ";
        for (std::size_t i = 0; i < versions.size(); ++i) {
            const std::string v = std::to_string(versions[i].version);
            body += std::string(i ? ", " : "") + "<a href=\"/incidents/" + key + "/postmortem/v" +
                    v + "\">version " + v + "</a> (" + esc(format_time(versions[i].at)) + ")";
        }
        body += ".</p>";
    }
    body += "<article class=\"md\">\n" + std::string(postmortem_html) + "</article>";
    body += editor_html;
    return page("Post-mortem " + key + ": " + inc.title, body, chrome);
}

std::string published_page(const Incident& inc, const PublishedPostmortem& version,
                           int latest_version, std::string_view html, const Chrome& chrome) {
    const std::string key = inc.key();
    const std::string v = std::to_string(version.version);
    std::string body =
        "<p class=\"muted\"><a href=\"/postmortems\">Post-mortems</a> › <a "
        "href=\"/incidents/" +
        key + "\">" + key + "</a> › Version " + v + "</p>";
    body += "<p class=\"muted\">Published version " + v + " of " + esc(format_time(version.at)) +
            " by " + esc(mention(version.by)) + ".";
    if (version.version < latest_version) {
        body += " A newer version exists: <a href=\"/incidents/" + key + "/postmortem/v" +
                std::to_string(latest_version) + "\">version " + std::to_string(latest_version) +
                "</a>.";
    }
    body += " <a href=\"/incidents/" + key + "/postmortem\">The current draft</a>.</p>";
    body += "<article class=\"md\">\n" + std::string(html) + "</article>";
    return page("Post-mortem " + key + " v" + v + ": " + version.title, body, chrome);
}

std::string postmortems_page(const std::vector<PublishedPostmortem>& found, std::string_view query,
                             const Chrome& chrome) {
    std::string body = "<h1>Post-mortems</h1>";
    body +=
        "<form class=\"filters\" method=\"get\" action=\"/postmortems\"><label>Search <input "
        "type=\"search\" name=\"q\" value=\"" +
        esc(query) +
        "\" placeholder=\"title, summary, root cause, factors, actions\"></label>"
        "<button type=\"submit\">Search</button></form>";
    if (found.empty()) {
        body += query.empty() ? "<p class=\"muted\">No post-mortem has been published yet: "
                                "<code>/incident postmortem publish</code> publishes one.</p>"
                              : "<p class=\"muted\">No published post-mortem matches <b>" +
                                    esc(query) + "</b>.</p>";
        return page("Post-mortems", body, chrome);
    }
    body +=
        "<table><thead><tr><th>Incident</th><th>Title</th><th>Published</th><th>Version</th>"
        "<th>Summary</th></tr></thead><tbody>";
    for (const auto& p : found) {
        const std::string key = incident_key(p.incident);
        const std::string link = "/incidents/" + key + "/postmortem/v" + std::to_string(p.version);
        std::string summary = p.summary.substr(0, 200);
        while (!summary.empty() && !is_valid_utf8(summary)) summary.pop_back();
        body += "<tr><td><a href=\"" + link + "\">" + key + "</a></td><td><a href=\"" + link +
                "\">" + esc(p.title) + "</a></td><td>" + esc(format_time(p.at)) + "</td><td>" +
                std::to_string(p.version) + "</td><td>" + esc(summary) +
                (summary.size() < p.summary.size() ? "…" : "") + "</td></tr>";
    }
    body += "</tbody></table>";
    return page("Post-mortems", body, chrome);
}

std::string stats_page(const Stats& stats, const std::vector<Incident>& incidents, int weeks,
                       Timestamp now, const Chrome& chrome) {
    std::string body = "<h1>Stats</h1>";
    body +=
        "<form class=\"filters\" method=\"get\" action=\"/stats\"><label>Period "
        "<select name=\"weeks\">";
    std::vector<int> choices = {4, 8, 12, 26, 52, 104};
    if (std::find(choices.begin(), choices.end(), weeks) == choices.end()) {
        choices.push_back(weeks);
        std::sort(choices.begin(), choices.end());
    }
    for (const int w : choices) {
        body += option(std::to_string(w), "last " + std::to_string(w) + " weeks", w == weeks);
    }
    body += "</select></label><button type=\"submit\">Show</button></form>";

    body += "<div class=\"cards\">";
    body += card("incidents", std::to_string(stats.total));
    body += card("not yet resolved", std::to_string(stats.open));
    for (int s = 1; s <= 5; ++s) {
        body += card(std::string(to_string(static_cast<Severity>(s))),
                     std::to_string(stats.by_severity[s - 1]));
    }
    body += card("median to identify", duration_or_dash(stats.median_to_identify));
    body += card("median to mitigate", duration_or_dash(stats.median_to_mitigate));
    body += card("median to resolve", duration_or_dash(stats.median_to_resolve));
    body += card("mean to resolve", duration_or_dash(stats.mean_to_resolve));
    body += card("median to detect", duration_or_dash(stats.median_to_detect));
    body += card("median to acknowledge", duration_or_dash(stats.median_to_acknowledge));
    body += card("open action items", std::to_string(stats.open_actions));
    body += card("overdue action items", std::to_string(stats.overdue_actions));
    body += "</div>";

    const Timestamp since = iso_week(now).monday - Timestamp(weeks - 1) * k_week_ms;
    std::vector<Incident> in_period;
    for (const auto& inc : incidents) {
        if (inc.declared_at >= since) in_period.push_back(inc);
    }
    body +=
        "<h2>Incidents per week, by severity</h2>" + weekly_severity_chart(in_period, now, weeks);
    body +=
        "<h2>Time to resolve</h2><p class=\"muted\">Declaration to resolution, newest first "
        "(at most 30).</p>" +
        resolve_time_chart(in_period, 30);

    body += "<h2>Contributing factors</h2>";
    if (stats.factor_categories.empty()) {
        body +=
            "<p class=\"muted\">None recorded in this period: <code>/incident factor "
            "technical|process|monitoring &lt;text&gt;</code> records one.</p>";
    } else {
        body +=
            "<table><thead><tr><th>Category</th><th>Incidents</th><th>Factors</th></tr>"
            "</thead><tbody>";
        for (const auto& c : stats.factor_categories) {
            body += "<tr><td>" + esc(describe(c.category)) + "</td><td>" +
                    std::to_string(c.incidents) + "</td><td>" + std::to_string(c.factors) +
                    "</td></tr>";
        }
        body += "</tbody></table>";
    }

    body += "<h2>Affected services</h2>";
    if (stats.services.empty()) {
        body +=
            "<p class=\"muted\">None recorded in this period: <code>/incident service "
            "&lt;name&gt;</code> names one.</p>";
    } else {
        body += "<table><thead><tr><th>Service</th><th>Incidents</th></tr></thead><tbody>";
        for (const auto& service : stats.services) {
            body += "<tr><td>" + esc(service.name) + "</td><td>" +
                    std::to_string(service.incidents) + "</td></tr>";
        }
        body += "</tbody></table>";
    }
    return page("Stats", body, chrome);
}

namespace {

// What an outbox entry would have done, in a few words for the table.
std::string effect_summary(const OutboxEntry& entry) {
    const auto effect = effect_from_json(entry.payload);
    if (!effect) return "(an effect this version cannot read)";
    if (const auto* c = std::get_if<CreateChannel>(&*effect)) return "create #" + c->name;
    if (const auto* t = std::get_if<SetTopic>(&*effect)) return "topic: " + t->topic;
    if (const auto* n = std::get_if<Notify>(&*effect)) {
        return std::string(to_string(n->kind)) + ": " + n->text;
    }
    const auto& post = std::get<PostMessage>(*effect);
    std::string where = "the announcement channel";
    if (const auto* c = std::get_if<ToChannel>(&post.to)) where = c->channel_id;
    if (const auto* i = std::get_if<ToIncident>(&post.to)) where = incident_key(i->number);
    if (const auto* u = std::get_if<ToUser>(&post.to)) where = "@" + u->who.name;
    return "post to " + where + ": " + post.text;
}

}  // namespace

std::string outbox_page(const std::vector<OutboxEntry>& failed, const OutboxCounts& counts,
                        Timestamp now, const Chrome& chrome) {
    std::string body = "<h1>Outbox</h1><p>" + std::to_string(counts.pending) +
                       " effect(s) waiting to be delivered";
    if (counts.oldest_pending) {
        body += ", the oldest for " + esc(format_duration(*counts.oldest_pending, now));
    }
    body += ". Effects the platform refused are kept below until retried.</p>";
    if (failed.empty()) return page("Outbox", body + "<p>No failed effects.</p>", chrome);
    body +=
        "<table class=\"list\"><thead><tr><th>Failed</th><th>Incident</th><th>Sink</th>"
        "<th>Effect</th><th>Error</th><th>Attempts</th><th></th></tr></thead><tbody>";
    for (const auto& e : failed) {
        body += "<tr>" + td("Failed", e.done_at ? time_html(*e.done_at) : "—") +
                td("Incident", e.incident ? incident_link(incident_of_lane(e.incident)) : "—") +
                td("Sink", esc(e.sink)) +
                td("Effect", "<span class=\"text\">" +
                                 esc(clip_for_display(effect_summary(e), 300)) + "</span>") +
                td("Error", "<code>" + esc(e.error) + "</code>") +
                td("Attempts", std::to_string(e.attempts)) +
                td("", "<form method=\"post\" action=\"/outbox/" + std::to_string(e.id) +
                           "/retry\"><button type=\"submit\">Retry</button></form>") +
                "</tr>";
    }
    body += "</tbody></table>";
    return page("Outbox", body, chrome);
}

std::string login_page(std::string_view next, std::string_view error) {
    std::string body = "<h1>Sign in</h1>";
    if (!error.empty()) body += "<p class=\"error\">" + esc(error) + "</p>";
    body +=
        "<p>This dashboard is protected by the token in <code>INCIDENT_BOT_DASHBOARD_TOKEN"
        "</code>.</p><form class=\"filters\" method=\"post\" action=\"/login\">"
        "<input type=\"hidden\" name=\"next\" value=\"" +
        esc(next) +
        "\"><label>Token <input type=\"password\" name=\"token\" "
        "autocomplete=\"current-password\" required autofocus></label>"
        "<button type=\"submit\">Sign in</button></form>";
    return page("Sign in", body, Chrome{});
}

std::string error_page(int status, std::string_view message, const Chrome& chrome) {
    const std::string title = status == 400   ? "Bad request"
                              : status == 403 ? "Forbidden"
                              : status == 404 ? "Not found"
                              : status == 405 ? "Method not allowed"
                              : status == 409 ? "Conflict"
                              : status == 410 ? "Link no longer valid"
                              : status == 413 ? "Request too large"
                                              : "Something went wrong";
    const std::string body = "<h1>" + esc(title) + "</h1><p class=\"error\">" + esc(message) +
                             "</p><p><a href=\"/\">Back to the incident list</a></p>";
    return page(title, body, chrome);
}

}  // namespace incident::web

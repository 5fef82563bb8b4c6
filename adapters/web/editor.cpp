#include "adapters/web/editor.hpp"

#include <map>
#include <set>

#include "bot/people.hpp"
#include "bot/text.hpp"

namespace incident::web {

namespace {

std::string esc(std::string_view text) {
    return html_escape(text);
}

// Inline, like the dashboard's stylesheet: the page CSP allows inline styles only.
constexpr std::string_view k_editor_style =
    "<style>.edit{margin:.6rem 0 1rem}.edit label{display:block;font-weight:600}"
    ".edit textarea{display:block;width:100%;min-height:6rem;font:inherit;padding:.4rem}"
    ".edit .buttons{display:flex;gap:.5rem;align-items:center;margin-top:.3rem}"
    ".side{display:grid;grid-template-columns:repeat(auto-fit,minmax(18rem,1fr));gap:1rem}"
    ".side pre,td pre{white-space:pre-wrap;overflow-wrap:anywhere;margin:0;font:inherit}"
    ".side>div{border:1px solid var(--line);padding:.6rem;border-radius:.4rem}</style>";

std::string postmortem_path(const Incident& inc) {
    return "/incidents/" + inc.key() + "/postmortem";
}

std::string form_id(const SectionForm& form) {
    return "edit-" + std::string(to_string(form.section)) +
           (form.position ? "-" + std::to_string(*form.position) : "");
}

std::string label_of(const SectionForm& form) {
    std::string label = section_title(form.section);
    if (!is_list_section(form.section)) return label;
    return form.position ? label + " " + std::to_string(*form.position) : "Add: " + label;
}

std::string revision_line(const SectionRevision& r) {
    return "revision " + std::to_string(r.id) + " by " + esc(mention(r.author)) + ", " +
           time_html(r.at);
}

std::string form_html(const Incident& inc, const SectionForm& form, std::string_view form_token,
                      std::string_view note_html) {
    std::string out = "<form class=\"edit\" method=\"post\" action=\"" + postmortem_path(inc) +
                      "/sections\" id=\"" + form_id(form) + "\">";
    out += "<input type=\"hidden\" name=\"csrf\" value=\"" + esc(form_token) + "\">";
    out += "<input type=\"hidden\" name=\"section\" value=\"" +
           esc(std::string(to_string(form.section))) + "\">";
    if (form.position) {
        out += "<input type=\"hidden\" name=\"item\" value=\"" + std::to_string(*form.position) +
               "\">";
    }
    out +=
        "<input type=\"hidden\" name=\"based_on\" value=\"" + std::to_string(form.based_on) + "\">";
    out += "<label for=\"" + form_id(form) + "-text\">" + esc(label_of(form)) + "</label>";
    out += "<textarea id=\"" + form_id(form) + "-text\" name=\"text\" rows=\"4\" maxlength=\"" +
           std::to_string(k_max_section_chars) + "\">" + esc(form.text) + "</textarea>";
    out +=
        "<div class=\"buttons\"><button type=\"submit\" name=\"do\" value=\"save\">Save</button>"
        "<button type=\"submit\" name=\"do\" value=\"preview\">Preview</button>";
    if (!note_html.empty()) out += "<span class=\"muted\">" + std::string(note_html) + "</span>";
    out += "</div></form>";
    return out;
}

std::string breadcrumb(const Incident& inc, std::string_view last) {
    const std::string key = inc.key();
    return "<p class=\"muted\"><a href=\"/\">Incidents</a> › <a href=\"/incidents/" + key + "\">" +
           key + "</a> › <a href=\"" + postmortem_path(inc) + "\">Post-mortem</a> › " + esc(last) +
           "</p>";
}

}  // namespace

const std::vector<Section>& editable_sections() {
    static const std::vector<Section> sections = {Section::summary,
                                                  Section::impact_customers,
                                                  Section::impact_internal,
                                                  Section::impact_availability,
                                                  Section::why,
                                                  Section::root_cause,
                                                  Section::lesson_well,
                                                  Section::lesson_wrong,
                                                  Section::lesson_lucky,
                                                  Section::notes};
    return sections;
}

std::string section_title(Section section) {
    switch (section) {
        case Section::summary:
            return "Summary";
        case Section::impact_customers:
            return "Impact on customers";
        case Section::impact_internal:
            return "Impact on internal operations";
        case Section::impact_availability:
            return "Impact on availability";
        case Section::why:
            return "Why";
        case Section::root_cause:
            return "Root cause";
        case Section::lesson_well:
            return "What went well";
        case Section::lesson_wrong:
            return "What went wrong";
        case Section::lesson_lucky:
            return "Where we got lucky";
        case Section::service:
            return "Affected service";
        case Section::review:
            return "Review meeting";
        case Section::notes:
            return "Notes";
    }
    return std::string(to_string(section));
}

std::string editor_html(const Incident& inc, const PostmortemSections& sections,
                        std::string_view person, std::string_view form_token) {
    std::string out =
        std::string(k_editor_style) + "<section id=\"edit\"><h2>Edit the post-mortem</h2>";
    const std::string history =
        "<a href=\"" + postmortem_path(inc) + "/history\">Every revision of every section</a>";
    if (inc.state == State::closed || inc.state == State::merged) {
        return out + "<p class=\"muted\">" + inc.key() +
               (inc.state == State::closed ? " is closed, so its post-mortem is final."
                                           : " was merged: write its post-mortem on " +
                                                 incident_key(inc.merged_into.value_or(0)) + ".") +
               " " + history + ".</p></section>";
    }
    if (person.empty()) {
        return out +
               "<p class=\"muted\">To edit these sections here, type <code>/incident "
               "login</code> in chat and open the link it gives you. " +
               history + ".</p></section>";
    }
    out += "<p class=\"muted\">Markdown. Each save is a new revision recorded as " + esc(person) +
           "; " + history + ".</p>";
    for (const Section section : editable_sections()) {
        if (!is_list_section(section)) {
            const auto& current = sections.single(section);
            SectionForm form{section, std::nullopt, current ? current->id : 0,
                             current ? current->text : ""};
            out += form_html(inc, form, form_token, current ? revision_line(*current) : "empty");
            continue;
        }
        const auto& items = sections.list(section);
        for (std::size_t i = 0; i < items.size(); ++i) {
            SectionForm form{section, static_cast<int>(i + 1), items[i].id, items[i].text};
            out += form_html(inc, form, form_token, revision_line(items[i]));
        }
        out += form_html(inc, SectionForm{section, std::nullopt, 0, ""}, form_token, "");
    }
    return out + "</section>";
}

// Open items can be completed and edited after the incident closed (that is the follow-up);
// new ones are added while it is open. A merged incident's primary holds the work.
std::string actions_editor_html(const Incident& inc, const std::vector<ActionItem>& actions,
                                std::string_view person, std::string_view form_token) {
    if (person.empty() || inc.state == State::merged) return "";
    const std::string action = postmortem_path(inc) + "/actions";
    const std::string csrf =
        "<input type=\"hidden\" name=\"csrf\" value=\"" + esc(form_token) + "\">";
    const auto form_start = [&](const std::string& id, std::string_view what) {
        return "<form class=\"edit\" method=\"post\" action=\"" + action + "\" id=\"" + id + "\">" +
               csrf + "<input type=\"hidden\" name=\"do\" value=\"" + std::string(what) + "\">";
    };
    const auto owner_and_due = [](std::string_view owner, std::string_view due) {
        return "<label>Owner <input name=\"owner\" value=\"" + esc(owner) +
               "\" placeholder=\"@name\"></label><label>Due <input name=\"due\" value=\"" +
               esc(due) + "\" placeholder=\"YYYY-MM-DD\"></label>";
    };
    std::string out = "<section id=\"actions\"><h2>Action items</h2>";
    for (const auto& a : actions) {
        if (a.status != ActionStatus::open) continue;
        const std::string n = std::to_string(a.number);
        const std::string item = "<input type=\"hidden\" name=\"item\" value=\"" + n + "\">";
        out += form_start("done-" + n, "done") + item + "<div class=\"buttons\"><span>" + n + ". " +
               (a.kind == ActionKind::preventive ? "(preventive) " : "") + esc(a.text) +
               (a.owner.empty() ? "" : " · " + esc(a.owner)) +
               (a.due ? " · due " + esc(*a.due) : "") +
               "</span><button type=\"submit\" id=\"done-" + n +
               "-submit\">Done</button></div></form>";
        out += "<details><summary>Edit " + n + "</summary>" + form_start("edit-" + n, "edit") +
               item + "<label for=\"edit-" + n + "-text\">Text</label><textarea id=\"edit-" + n +
               "-text\" name=\"text\" rows=\"2\" maxlength=\"" +
               std::to_string(k_max_section_chars) + "\">" + esc(a.text) +
               "</textarea><div class=\"buttons\">" + owner_and_due(a.owner, a.due.value_or("")) +
               "<button type=\"submit\" id=\"edit-" + n +
               "-submit\">Save</button></div></form></details>";
    }
    if (inc.state == State::closed) return out + "</section>";
    for (const auto& [kind, label] :
         {std::pair<std::string_view, std::string_view>{"corrective", "Add a corrective action"},
          {"preventive", "Add a preventive measure"}}) {
        const std::string id = "add-" + std::string(kind);
        out += form_start(id, "add") + "<input type=\"hidden\" name=\"kind\" value=\"" +
               std::string(kind) + "\">" + "<label for=\"" + id + "-text\">" + std::string(label) +
               "</label><textarea id=\"" + id + "-text\" name=\"text\" rows=\"2\" maxlength=\"" +
               std::to_string(k_max_section_chars) + "\"></textarea>" + "<div class=\"buttons\">" +
               owner_and_due("", "") + "<button type=\"submit\" id=\"" + id +
               "-submit\">Add</button></div>" + "</form>";
    }
    return out + "</section>";
}

std::string publish_form_html(const Incident& inc, std::size_t published_versions,
                              std::string_view person, std::string_view form_token) {
    if (person.empty() || inc.state == State::closed || inc.state == State::merged) return "";
    std::string out = "<section id=\"publish\"><h2>Publish</h2>";
    if (inc.state != State::resolved) {
        return out +
               "<p class=\"muted\">Resolve the incident (<code>/incident resolve</code>) to "
               "publish its post-mortem.</p></section>";
    }
    const std::string next = std::to_string(published_versions + 1);
    return out + "<form class=\"edit\" method=\"post\" action=\"" + postmortem_path(inc) +
           "/publish\" id=\"publish-form\"><input type=\"hidden\" name=\"csrf\" value=\"" +
           esc(form_token) + "\"><input type=\"hidden\" name=\"versions\" value=\"" +
           std::to_string(published_versions) +
           "\"><p class=\"muted\">Freezes the draft as it is now as version " + next +
           ", with a permanent link for the announcement channel, the subscribers and the "
           "stakeholders. Later edits change the draft until the next publish.</p>"
           "<div class=\"buttons\"><button type=\"submit\" id=\"publish-submit\">Publish "
           "version " +
           next + "</button></div></form></section>";
}

std::string conflict_page(const Incident& inc, const SectionForm& mine,
                          const SectionRevision& theirs, std::string_view form_token,
                          const Chrome& chrome) {
    std::string body = std::string(k_editor_style) + breadcrumb(inc, "Conflict");
    body += "<h1>Not saved: " + esc(label_of(mine)) + " changed since you opened it</h1>";
    body += "<p class=\"error\">" + esc(mention(theirs.author)) + " saved this section at " +
            time_html(theirs.at) +
            ", after the revision your form was based on. Their text stays in the draft; yours "
            "is kept in the <a href=\"" +
            postmortem_path(inc) +
            "/history\">history</a> (set aside), so neither is lost. Merge the two below and "
            "save again.</p>";
    SectionForm again = mine;
    again.based_on = theirs.id;
    body += "<div class=\"side\"><div class=\"theirs\"><h2>Theirs (" + revision_line(theirs) +
            ")</h2><pre>" + esc(theirs.text) + "</pre></div><div class=\"mine\"><h2>Yours</h2>" +
            form_html(inc, again, form_token, "") + "</div></div>";
    return page("Conflict " + inc.key(), body, chrome);
}

std::string form_page(const Incident& inc, const SectionForm& form, std::string_view preview_html,
                      std::string_view error, std::string_view form_token, const Chrome& chrome) {
    std::string body =
        std::string(k_editor_style) + breadcrumb(inc, error.empty() ? "Preview" : "Not saved");
    body += "<h1>" + esc(label_of(form)) + "</h1>";
    if (!error.empty()) body += "<p class=\"error\">" + esc(error) + "</p>";
    if (!preview_html.empty()) {
        body += "<h2>Preview</h2><article class=\"md preview\">" + std::string(preview_html) +
                "</article>";
    }
    body += form_html(inc, form, form_token, "");
    return page((error.empty() ? "Preview " : "Not saved ") + inc.key(), body, chrome);
}

std::string sign_in_page(std::string_view action, std::string_view person,
                         std::string_view form_token) {
    const std::string body =
        "<h1>Sign in</h1><p>This link from <code>/incident login</code> signs you in as " +
        esc(person) +
        "; post-mortem edits you make are recorded under that name. It works once.</p>"
        "<form class=\"filters\" method=\"post\" id=\"sign-in-form\" action=\"" +
        esc(action) + "\"><input type=\"hidden\" name=\"csrf\" value=\"" + esc(form_token) +
        "\"><button type=\"submit\" id=\"sign-in\">Sign in as " + esc(person) + "</button></form>";
    return page("Sign in", body, Chrome{});
}

std::string history_page(const Incident& inc, const std::vector<SectionRevision>& revisions,
                         const Chrome& chrome) {
    // What the draft shows: the newest revision of each (section, item) not set aside.
    std::map<std::pair<Section, int>, std::int64_t> newest;
    for (const auto& r : revisions) {
        if (!is_set_aside(r)) newest[{r.section, r.item}] = r.id;
    }
    std::string body = breadcrumb(inc, "History");
    body += "<h1>Post-mortem history " + inc.key() + "</h1>";
    body += "<p class=\"muted\">" + std::to_string(revisions.size()) +
            " revision(s), oldest first. A save refused because someone else had saved the "
            "section since is kept here as set aside.</p>";
    body += std::string(k_editor_style) +
            "<table><thead><tr><th>Revision</th><th>Section</th><th>By</th><th>When</th>"
            "<th>Status</th><th>Text</th></tr></thead><tbody>";
    for (const auto& r : revisions) {
        const int item = intended_item(r);
        const std::string status = is_set_aside(r)                       ? "set aside"
                                   : newest[{r.section, r.item}] == r.id ? "in the draft"
                                                                         : "earlier";
        body += "<tr><td>" + std::to_string(r.id) + "</td><td>" + esc(section_title(r.section)) +
                (item > 0 ? " " + std::to_string(item) : "") + "</td><td>" +
                esc(mention(r.author)) + "</td><td>" + time_html(r.at) + "</td><td>" + status +
                "</td><td><pre>" + esc(r.text) + "</pre></td></tr>";
    }
    body += "</tbody></table>";
    return page("History " + inc.key(), body, chrome);
}

}  // namespace incident::web

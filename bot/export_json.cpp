#include "bot/export_json.hpp"

#include "bot/evidence.hpp"
#include "bot/sections.hpp"
#include "bot/text.hpp"

namespace incident {

namespace {

nlohmann::json time_or_null(const std::optional<Timestamp>& at) {
    return at ? nlohmann::json(format_time(*at)) : nlohmann::json(nullptr);
}

nlohmann::json actor(const Actor& a) {
    return {{"id", a.id}, {"name", a.name}};
}

nlohmann::json text_or_null(const std::optional<SectionRevision>& written) {
    return written ? nlohmann::json(written->text) : nlohmann::json(nullptr);
}

nlohmann::json texts(const std::vector<SectionRevision>& items) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& item : items) list.push_back(item.text);
    return list;
}

}  // namespace

nlohmann::json to_json(const Incident& inc) {
    return {
        {"id", inc.key()},
        {"number", inc.number},
        {"title", inc.title},
        {"severity", to_string(inc.severity)},
        {"final_severity",
         inc.final_severity ? nlohmann::json(to_string(*inc.final_severity)) : nullptr},
        {"state", to_string(inc.state)},
        {"merged_into", inc.merged_into ? nlohmann::json(incident_key(*inc.merged_into)) : nullptr},
        {"platform", inc.platform},
        {"channel", {{"id", inc.channel_id}, {"name", inc.channel_name}}},
        {"declared_by", actor(inc.declared_by)},
        {"declared_at", format_time(inc.declared_at)},
        {"detected_at", format_time(inc.detected())},
        {"related_to", inc.related_to ? nlohmann::json(incident_key(*inc.related_to)) : nullptr},
        {"identified_at", time_or_null(inc.identified_at)},
        {"mitigated_at", time_or_null(inc.mitigated_at)},
        {"resolved_at", time_or_null(inc.resolved_at)},
        {"closed_at", time_or_null(inc.closed_at)},
        {"summary", inc.summary},
        {"postmortem",
         {{"owner", inc.postmortem_owner},
          {"due", inc.postmortem_due ? nlohmann::json(*inc.postmortem_due) : nullptr},
          {"published_at", time_or_null(inc.postmortem_published_at)}}},
    };
}

nlohmann::json to_json(const IncidentSnapshot& snap) {
    nlohmann::json j = to_json(snap.incident);
    j["roles"] = nlohmann::json::array();
    for (const auto& r : snap.roles) {
        j["roles"].push_back({{"role", to_string(r.role)},
                              {"person", actor(r.person)},
                              {"assigned_at", format_time(r.assigned_at)}});
    }
    j["timeline"] = nlohmann::json::array();
    for (const auto& e : snap.timeline) {
        j["timeline"].push_back({
            {"id", e.id},
            {"kind", to_string(e.kind)},
            {"at", format_time(e.at)},
            {"author", actor(e.author)},
            {"text", e.text},
            {"message_id", e.message_id},
            {"thread_id", e.thread_id},
            {"key_event", e.key_event},
            {"edited_at", time_or_null(e.edited_at)},
            {"deleted_at", time_or_null(e.deleted_at)},
            {"previous_texts", e.previous_texts},
        });
    }
    j["action_items"] = nlohmann::json::array();
    for (const auto& a : snap.actions) {
        j["action_items"].push_back({
            {"number", a.number},
            {"text", a.text},
            {"owner", a.owner},
            {"due", a.due ? nlohmann::json(*a.due) : nullptr},
            {"status", to_string(a.status)},
            {"source", to_string(a.source)},
            {"kind", to_string(a.kind)},
            {"author", actor(a.author)},
            {"created_at", format_time(a.created_at)},
            {"done_at", time_or_null(a.done_at)},
        });
    }
    j["contributing_factors"] = nlohmann::json::array();
    for (const auto& f : snap.factors) {
        j["contributing_factors"].push_back({
            {"category", to_string(f.category)},
            {"text", f.text},
            {"author", actor(f.author)},
            {"at", format_time(f.at)},
        });
    }
    const PostmortemSections sections = current_sections(snap.revisions);
    j["impact"] = {{"customers", text_or_null(sections.impact_customers)},
                   {"internal", text_or_null(sections.impact_internal)},
                   {"availability", text_or_null(sections.impact_availability)}};
    j["whys"] = texts(sections.whys);
    j["root_cause"] = text_or_null(sections.root_cause);
    j["lessons"] = {{"well", texts(sections.lessons_well)},
                    {"wrong", texts(sections.lessons_wrong)},
                    {"lucky", texts(sections.lessons_lucky)}};
    j["services"] = texts(sections.services);
    j["review"] = {{"at", time_or_null(sections.review_at())}};
    j["notes"] = text_or_null(sections.notes);
    // Every write of every section, oldest first: who wrote what, and when. A save refused
    // for a conflict is there too, with "set_aside": true and the item it was meant for.
    j["revisions"] = nlohmann::json::array();
    for (const auto& r : snap.revisions) {
        nlohmann::json revision{
            {"id", r.id},     {"section", to_string(r.section)}, {"item", intended_item(r)},
            {"text", r.text}, {"author", actor(r.author)},       {"at", format_time(r.at)}};
        if (is_set_aside(r)) revision["set_aside"] = true;
        j["revisions"].push_back(std::move(revision));
    }
    j["alerts"] = nlohmann::json::array();
    for (const auto& a : snap.alerts) {
        j["alerts"].push_back({
            {"source", a.source},
            {"fingerprint", a.fingerprint},
            {"status", a.status},
            {"labels", a.labels},
            {"annotations", a.annotations},
            {"starts_at", format_time(a.starts_at)},
            {"ends_at", time_or_null(a.ends_at)},
            {"url", a.url},
        });
    }
    // What was published on the public status page, oldest first (bot/status_page.hpp).
    j["status_messages"] = nlohmann::json::array();
    for (const auto& m : snap.status_messages) {
        j["status_messages"].push_back({{"id", m.id},
                                        {"state", to_string(m.state)},
                                        {"text", m.text},
                                        {"by", actor(m.by)},
                                        {"at", format_time(m.at)}});
    }
    // Evidence: files shared in the channel (bot/evidence.hpp); `path` serves a stored one.
    j["files"] = nlohmann::json::array();
    for (const auto& f : snap.files) {
        j["files"].push_back(
            {{"id", f.id},
             {"name", f.name},
             {"mime_type", f.mime_type},
             {"size", f.size},
             {"sha256", f.sha256.empty() ? nlohmann::json() : nlohmann::json(f.sha256)},
             {"status", to_string(f.status)},
             {"shared_by", actor(f.shared_by)},
             {"shared_at", format_time(f.shared_at)},
             {"platform", f.platform},
             {"message_id", f.message_id},
             {"source_url", f.source_url},
             {"path", f.status == FileStatus::stored ? file_path(f) : ""},
             {"error", f.error}});
    }
    j["merged"] = nlohmann::json::array();
    for (const auto& m : snap.merged) j["merged"].push_back(to_json(m));
    return j;
}

}  // namespace incident

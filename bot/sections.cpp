#include "bot/sections.hpp"

#include <map>
#include <utility>

#include "bot/text.hpp"

namespace incident {

const std::optional<SectionRevision>& PostmortemSections::single(Section section) const {
    switch (section) {
        case Section::impact_customers:
            return impact_customers;
        case Section::impact_internal:
            return impact_internal;
        case Section::impact_availability:
            return impact_availability;
        case Section::root_cause:
            return root_cause;
        case Section::review:
            return review;
        case Section::notes:
            return notes;
        default:
            return summary;
    }
}

const std::vector<SectionRevision>& PostmortemSections::list(Section section) const {
    switch (section) {
        case Section::lesson_well:
            return lessons_well;
        case Section::lesson_wrong:
            return lessons_wrong;
        case Section::lesson_lucky:
            return lessons_lucky;
        case Section::service:
            return services;
        default:
            return whys;
    }
}

std::optional<Timestamp> PostmortemSections::review_at() const {
    if (!review) return std::nullopt;
    return parse_time(review->text);
}

PostmortemSections current_sections(const std::vector<SectionRevision>& revisions) {
    // Later revisions of the same (section, item) replace earlier ones; the map keeps items
    // in order.
    std::map<std::pair<Section, int>, const SectionRevision*> latest;
    for (const auto& revision : revisions) {
        if (!is_set_aside(revision)) latest[{revision.section, revision.item}] = &revision;
    }
    PostmortemSections s;
    for (const auto& [key, revision] : latest) {
        switch (key.first) {
            case Section::summary:
                s.summary = *revision;
                break;
            case Section::impact_customers:
                s.impact_customers = *revision;
                break;
            case Section::impact_internal:
                s.impact_internal = *revision;
                break;
            case Section::impact_availability:
                s.impact_availability = *revision;
                break;
            case Section::root_cause:
                s.root_cause = *revision;
                break;
            case Section::review:
                s.review = *revision;
                break;
            case Section::notes:
                s.notes = *revision;
                break;
            case Section::why:
                s.whys.push_back(*revision);
                break;
            case Section::lesson_well:
                s.lessons_well.push_back(*revision);
                break;
            case Section::lesson_wrong:
                s.lessons_wrong.push_back(*revision);
                break;
            case Section::lesson_lucky:
                s.lessons_lucky.push_back(*revision);
                break;
            case Section::service:
                s.services.push_back(*revision);
                break;
        }
    }
    return s;
}

std::string section_usage(Section section) {
    switch (section) {
        case Section::summary:
            return "/incident summary <text>";
        case Section::impact_customers:
            return "/incident impact customers <text>";
        case Section::impact_internal:
            return "/incident impact internal <text>";
        case Section::impact_availability:
            return "/incident impact availability <text>";
        case Section::why:
            return "/incident why [n] <text>";
        case Section::root_cause:
            return "/incident rootcause <text>";
        case Section::lesson_well:
            return "/incident lesson well <text>";
        case Section::lesson_wrong:
            return "/incident lesson wrong <text>";
        case Section::lesson_lucky:
            return "/incident lesson lucky <text>";
        case Section::service:
            return "/incident service <name>";
        case Section::review:
            return "/incident review <YYYY-MM-DD> <HH:MM>";
        case Section::notes:
            return "the Notes form of the dashboard's post-mortem page (/incident login)";
    }
    return "/incident help";
}

}  // namespace incident

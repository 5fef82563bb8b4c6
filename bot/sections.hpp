#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bot/types.hpp"

namespace incident {

// What the post-mortem draft shows of its narrative sections: the latest revision of each
// single section and of each item of a list section, items in order.
struct PostmortemSections {
    std::optional<SectionRevision> summary, impact_customers, impact_internal, impact_availability,
        root_cause, review;
    std::vector<SectionRevision> whys, lessons_well, lessons_wrong, lessons_lucky, services;

    const std::optional<SectionRevision>& single(Section section) const;
    const std::vector<SectionRevision>& list(Section section) const;
    std::optional<Timestamp> review_at() const;
};

// `revisions` oldest first, as the store returns them.
PostmortemSections current_sections(const std::vector<SectionRevision>& revisions);

// How to write a section from chat, for messages: "/incident impact customers <text>".
std::string section_usage(Section section);

// The longest text one section may hold, in characters.
inline constexpr std::size_t k_max_section_chars = 20'000;

}  // namespace incident

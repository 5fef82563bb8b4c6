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
        root_cause, review, notes;
    std::vector<SectionRevision> whys, lessons_well, lessons_wrong, lessons_lucky, services;

    const std::optional<SectionRevision>& single(Section section) const;
    const std::vector<SectionRevision>& list(Section section) const;
    std::optional<Timestamp> review_at() const;
};

// A save refused because someone else had saved the same section (or item) since the writer
// opened it is kept in the history, never in the draft: its revision has item
// set_aside_item(item), a negative number.
inline int set_aside_item(int item) {
    return -1 - item;
}
inline bool is_set_aside(const SectionRevision& revision) {
    return revision.item < 0;
}
// The item a set-aside revision was meant for.
inline int intended_item(const SectionRevision& revision) {
    return is_set_aside(revision) ? -1 - revision.item : revision.item;
}

// `revisions` oldest first, as the store returns them; set-aside revisions are left out.
PostmortemSections current_sections(const std::vector<SectionRevision>& revisions);

// How to write a section from chat, for messages: "/incident impact customers <text>".
std::string section_usage(Section section);

// The longest text one section may hold, in characters.
inline constexpr std::size_t k_max_section_chars = 20'000;

}  // namespace incident

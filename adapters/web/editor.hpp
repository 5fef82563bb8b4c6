#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/web/html.hpp"
#include "bot/sections.hpp"
#include "bot/types.hpp"

namespace incident::web {

// The post-mortem sections a signed-in person edits on the dashboard, in page order.
const std::vector<Section>& editable_sections();
// "Impact on customers", "Why", ...
std::string section_title(Section section);

// What one form edits: a single section, an item of a list section (position from 1), or a
// new item of a list section (no position). `based_on` is the revision it showed (0: none).
struct SectionForm {
    Section section = Section::summary;
    std::optional<int> position;
    std::int64_t based_on = 0;
    std::string text;
};

// The edit forms under the draft: every editable section with its current text, each form
// carrying `form_token` and the revision it shows. With an empty `person` (nobody signed in)
// only how to sign in; on a closed or merged incident only that it is final.
std::string editor_html(const Incident& incident, const PostmortemSections& sections,
                        std::string_view person, std::string_view form_token);

// The action-item forms under the section forms: each open item with a Done button, and
// forms adding a corrective action or a preventive measure (text, owner, due date), posted to
// <postmortem>/actions with `form_token`. Nothing when `person` is empty or the incident is
// final (editor_html says why).
std::string actions_editor_html(const Incident& incident, const std::vector<ActionItem>& actions,
                                std::string_view person, std::string_view form_token);

// The Publish button under the forms of a resolved incident, posted to <postmortem>/publish
// with `form_token` and the number of versions published so far; on an incident not yet
// resolved, that it must be resolved first. Nothing when `person` is empty or the incident
// is closed or merged.
std::string publish_form_html(const Incident& incident, std::size_t published_versions,
                              std::string_view person, std::string_view form_token);

// A save refused because `theirs` was saved since the form was opened: their text beside
// the writer's, which stays editable in a form based on `theirs`.
std::string conflict_page(const Incident& incident, const SectionForm& mine,
                          const SectionRevision& theirs, std::string_view form_token,
                          const Chrome& chrome);
// The form again with the text rendered (`preview_html` is markdown_to_html output), or with
// why it was refused (`error`), the text kept.
std::string form_page(const Incident& incident, const SectionForm& form,
                      std::string_view preview_html, std::string_view error,
                      std::string_view form_token, const Chrome& chrome);
// What a sign-in link shows before it is used: who it signs in, and the button that does it
// (a POST to `action`, the link's own path, carrying `form_token`).
std::string sign_in_page(std::string_view action, std::string_view person,
                         std::string_view form_token);
// Every revision of every section, oldest first, with what the draft shows marked.
std::string history_page(const Incident& incident, const std::vector<SectionRevision>& revisions,
                         const Chrome& chrome);

}  // namespace incident::web

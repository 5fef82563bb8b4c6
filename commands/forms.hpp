#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bot/types.hpp"

// The forms behind the buttons of an incident's summary (Slack modals, Mattermost dialogs),
// described once for every platform. A form's submission is checked with the parsers the
// commands use and turned into the text of an /incident command, which the adapter dispatches
// through the CommandRouter: a form does exactly what its command does, with the same replies.
namespace incident::commands {

enum class FormId { update, severity, state, role, action, resolve, declare };
std::string_view to_string(FormId id);  // "update", "severity", ... (callback ids)
std::optional<FormId> parse_form_id(std::string_view text);
// The forms a summary offers as buttons, in order (declare is opened from elsewhere).
inline constexpr FormId k_summary_forms[] = {FormId::update, FormId::severity, FormId::state,
                                             FormId::role,   FormId::action,   FormId::resolve};

enum class FieldKind {
    text,       // one line
    long_text,  // several lines
    select,     // one of `options`
    user,       // a person of the platform: the adapter submits a mention ("<@U123>", "@bob")
    date,       // YYYY-MM-DD
};

struct FieldOption {
    std::string value;  // what is submitted
    std::string label;  // what is shown
};

struct FormField {
    std::string name;   // the key of the submitted value (a Slack block/action id, a dialog name)
    std::string label;  // at most 24 characters: what Slack shows whole
    FieldKind kind = FieldKind::text;
    std::vector<FieldOption> options;  // select only
    bool optional = false;
    std::size_t max_length = 0;  // text kinds: characters (code points); 0 for the others
    std::string initial;         // a value to show first: an option's value, a text, a date
    std::string hint;            // a short help line, may be empty
};

struct Form {
    FormId id = FormId::update;
    std::string title;   // at most 24 characters (Slack's limit for a modal title)
    std::string submit;  // at most 24 characters
    std::vector<FormField> fields;

    const FormField* field(std::string_view name) const;
};

// The form as it stands for `incident` (its current severity preselected, the states it may
// move to). Every form but declare needs the incident; declare ignores it.
Form make_form(FormId id, const Incident* incident = nullptr);

// The submitted values, by field name. An empty or absent value is "not given".
using FieldValues = std::map<std::string, std::string>;

struct FormResult {
    // Per field name, what is wrong, worded for the person filling the form. Non-empty means
    // nothing is to be done.
    std::map<std::string, std::string> errors;
    // The /incident command that does what the form asks, without the leading "/incident",
    // e.g. "sev INC-3 sev2". Empty when there are errors.
    std::string command;
    // Declare only: the optional description, to be recorded as a note on the new incident
    // once it exists (description_command).
    std::string description;

    bool ok() const { return errors.empty(); }
};

// Checks `values` against the form for `incident` (as it is now, not when the form was opened:
// a state that is no longer reachable is an error) and builds the command. `incident` is
// required for every form but declare.
FormResult submit_form(FormId id, const Incident* incident, const FieldValues& values);

// The command that records a declare form's description on the incident it created.
std::string description_command(std::int64_t incident, std::string_view description);

// A request id for a submission: the same form instance (`instance`: the platform's id of the
// opened view or dialog) with the same values gives the same id, so a resubmission or a
// redelivery is answered, not redone; changed values are a new request.
std::string submission_id(std::string_view instance, const FieldValues& values);

}  // namespace incident::commands

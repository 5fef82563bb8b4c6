#include "commands/forms.hpp"

#include <cstdio>

#include "bot/incident_service.hpp"
#include "bot/state_machine.hpp"
#include "bot/text.hpp"
#include "bot/todo_grammar.hpp"
#include "commands/router.hpp"

namespace incident::commands {

namespace {

// What a platform's text input takes at most (Slack's plain_text_input and Mattermost's
// textarea: 3000 characters); the command's byte limit is checked on top.
constexpr std::size_t k_long_text_chars = 3000;
constexpr std::size_t k_action_text_chars = 500;

struct FormName {
    FormId id;
    std::string_view name;
};
constexpr FormName k_form_names[] = {
    {FormId::update, "update"},   {FormId::severity, "severity"}, {FormId::state, "state"},
    {FormId::role, "role"},       {FormId::action, "action"},     {FormId::resolve, "resolve"},
    {FormId::declare, "declare"},
};

std::vector<FieldOption> severity_options() {
    std::vector<FieldOption> options;
    for (int n = 1; n <= 5; ++n) {
        const auto s = static_cast<Severity>(n);
        options.push_back(
            {to_lower(to_string(s)), std::string(to_string(s)) + " — " + std::string(describe(s))});
    }
    return options;
}

// The states `/incident status` may set (never merged or closed), reachable from `from`.
std::vector<FieldOption> state_options(State from) {
    std::vector<FieldOption> options;
    for (const State s :
         {State::investigating, State::identified, State::monitoring, State::resolved}) {
        if (!can_transition(from, s)) continue;
        std::string label(to_string(s));
        label[0] = static_cast<char>(label[0] - 'a' + 'A');
        options.push_back({std::string(to_string(s)), label});
    }
    return options;
}

std::vector<FieldOption> role_options() {
    std::vector<FieldOption> options;
    for (const Role r : {Role::commander, Role::scribe, Role::comms, Role::liaison, Role::sme}) {
        options.push_back({std::string(to_string(r)), role_label(r)});
    }
    return options;
}

FormField text_field(std::string name, std::string label, FieldKind kind, std::size_t max,
                     bool optional, std::string hint = {}) {
    FormField f;
    f.name = std::move(name);
    f.label = std::move(label);
    f.kind = kind;
    f.max_length = max;
    f.optional = optional;
    f.hint = std::move(hint);
    return f;
}

FormField select_field(std::string name, std::string label, std::vector<FieldOption> options,
                       bool optional, std::string initial = {}) {
    FormField f;
    f.name = std::move(name);
    f.label = std::move(label);
    f.kind = FieldKind::select;
    f.options = std::move(options);
    f.optional = optional;
    f.initial = std::move(initial);
    return f;
}

FormField user_field(std::string name, std::string label, std::string hint) {
    FormField f;
    f.name = std::move(name);
    f.label = std::move(label);
    f.kind = FieldKind::user;
    f.optional = true;
    f.hint = std::move(hint);
    return f;
}

// Checks one submitted value against its field; the value as the command will get it, or an
// error in `errors`.
class Checker {
public:
    Checker(const Form& form, const FieldValues& values) : form_(form), values_(values) {}

    // The trimmed value, "" when not given. Records an error when it is wrong.
    std::string get(std::string_view name) {
        const FormField* f = form_.field(name);
        if (f == nullptr) return {};
        const auto it = values_.find(f->name);
        const std::string value(it == values_.end() ? std::string_view{} : trim(it->second));
        if (value.empty()) {
            if (!f->optional) fail(f->name, "Required: " + f->label + ".");
            return {};
        }
        if (!is_valid_utf8(value)) {
            fail(f->name, "This is not valid UTF-8 text.");
            return {};
        }
        switch (f->kind) {
            case FieldKind::text:
                if (value.find_first_of("\r\n") != std::string::npos) {
                    fail(f->name, "Write it on one line.");
                    return {};
                }
                [[fallthrough]];
            case FieldKind::long_text:
                if (f->max_length && utf8_length(value) > f->max_length) {
                    fail(f->name, "At most " + std::to_string(f->max_length) +
                                      " characters; this has " +
                                      std::to_string(utf8_length(value)) + ".");
                    return {};
                }
                return value;
            case FieldKind::select:
                for (const auto& o : f->options) {
                    if (o.value == value) return value;
                }
                fail(f->name, "Choose one of the options.");
                return {};
            case FieldKind::user:
                if (value.find_first_of(" \t\r\n") != std::string::npos || !parse_mention(value)) {
                    fail(f->name, "Choose a person.");
                    return {};
                }
                return value;
            case FieldKind::date:
                if (!is_valid_date(value)) {
                    fail(f->name, "`" + truncate_utf8(value, 40) +
                                      "` is not a date: use YYYY-MM-DD, e.g. 2026-12-01.");
                    return {};
                }
                return value;
        }
        return value;
    }

    void fail(const std::string& name, std::string message) {
        errors_.emplace(name, std::move(message));  // the first problem of a field is shown
    }
    bool failed(std::string_view name) const { return errors_.count(std::string(name)) > 0; }
    bool ok() const { return errors_.empty(); }
    std::map<std::string, std::string> take_errors() { return std::move(errors_); }

private:
    const Form& form_;
    const FieldValues& values_;
    std::map<std::string, std::string> errors_;
};

// The router refuses a longer command; the field that holds most of it is the one to shorten.
void check_command_size(const std::string& command, Checker& check, std::string_view field) {
    if (command.size() > k_max_command_bytes) {
        check.fail(std::string(field), "Too long: the command would be " +
                                           std::to_string(command.size()) + " bytes, at most " +
                                           std::to_string(k_max_command_bytes) + " fit.");
    }
}

std::string join(std::initializer_list<std::string_view> words) {
    std::string out;
    for (const auto w : words) {
        if (w.empty()) continue;
        if (!out.empty()) out += ' ';
        out += w;
    }
    return out;
}

}  // namespace

std::string_view to_string(FormId id) {
    for (const auto& n : k_form_names) {
        if (n.id == id) return n.name;
    }
    return "update";
}

std::optional<FormId> parse_form_id(std::string_view text) {
    for (const auto& n : k_form_names) {
        if (n.name == text) return n.id;
    }
    return std::nullopt;
}

const FormField* Form::field(std::string_view name) const {
    for (const auto& f : fields) {
        if (f.name == name) return &f;
    }
    return nullptr;
}

Form make_form(FormId id, const Incident* incident) {
    Form form;
    form.id = id;
    switch (id) {
        case FormId::update:
            form.title = "Post update";
            form.submit = "Post";
            form.fields.push_back(text_field("text", "What changed", FieldKind::long_text,
                                             k_long_text_chars, false,
                                             "Goes to the timeline and to stakeholders."));
            break;
        case FormId::severity:
            form.title = "Change severity";
            form.submit = "Change";
            form.fields.push_back(
                select_field("severity", "Severity", severity_options(), false,
                             incident ? to_lower(to_string(incident->severity)) : ""));
            break;
        case FormId::state:
            form.title = "Change state";
            form.submit = "Change";
            form.fields.push_back(
                select_field("state", "State",
                             state_options(incident ? incident->state : State::closed), false));
            break;
        case FormId::role:
            form.title = "Assign role";
            form.submit = "Assign";
            form.fields.push_back(select_field("role", "Role", role_options(), false));
            form.fields.push_back(user_field("user", "Person", "Leave empty to take it yourself."));
            break;
        case FormId::action:
            form.title = "Add action item";
            form.submit = "Add";
            form.fields.push_back(text_field("text", "What needs doing", FieldKind::text,
                                             k_action_text_chars, false));
            form.fields.push_back(user_field("owner", "Owner", "Who will do it (optional)."));
            form.fields.push_back(text_field("due", "Due date", FieldKind::date, 0, true));
            break;
        case FormId::resolve:
            form.title = "Resolve";
            form.submit = "Resolve";
            form.fields.push_back(
                select_field("severity", "Final severity", severity_options(), true));
            form.fields.push_back(text_field("summary", "Summary", FieldKind::long_text,
                                             k_long_text_chars, true,
                                             "What was wrong and what fixed it (optional)."));
            break;
        case FormId::declare:
            form.title = "Declare incident";
            form.submit = "Declare";
            form.fields.push_back(text_field("title", "Title", FieldKind::text, k_max_title_bytes,
                                             false, "What is broken, in a few words."));
            form.fields.push_back(
                select_field("severity", "Severity", severity_options(), false, "sev3"));
            form.fields.push_back(text_field("description", "Description", FieldKind::long_text,
                                             k_long_text_chars, true,
                                             "Recorded on the timeline as a key event."));
            break;
    }
    return form;
}

FormResult submit_form(FormId id, const Incident* incident, const FieldValues& values) {
    const Form form = make_form(id, incident);
    Checker check(form, values);
    FormResult result;
    if (id != FormId::declare && incident == nullptr) {
        result.errors.emplace(form.fields.front().name, "The incident of this form is unknown.");
        return result;
    }
    const std::string key = incident ? incident->key() : "";
    std::string command;
    std::string_view biggest;  // the field that makes most of the command
    switch (id) {
        case FormId::update: {
            const std::string text = check.get("text");
            command = join({"update", key, text});
            biggest = "text";
            break;
        }
        case FormId::severity: {
            const std::string sev = check.get("severity");
            if (check.ok() && !parse_severity(sev)) check.fail("severity", "Not a severity.");
            command = join({"sev", key, sev});
            break;
        }
        case FormId::state: {
            const auto it = values.find("state");
            const std::string value(it == values.end() ? "" : trim(it->second));
            const auto state = parse_state(value);
            if (value.empty()) {
                check.fail("state", "Required: State.");
            } else if (!state || *state == State::closed || *state == State::merged) {
                check.fail("state", "Choose one of the options.");
            } else if (const auto why = transition_error(incident->state, *state)) {
                // The incident moved since the form was opened, or the value was forged.
                check.fail("state", *why);
            }
            command = join({"status", key, value});
            break;
        }
        case FormId::role: {
            const std::string role = check.get("role");
            const std::string user = check.get("user");
            if (!role.empty() && !parse_role(role)) check.fail("role", "Not a role.");
            command = join({"role", key, role, user});
            break;
        }
        case FormId::action: {
            const std::string text = check.get("text");
            std::string owner = check.get("owner");
            const std::string due = check.get("due");
            if (!text.empty()) {
                const TodoParse parsed = parse_todo_body(text);
                if (!parsed.spec) {
                    check.fail("text", parsed.error);
                } else {
                    if (parsed.spec->due && !due.empty()) {
                        check.fail("text", "The text has a due date too: keep it in Due date.");
                    }
                    if (!parsed.spec->owner.empty() && !owner.empty()) {
                        // The first mention of the text is the owner (parse_todo_body).
                        if (parsed.spec->owner != owner) {
                            check.fail("owner", "The text names " + parsed.spec->owner +
                                                    ", who would be the owner: leave Owner "
                                                    "empty or take the name out of the text.");
                        }
                        owner.clear();  // named already
                    }
                }
            }
            command = join({"todo", key, text, owner});
            if (!due.empty()) command += " due:" + due;
            biggest = "text";
            break;
        }
        case FormId::resolve: {
            const std::string sev = check.get("severity");
            const std::string summary = check.get("summary");
            if (sev.empty() && !summary.empty() && to_lower(summary).starts_with("sev")) {
                // `/incident resolve` reads a leading "sev…" word as the final severity.
                check.fail("summary",
                           "A summary that starts with \"sev\" reads as a severity: choose the "
                           "final severity above, or begin the summary with another word.");
            }
            command = join({"resolve", key, sev, summary});
            biggest = "summary";
            break;
        }
        case FormId::declare: {
            const std::string title = check.get("title");
            const std::string sev = check.get("severity");
            const std::string description = check.get("description");
            if (title.size() > k_max_title_bytes) {
                check.fail("title", "At most " + std::to_string(k_max_title_bytes) +
                                        " bytes; this has " + std::to_string(title.size()) + ".");
            }
            command = join({"declare", sev, title});
            if (!description.empty()) {
                // The number is not known yet: measure with the longest key it could have.
                check_command_size(description_command(INT64_MAX, description), check,
                                   "description");
                result.description = description;
            }
            biggest = "title";
            break;
        }
    }
    if (check.ok() && !biggest.empty()) check_command_size(command, check, biggest);
    result.errors = check.take_errors();
    if (result.ok()) {
        result.command = std::move(command);
    } else {
        result.description.clear();
    }
    return result;
}

std::string description_command(std::int64_t incident, std::string_view description) {
    return "note " + incident_key(incident) + " " + std::string(description);
}

std::string submission_id(std::string_view instance, const FieldValues& values) {
    // FNV-1a over names and values, each ended by 0xFF (a byte UTF-8 text never has).
    std::uint64_t hash = 14695981039346656037ull;
    const auto mix = [&hash](std::string_view s) {
        for (const char c : s) {
            hash ^= static_cast<unsigned char>(c);
            hash *= 1099511628211ull;
        }
        hash ^= 0xFFu;
        hash *= 1099511628211ull;
    };
    for (const auto& [name, value] : values) {
        mix(name);
        mix(trim(value));
    }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
    return std::string(instance) + ":" + hex;
}

}  // namespace incident::commands

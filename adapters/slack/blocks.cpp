#include "adapters/slack/blocks.hpp"

#include "adapters/slack/decode.hpp"
#include "bot/text.hpp"

namespace incident::slack {

namespace {

using nlohmann::json;

json plain(const std::string& text) {
    return {{"type", "plain_text"}, {"text", text}};
}

// A button whose value is /incident command text (decode_block_action runs it).
json button(const std::string& label, const std::string& command) {
    return json{{"type", "button"},
                {"text", plain(label)},
                {"action_id", "incident:" + command},
                {"value", command}};
}

std::string mention(const Actor& who) {
    return "<@" + who.id + ">";
}

const char* button_label(commands::FormId id) {
    switch (id) {
        case commands::FormId::update:
            return "Post update";
        case commands::FormId::severity:
            return "Change severity";
        case commands::FormId::state:
            return "Change state";
        case commands::FormId::role:
            return "Assign role";
        case commands::FormId::action:
            return "Add action item";
        case commands::FormId::resolve:
            return "Resolve";
        case commands::FormId::declare:
            return "Declare incident";
    }
    return "Open";
}

json form_button(commands::FormId id, const std::string& key) {
    json b{{"type", "button"},
           {"text", plain(button_label(id))},
           {"action_id", form_action_id(to_string(id))},
           {"value", key}};
    if (id == commands::FormId::resolve) b["style"] = "danger";
    return b;
}

// Block Kit elements (docs.slack.dev/reference/block-kit/block-elements): plain_text_input,
// static_select, users_select, datepicker.
json element_for(const commands::FormField& f) {
    using commands::FieldKind;
    json e{{"action_id", f.name}};
    switch (f.kind) {
        case FieldKind::text:
        case FieldKind::long_text:
            e["type"] = "plain_text_input";
            if (f.kind == FieldKind::long_text) e["multiline"] = true;
            if (f.max_length) e["max_length"] = f.max_length;
            if (!f.initial.empty()) e["initial_value"] = f.initial;
            break;
        case FieldKind::select: {
            e["type"] = "static_select";
            e["placeholder"] = plain("Choose…");
            json options = json::array();
            for (const auto& o : f.options) {
                json option{{"text", plain(o.label)}, {"value", o.value}};
                if (o.value == f.initial) e["initial_option"] = option;
                options.push_back(std::move(option));
            }
            e["options"] = std::move(options);
            break;
        }
        case FieldKind::user:
            e["type"] = "users_select";
            e["placeholder"] = plain("Choose a person");
            if (!f.initial.empty()) e["initial_user"] = f.initial;
            break;
        case FieldKind::date:
            e["type"] = "datepicker";
            e["placeholder"] = plain("YYYY-MM-DD");
            if (!f.initial.empty()) e["initial_date"] = f.initial;
            break;
    }
    return e;
}

}  // namespace

json text_blocks(const std::string& text) {
    // Section text is limited to 3000 characters; longer text goes as plain message text.
    if (text.size() > 3000) return json::array();
    return json::array({{{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", text}}}}});
}

json incident_summary_blocks(const SummaryFacts& view) {
    const Incident& inc = view.incident;
    const std::string key = inc.key();
    // Opened from alerts, nobody is in command until someone takes it.
    const std::string commander =
        view.commander ? mention(*view.commander) : "nobody yet: `/incident role commander`";
    std::string fields = "*Severity:* " + std::string(to_string(inc.severity)) + " (" +
                         std::string(describe(inc.severity)) + ")\n*State:* " +
                         std::string(to_string(inc.state)) + "\n*Commander:* " + commander;
    for (const auto& [role, people] : view.roles) {
        fields += "\n*" + role_label(role) + ":* ";
        for (std::size_t i = 0; i < people.size(); ++i)
            fields += (i ? ", " : "") + mention(people[i]);
    }
    fields += "\n*Action items:* " + std::to_string(view.open_actions) + " open, " +
              std::to_string(view.done_actions) + " done";
    // Section text holds at most 3000 characters; an update is cut well before that.
    if (!view.last_update.empty()) {
        std::string update = truncate_utf8(view.last_update, 1500);
        if (update.size() < view.last_update.size()) update += "…";
        fields += "\n*Last update:* " + update;
    }
    std::string links;
    if (!view.link.empty()) links += "<" + view.link + "|Dashboard>";
    if (!view.postmortem_link.empty()) {
        links +=
            std::string(links.empty() ? "" : " · ") + "<" + view.postmortem_link + "|Post-mortem>";
    }
    if (!links.empty()) fields += "\n" + links;
    json buttons = json::array();
    for (const commands::FormId id : commands::k_summary_forms) {
        buttons.push_back(form_button(id, key));
    }
    buttons.push_back(button("Info", "info " + key));
    return json::array({
        {{"type", "header"},
         {"text",
          {{"type", "plain_text"}, {"text", "🚨 " + key + ": " + inc.title.substr(0, 140)}}}},
        {{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", fields}}}},
        {{"type", "actions"}, {"elements", buttons}},
        {{"type", "context"},
         {"elements", json::array({{{"type", "mrkdwn"},
                                    {"text",
                                     "`/incident update <text>` informs stakeholders · a line "
                                     "starting with TODO becomes an action item · 📌 marks a key "
                                     "event"}}})}},
    });
}

json form_view(const commands::Form& form, const std::string& private_metadata) {
    json blocks = json::array();
    for (const auto& f : form.fields) {
        json block{{"type", "input"},
                   {"block_id", f.name},
                   {"label", plain(f.label)},
                   {"optional", f.optional},
                   {"element", element_for(f)}};
        if (!f.hint.empty()) block["hint"] = plain(f.hint);
        blocks.push_back(std::move(block));
    }
    return json{{"type", "modal"},
                {"callback_id", form_callback_id(to_string(form.id))},
                {"title", plain(form.title)},
                {"submit", plain(form.submit)},
                {"close", plain("Cancel")},
                {"private_metadata", private_metadata},
                {"blocks", std::move(blocks)}};
}

json text_message(const std::string& text) {
    json message{{"text", text}};
    if (json blocks = text_blocks(text); !blocks.empty()) message["blocks"] = std::move(blocks);
    return message;
}

}  // namespace incident::slack

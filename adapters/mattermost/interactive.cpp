#include "adapters/mattermost/interactive.hpp"

#include <algorithm>
#include <charconv>

#include "adapters/net/digest.hpp"

namespace incident::mattermost {

using nlohmann::json;

namespace {

// Domain separation: the key is used for nothing else, a context's signature is never a
// state's.
constexpr std::string_view k_key_label = "incident-bot mattermost interactions v1";
constexpr std::string_view k_state_version = "v1";
constexpr std::size_t k_max_state = 512;

bool is_token_text(std::string_view text) {
    return !text.empty() && text.size() <= 64 && std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_';
    });
}

std::optional<std::int64_t> parse_number(std::string_view text) {
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value <= 0) return std::nullopt;
    return value;
}

bool is_summary_form(commands::FormId form) {
    for (const auto f : commands::k_summary_forms) {
        if (f == form) return true;
    }
    return false;
}

std::string_view button_style(commands::FormId form) {
    if (form == commands::FormId::update) return "primary";
    if (form == commands::FormId::resolve) return "good";
    return "";
}

std::string action_message(std::int64_t incident, std::string_view action) {
    return "action\n" + std::to_string(incident) + "\n" + std::string(action);
}

std::string state_message(std::int64_t incident, std::string_view form, std::string_view nonce,
                          std::string_view user_id) {
    return "dialog\n" + std::to_string(incident) + "\n" + std::string(form) + "\n" +
           std::string(nonce) + "\n" + std::string(user_id);
}

std::string string_field(const json& object, const char* key) {
    const auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

InteractionSigner::InteractionSigner(std::string_view secret)
    : key_(net::hmac_sha256(secret, k_key_label)) {}

std::string InteractionSigner::sign(std::string_view message) const {
    return net::hmac_sha256_hex(key_, message);
}

json InteractionSigner::action_context(std::int64_t incident, commands::FormId form) const {
    const std::string action(commands::to_string(form));
    json context = json::object();
    context["incident"] = incident;
    context["action"] = action;
    context["signature"] = sign(action_message(incident, action));
    return context;
}

std::optional<ActionContext> InteractionSigner::verify_context(const json& context) const {
    if (!context.is_object()) return std::nullopt;
    const auto number = context.find("incident");
    // The server decodes the context into Go values and encodes it again: an integer comes
    // back as a JSON number without a fraction.
    if (number == context.end() || !number->is_number_integer()) return std::nullopt;
    const auto incident = number->get<std::int64_t>();
    const std::string action = string_field(context, "action");
    const std::string signature = string_field(context, "signature");
    const auto form = commands::parse_form_id(action);
    if (incident <= 0 || !form || !is_summary_form(*form)) return std::nullopt;
    if (!net::equal_constant_time(signature, sign(action_message(incident, action)))) {
        return std::nullopt;
    }
    return ActionContext{incident, *form};
}

std::string InteractionSigner::dialog_state(std::int64_t incident, commands::FormId form,
                                            std::string_view nonce,
                                            std::string_view user_id) const {
    const std::string_view name = commands::to_string(form);
    return std::string(k_state_version) + "." + std::to_string(incident) + "." + std::string(name) +
           "." + std::string(nonce) + "." + sign(state_message(incident, name, nonce, user_id));
}

std::optional<DialogState> InteractionSigner::verify_state(std::string_view state,
                                                           std::string_view user_id) const {
    if (state.size() > k_max_state || user_id.empty()) return std::nullopt;
    std::vector<std::string_view> parts;
    while (true) {
        const auto dot = state.find('.');
        parts.push_back(state.substr(0, dot));
        if (dot == std::string_view::npos) break;
        state.remove_prefix(dot + 1);
    }
    if (parts.size() != 5 || parts[0] != k_state_version) return std::nullopt;
    const auto incident = parse_number(parts[1]);
    const auto form = commands::parse_form_id(parts[2]);
    if (!incident || !form || !is_token_text(parts[3])) return std::nullopt;
    const std::string expected = sign(state_message(*incident, parts[2], parts[3], user_id));
    if (!net::equal_constant_time(parts[4], expected)) return std::nullopt;
    return DialogState{*incident, *form, std::string(parts[3])};
}

json summary_props(const InteractionSigner& signer, std::int64_t incident,
                   const std::string& actions_url) {
    json props = json::object();
    if (actions_url.empty()) return props;
    json actions = json::array();
    std::string names;
    for (const auto form : commands::k_summary_forms) {
        const std::string title = commands::make_form(form).title;
        json action = json::object();
        action["id"] = std::string(commands::to_string(form));
        action["type"] = "button";
        action["name"] = title;
        if (const auto style = button_style(form); !style.empty()) action["style"] = style;
        json integration = json::object();
        integration["url"] = actions_url;
        integration["context"] = signer.action_context(incident, form);
        action["integration"] = std::move(integration);
        actions.push_back(std::move(action));
        names += (names.empty() ? "" : ", ") + title;
    }
    json attachment = json::object();
    attachment["fallback"] = "Buttons: " + names;
    attachment["actions"] = std::move(actions);
    props["attachments"] = json::array({std::move(attachment)});
    return props;
}

std::optional<ActionRequest> parse_action_request(std::string_view body, std::string& error) {
    const json parsed = json::parse(body, nullptr, false);
    if (!parsed.is_object()) {
        error = "the body is not a JSON object";
        return std::nullopt;
    }
    ActionRequest r;
    r.user_id = string_field(parsed, "user_id");
    r.user_name = string_field(parsed, "user_name");
    r.channel_id = string_field(parsed, "channel_id");
    r.post_id = string_field(parsed, "post_id");
    r.trigger_id = string_field(parsed, "trigger_id");
    if (const auto it = parsed.find("context"); it != parsed.end()) r.context = *it;
    if (r.user_id.empty()) {
        error = "no user_id";
        return std::nullopt;
    }
    return r;
}

std::optional<DialogSubmission> parse_dialog_submission(std::string_view body, std::string& error) {
    const json parsed = json::parse(body, nullptr, false);
    if (!parsed.is_object()) {
        error = "the body is not a JSON object";
        return std::nullopt;
    }
    DialogSubmission s;
    const std::string type = string_field(parsed, "type");
    if (type != "dialog_submission") {
        error = "type is `" + type + "`, not dialog_submission";
        return std::nullopt;
    }
    s.callback_id = string_field(parsed, "callback_id");
    s.state = string_field(parsed, "state");
    s.user_id = string_field(parsed, "user_id");
    s.channel_id = string_field(parsed, "channel_id");
    if (const auto it = parsed.find("cancelled"); it != parsed.end() && it->is_boolean()) {
        s.cancelled = it->get<bool>();
    }
    if (s.user_id.empty()) {
        error = "no user_id";
        return std::nullopt;
    }
    if (const auto it = parsed.find("submission"); it != parsed.end() && !it->is_null()) {
        if (!it->is_object()) {
            error = "submission is not an object";
            return std::nullopt;
        }
        for (const auto& [name, value] : it->items()) {
            if (value.is_string()) {
                s.values.emplace_back(name, value.get<std::string>());
            } else if (value.is_boolean() || value.is_number()) {
                s.values.emplace_back(name, value.dump());
            } else if (!value.is_null()) {
                error = "the value of `" + name + "` is not text";
                return std::nullopt;
            }
        }
    }
    return s;
}

std::optional<json> dialog_of(const commands::Form& form, const std::string& introduction,
                              const std::string& state, std::string& error) {
    using commands::FieldKind;
    json elements = json::array();
    for (const auto& f : form.fields) {
        json e = json::object();
        e["display_name"] = f.label;
        e["name"] = f.name;
        e["optional"] = f.optional;
        if (!f.hint.empty()) e["help_text"] = f.hint;
        switch (f.kind) {
            case FieldKind::text:
            case FieldKind::long_text:
                e["type"] = f.kind == FieldKind::text ? "text" : "textarea";
                e["subtype"] = "text";
                if (f.max_length > 0) e["max_length"] = f.max_length;
                if (!f.initial.empty()) e["default"] = f.initial;
                break;
            case FieldKind::date:
                e["type"] = "text";
                e["subtype"] = "text";
                e["placeholder"] = "YYYY-MM-DD";
                e["max_length"] = 10;
                if (!f.initial.empty()) e["default"] = f.initial;
                break;
            case FieldKind::select: {
                if (f.options.empty()) {
                    error = f.label + ": nothing to choose from now";
                    return std::nullopt;
                }
                e["type"] = "select";
                json options = json::array();
                bool initial_listed = false;
                for (const auto& o : f.options) {
                    options.push_back(json{{"text", o.label}, {"value", o.value}});
                    initial_listed = initial_listed || o.value == f.initial;
                }
                e["options"] = std::move(options);
                // Dialog.IsValid: a default must be one of the options.
                if (initial_listed) e["default"] = f.initial;
                break;
            }
            case FieldKind::user:
                e["type"] = "select";
                e["data_source"] = "users";
                e["placeholder"] = "Choose a person";
                break;
        }
        elements.push_back(std::move(e));
    }
    json dialog = json::object();
    dialog["callback_id"] = std::string(commands::to_string(form.id));
    dialog["title"] = form.title;
    dialog["introduction_text"] = introduction;
    dialog["elements"] = std::move(elements);
    dialog["submit_label"] = form.submit;
    dialog["notify_on_cancel"] = false;
    dialog["state"] = state;
    return dialog;
}

}  // namespace incident::mattermost

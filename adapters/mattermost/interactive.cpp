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

const std::vector<SummaryButton>& summary_buttons() {
    static const std::vector<SummaryButton> k_buttons{
        {"update", "Post update", "primary"},  {"severity", "Change severity", ""},
        {"state", "Change state", ""},         {"role", "Assign role", ""},
        {"actionitem", "Add action item", ""}, {"resolve", "Resolve", "good"},
    };
    return k_buttons;
}

const SummaryButton* find_summary_button(std::string_view id) {
    for (const auto& b : summary_buttons()) {
        if (b.id == id) return &b;
    }
    return nullptr;
}

InteractionSigner::InteractionSigner(std::string_view secret)
    : key_(net::hmac_sha256(secret, k_key_label)) {}

std::string InteractionSigner::sign(std::string_view message) const {
    return net::hmac_sha256_hex(key_, message);
}

json InteractionSigner::action_context(std::int64_t incident, std::string_view action) const {
    json context = json::object();
    context["incident"] = incident;
    context["action"] = std::string(action);
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
    if (incident <= 0 || !find_summary_button(action)) return std::nullopt;
    if (!net::equal_constant_time(signature, sign(action_message(incident, action)))) {
        return std::nullopt;
    }
    return ActionContext{incident, action};
}

std::string InteractionSigner::dialog_state(std::int64_t incident, std::string_view form,
                                            std::string_view nonce,
                                            std::string_view user_id) const {
    return std::string(k_state_version) + "." + std::to_string(incident) + "." + std::string(form) +
           "." + std::string(nonce) + "." + sign(state_message(incident, form, nonce, user_id));
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
    if (!incident || !is_token_text(parts[2]) || !is_token_text(parts[3])) return std::nullopt;
    const std::string expected = sign(state_message(*incident, parts[2], parts[3], user_id));
    if (!net::equal_constant_time(parts[4], expected)) return std::nullopt;
    return DialogState{*incident, std::string(parts[2]), std::string(parts[3])};
}

json summary_props(const InteractionSigner& signer, std::int64_t incident,
                   const std::string& actions_url) {
    json props = json::object();
    if (actions_url.empty()) return props;
    json actions = json::array();
    for (const auto& b : summary_buttons()) {
        json action = json::object();
        action["id"] = b.id;
        action["type"] = "button";
        action["name"] = b.name;
        if (!b.style.empty()) action["style"] = b.style;
        action["integration"] =
            json{{"url", actions_url}, {"context", signer.action_context(incident, b.id)}};
        actions.push_back(std::move(action));
    }
    json attachment = json::object();
    attachment["fallback"] =
        "Buttons: Post update, Change severity, Change state, Assign role, "
        "Add action item, Resolve";
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

}  // namespace incident::mattermost

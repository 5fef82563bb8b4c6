#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands/forms.hpp"

// Mattermost's interactive messages and dialogs, the pure part: the summary post's buttons,
// the signatures that make their requests trustworthy, and the shapes of the requests.
//
// Mattermost signs neither the request a button sends (POST <integration.url> with the
// action's `context`) nor a dialog submission (POST <dialog url> with its `state`), so the bot
// signs what it hands out and believes only what it signed: a button's context carries the
// incident and the action with an HMAC-SHA256 of both; a dialog's state carries the incident,
// the form, a nonce and the user it was opened for, with an HMAC of all four. The key is
// derived from MATTERMOST_ACTION_SECRET, else from the bot's token (both secrets the server's
// users never see; a context is stripped from posts before they reach a client).
namespace incident::mattermost {

// The summary's buttons are the forms of commands::k_summary_forms, in that order; a button's
// id (Mattermost's action id, letters only: the server routes POST
// /posts/{post_id}/actions/{action_id} with it) is its form's id, its name the form's title.
// What a verified button context says.
struct ActionContext {
    std::int64_t incident = 0;
    commands::FormId form = commands::FormId::update;  // one of k_summary_forms
};

// What a verified dialog state says.
struct DialogState {
    std::int64_t incident = 0;
    commands::FormId form = commands::FormId::update;
    std::string nonce;
};

class InteractionSigner {
public:
    // `secret`: MATTERMOST_ACTION_SECRET, else the bot's access token. Never logged.
    explicit InteractionSigner(std::string_view secret);

    // {"incident": <n>, "action": <form id>, "signature": <hex HMAC>}.
    nlohmann::json action_context(std::int64_t incident, commands::FormId form) const;
    // Nullopt unless `context` is an object this key signed, naming a summary form.
    std::optional<ActionContext> verify_context(const nlohmann::json& context) const;

    // "v1.<incident>.<form>.<nonce>.<hex HMAC>", the HMAC also covering `user_id`: a state is
    // good for the user the dialog was opened for. `nonce`: letters, digits, - and _.
    std::string dialog_state(std::int64_t incident, commands::FormId form, std::string_view nonce,
                             std::string_view user_id) const;
    std::optional<DialogState> verify_state(std::string_view state, std::string_view user_id) const;

private:
    std::string sign(std::string_view message) const;
    std::string key_;
};

// props of the summary post: one attachment with a button per summary form, each
// sending to `actions_url` (<INCIDENT_BOT_PUBLIC_URL>/mattermost/actions) with its signed
// context. No buttons (an empty object) when `actions_url` is empty: nothing could receive
// their requests.
nlohmann::json summary_props(const InteractionSigner& signer, std::int64_t incident,
                             const std::string& actions_url);

// A button's request (PostActionIntegrationRequest: user_id, user_name, channel_id,
// channel_name, team_id, team_domain, post_id, trigger_id, type, data_source, context).
struct ActionRequest {
    std::string user_id;
    std::string user_name;
    std::string channel_id;
    std::string post_id;
    std::string trigger_id;
    nlohmann::json context;
};
// Nullopt with `error` when the body is not a JSON object with a user and a context.
std::optional<ActionRequest> parse_action_request(std::string_view body, std::string& error);

// A dialog's submission (SubmitDialogRequest: type "dialog_submission", callback_id, state,
// user_id, channel_id, team_id, submission, cancelled). Submitted values are strings, numbers
// or booleans; each becomes text.
struct DialogSubmission {
    std::string callback_id;
    std::string state;
    std::string user_id;
    std::string channel_id;
    bool cancelled = false;
    std::vector<std::pair<std::string, std::string>> values;
};
std::optional<DialogSubmission> parse_dialog_submission(std::string_view body, std::string& error);

// OpenDialogRequest.dialog for `form`: text → text, long_text → textarea, select → select
// with its options, user → select with data_source "users" (submitting a user id), date →
// text with a YYYY-MM-DD placeholder (the `date` element exists only on recent servers).
// `introduction` is Markdown above the fields. Nullopt with `error` when the form cannot be a
// dialog (a select without options: nothing to choose).
std::optional<nlohmann::json> dialog_of(const commands::Form& form, const std::string& introduction,
                                        const std::string& state, std::string& error);

}  // namespace incident::mattermost

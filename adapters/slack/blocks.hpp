#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "bot/incident_service.hpp"
#include "commands/forms.hpp"

namespace incident::slack {

// The first message in an incident channel, kept current (chat.update): what, how bad, who
// does what, the last update, the action items, and buttons for the common actions. The
// buttons open the forms of commands/forms.hpp (action_id form:<id>, value the incident key);
// "Info" is /incident command text, run as the person who pressed.
nlohmann::json incident_summary_blocks(const SummaryFacts& facts);

// A modal (views.open's `view`) for `form`: one input block per field, block_id and action_id
// the field's name, callback_id incident_form:<id>, `private_metadata` as given.
nlohmann::json form_view(const commands::Form& form, const std::string& private_metadata);

// A plain mrkdwn message body with its notification fallback text.
nlohmann::json text_blocks(const std::string& text);
// The arguments of chat.postMessage or chat.update for that text: `text`, and `blocks` when
// it fits in them.
nlohmann::json text_message(const std::string& text);

}  // namespace incident::slack

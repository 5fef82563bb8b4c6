#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "adapters/slack/decode.hpp"
#include "fuzz_check.hpp"

using incident::fuzz::require;
namespace slack = incident::slack;

namespace {

void check_event(const slack::DecodedEvent& decoded) {
    const int outcomes =
        decoded.event.has_value() + !decoded.ignored.empty() + !decoded.malformed.empty();
    require(outcomes == 1, "an event is decoded, ignored or malformed: exactly one");
    if (!decoded.event) return;
    const incident::EventHeader& header = incident::header_of(*decoded.event);
    require(!header.event_id.empty(), "a decoded event has its event_id");
    require(!header.channel_id.empty(), "a decoded event has its channel");
    require(header.platform == slack::k_platform, "a decoded event is from slack");
}

}  // namespace

// A Socket Mode frame as the bot reads it, then whatever its payload decodes to. HTTP
// events are the same payloads without the envelope, so they are tried as such too.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    std::string error;
    const auto envelope = slack::parse_envelope(text, error);
    // An unreadable frame that names its envelope_id comes back too, to be acked.
    const bool unreadable = envelope && !envelope->unreadable.empty();
    require((envelope.has_value() && !unreadable) == error.empty(),
            "a frame parses or says why not");
    require(!unreadable || !envelope->envelope_id.empty(),
            "an unreadable frame is returned only for its envelope_id");

    const nlohmann::json whole = nlohmann::json::parse(text, nullptr, false);
    const nlohmann::json& payload = envelope ? envelope->payload : whole;
    check_event(slack::decode_event_callback(payload));
    if (whole.is_object()) check_event(slack::decode_event_callback(whole));

    for (const auto& request : {slack::decode_slash_command(payload, 1'800'000'000'000),
                                slack::decode_block_action(payload, 1'800'000'000'000)}) {
        if (!request) continue;
        require(!request->caller.id.empty() && !request->channel_id.empty(),
                "a command has a caller and a channel");
        require(request->platform == slack::k_platform, "a command is from slack");
    }

    if (const auto button = slack::decode_form_button(payload)) {
        require(button->incident > 0 && !button->trigger_id.empty() && !button->user.id.empty(),
                "a form button names an incident, a trigger and a user");
    }
    if (const auto submission = slack::decode_view_submission(payload)) {
        require(!submission->view_id.empty() && !submission->context.form.empty(),
                "a submission names its view and its form");
        for (const auto& [block, value] : submission->values) {
            require(!value.empty(), "an empty input is absent, not an empty value");
        }
    }
    if (const auto shortcut = slack::decode_shortcut(payload)) {
        require(!shortcut->callback_id.empty(), "a shortcut has a callback_id");
        require(!shortcut->on_message ||
                    (!shortcut->channel_id.empty() && !shortcut->message_ts.empty()),
                "a message shortcut names the channel and the message");
    }
    if (const auto context = slack::decode_form_context(text)) {
        require(!context->form.empty() && (!context->incident || *context->incident > 0),
                "a form context names its form and a real incident number");
    }

    const incident::Timestamp at = slack::parse_ts(text);
    require(at >= 0, "a Slack ts is never before 1970");
    return 0;
}

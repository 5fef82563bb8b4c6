#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "adapters/mattermost/decode.hpp"
#include "bot/text.hpp"
#include "fuzz_check.hpp"

using incident::fuzz::require;
namespace mm = incident::mattermost;

namespace {

const mm::DecodeContext k_context{"botuser0000000000000000001", "conn00000000000000000000001"};

void check_event(const mm::DecodedEvent& decoded) {
    const int outcomes =
        decoded.event.has_value() + !decoded.ignored.empty() + !decoded.malformed.empty();
    require(outcomes == 1, "an event is decoded, ignored or malformed: exactly one");
    if (!decoded.event) return;
    const incident::EventHeader& header = incident::header_of(*decoded.event);
    require(!header.event_id.empty(), "a decoded event has an id");
    require(!header.channel_id.empty(), "a decoded event has a channel");
}

// The post inside the frame (a JSON string holding JSON), decoded on its own as the REST
// re-sync does.
void check_post(const mm::Frame& frame) {
    const auto it = frame.data.find("post");
    if (it == frame.data.end()) return;
    std::string error;
    const auto post = mm::decode_post(*it, error);
    require(post.has_value() == error.empty(), "a post decodes or says why not");
    if (!post) return;
    for (const auto& event : mm::events_for_post(*post, 0, k_context)) {
        require(incident::header_of(event).channel_id == post->channel_id,
                "re-synced events are in the post's channel");
    }
}

}  // namespace

// One WebSocket frame as the adapter reads it, and the slash command body and text helpers
// on the same bytes.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    std::string error;
    const auto frame = mm::parse_frame(text, error);
    // An unreadable frame comes back too, with only its trailing seq, to be skipped.
    const bool unreadable = frame && !frame->unreadable.empty();
    require((frame.has_value() && !unreadable) == error.empty(), "a frame parses or says why not");
    if (frame && !unreadable) {
        require(frame->kind == mm::Frame::Kind::response ||
                    (frame->data.is_object() && frame->broadcast.is_object()),
                "an event's data and broadcast are always objects");
        (void)mm::decode_hello(*frame);
        check_event(mm::decode_event(*frame, k_context));
        check_post(*frame);
    }

    for (const std::string_view type :
         {"application/x-www-form-urlencoded", "application/json", ""}) {
        std::string body_error;
        const auto fields = mm::parse_command_body(type, text, body_error);
        require(fields.has_value() == body_error.empty(), "a body parses or says why not");
        if (!fields) continue;
        const auto check = mm::verify_command_token("expectedtoken", *fields, text);
        require(check.ok != !check.error.empty(), "a token check passes or says why not");
        require(check.error.find("expectedtoken") == std::string::npos,
                "a refusal never shows the token");
        if (const auto request = mm::decode_slash_command(*fields, 1'800'000'000'000)) {
            require(!request->caller.id.empty() && !request->channel_id.empty(),
                    "a command has a caller and a channel");
        }
    }

    const std::string name = mm::channel_name_of(text);
    require(name.size() <= 64, "a channel name fits Mattermost's limit");
    if (incident::is_valid_utf8(text)) {
        require(incident::is_valid_utf8(mm::markdown_from_mrkdwn(text)), "markdown stays UTF-8");
        const std::string cut = mm::truncate_runes(text, size / 2);
        require(incident::is_valid_utf8(cut) && cut.size() <= text.size(),
                "a cut is a UTF-8 prefix");
    }
    require(mm::tokens_equal(text, text), "a token equals itself");
    return 0;
}

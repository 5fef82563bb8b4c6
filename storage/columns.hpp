#pragma once

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "bot/types.hpp"

namespace incident {

// The column lists both stores read and write, in the order of their read_* functions.
inline constexpr const char* k_incident_columns =
    "number, title, severity, final_severity, state, merged_into, platform, channel_id, "
    "channel_name, declared_by_id, declared_by_name, declared_at, identified_at, "
    "mitigated_at, resolved_at, closed_at, last_update_at, summary, postmortem_owner, "
    "postmortem_due, postmortem_published_at, detected_at, related_to";
inline constexpr const char* k_entry_columns =
    "id, incident, kind, at, author_id, author_name, text, message_id, thread_id, key_event, "
    "edited_at, deleted_at, key_marks";
inline constexpr const char* k_action_columns =
    "id, incident, number, text, owner, due, status, source, source_message_id, author_id, "
    "author_name, created_at, done_at, kind";

inline constexpr const char* k_outbox_columns =
    "id, sink, incident, kind, payload, result, status, attempts, created_at, "
    "next_attempt_at, done_at, error, claimed_by, claimed_until";

inline constexpr const char* k_alert_columns =
    "id, incident, source, group_key, fingerprint, status, labels, annotations, starts_at, "
    "ends_at, url, received_at";

inline constexpr const char* k_file_columns =
    "id, incident, platform, source_id, source_url, message_id, name, mime_type, size, sha256, "
    "shared_by_id, shared_by_name, shared_at, status, error";

inline constexpr const char* k_status_message_columns =
    "id, incident, state, text, by_id, by_name, at";

// Labels and annotations are a JSON object of strings in one text column.
inline std::string encode_string_map(const std::map<std::string, std::string>& values) {
    return nlohmann::json(values).dump();
}
inline std::map<std::string, std::string> decode_string_map(const std::string& text,
                                                            std::string_view column) {
    const auto parsed = nlohmann::json::parse(text, nullptr, false);
    if (!parsed.is_object()) {
        throw std::runtime_error("column " + std::string(column) + " is not a JSON object");
    }
    std::map<std::string, std::string> values;
    for (const auto& [key, value] : parsed.items()) {
        values[key] = value.is_string() ? value.get<std::string>() : value.dump();
    }
    return values;
}

// Enum columns are text so people can read them with the database's own client; a name
// this build does not know means the row was written by something else, and guessing
// would corrupt it further.
template <typename Parse>
auto parse_enum(const std::string& text, Parse parse, std::string_view column) {
    if (auto value = parse(text)) return *value;
    throw std::runtime_error("unknown value '" + text + "' in column " + std::string(column));
}

// What marked a chat message as a key event, as readable text: "", "pin", "reaction" or
// "pin reaction" (the column's CHECK allows exactly these).
inline std::string encode_key_marks(const TimelineEntry& entry) {
    if (entry.marked_by_pin && entry.marked_by_reaction) return "pin reaction";
    if (entry.marked_by_pin) return "pin";
    if (entry.marked_by_reaction) return "reaction";
    return "";
}
inline void decode_key_marks(const std::string& text, TimelineEntry& entry) {
    if (text != "" && text != "pin" && text != "reaction" && text != "pin reaction") {
        throw std::runtime_error("unknown value '" + text +
                                 "' in column timeline_entries.key_marks");
    }
    entry.marked_by_pin = text.starts_with("pin");
    entry.marked_by_reaction = text.ends_with("reaction");
}

// Role order lives in C++, not in the text column; assignments keep their order within a
// role.
inline void sort_by_role(std::vector<RoleAssignment>& roles) {
    std::stable_sort(roles.begin(), roles.end(),
                     [](const RoleAssignment& a, const RoleAssignment& b) {
                         return static_cast<int>(a.role) < static_cast<int>(b.role);
                     });
}

// The words of a post-mortem search, split the same way on both engines: letters, digits
// and any non-ASCII byte make words; everything else (punctuation, quotes, operators)
// separates them, so no query syntax of either engine can be typed in.
inline std::vector<std::string> search_words(std::string_view text) {
    std::vector<std::string> words;
    std::string word;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if ((byte >= '0' && byte <= '9') || (byte >= 'a' && byte <= 'z') ||
            (byte >= 'A' && byte <= 'Z') || byte >= 0x80) {
            word += c;
        } else if (!word.empty()) {
            words.push_back(std::move(word));
            word.clear();
        }
    }
    if (!word.empty()) words.push_back(std::move(word));
    return words;
}

}  // namespace incident

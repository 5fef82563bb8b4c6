#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bot/types.hpp"

namespace incident {

std::string to_lower(std::string_view text);  // ASCII only: commands and keywords
std::string_view trim(std::string_view text);
std::vector<std::string_view> split_words(std::string_view text);
// The non-empty items of a `separator`-separated list, each trimmed: "a, b,,c" -> a b c.
std::vector<std::string> split_list(std::string_view text, char separator = ',');
bool is_valid_utf8(std::string_view text);

// What a page or a post-mortem shows of a long chat text: the whole text is stored (and in
// the JSON export); renderings show at most this many characters (code points).
inline constexpr std::size_t k_display_chars = 4'000;
// `text` when it has at most `max_chars` code points; otherwise its first `max_chars` code
// points followed by "… (N more characters, see the JSON export)". Never splits a character.
std::string clip_for_display(std::string_view text, std::size_t max_chars = k_display_chars);
// At most `max_bytes` bytes of valid UTF-8 text, cut before a whole character, with "…" at
// the end (within the limit) when anything was cut.
std::string truncate_utf8(std::string_view text, std::size_t max_bytes);

// "Checkout is DOWN!" -> "checkout-is-down"; at most `max_length` bytes, never empty.
std::string slugify(std::string_view text, std::size_t max_length);

// 2026-11-23T10:30:18Z (seconds precision, UTC): what the post-mortem and exports show.
std::string format_time(Timestamp at);
// The inverse of format_time, and RFC 3339 with a zone as monitoring sends it:
// 2021-10-12T09:51:03.157076+02:00 (fractions beyond milliseconds are dropped). Go's zero
// time 0001-01-01T00:00:00Z parses.
std::optional<Timestamp> parse_time(std::string_view text);
// "1h 05m", "3d 2h", "45s"
std::string format_duration(Timestamp from, Timestamp to);
// Accepts a real calendar date in the form YYYY-MM-DD.
bool is_valid_date(std::string_view text);
// YYYY-MM-DD and HH:MM (UTC) as a time; none unless both are real.
std::optional<Timestamp> parse_utc_minute(std::string_view date, std::string_view hhmm);
// Characters (code points) of valid UTF-8 text.
std::size_t utf8_length(std::string_view text);

// "@bob", "<@U123|bob>" (Slack's escaped form) and "<@U123>" name a person.
std::optional<Actor> parse_mention(std::string_view word);
// Whether `owner` (an action item's "@name" or "<@U123|name>") names `who`: same platform id,
// or the same display name in any case.
bool mentions(std::string_view owner, const Actor& who);

}  // namespace incident

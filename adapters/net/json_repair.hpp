#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace incident::net {

// `text` with every string escape that strict JSON parsers (nlohmann) reject replaced by
// \ufffd (U+FFFD, the replacement character): a lone UTF-16 surrogate (\ud800 without a low
// half after it, or a low half alone), an unknown escape (\x), a \u without four hex digits.
// Raw control characters inside strings are escaped (\u0001). Everything else, structure
// errors included, is left as it is. `repaired` is set to the number of changes.
std::string repair_json_strings(std::string_view text, std::size_t& repaired);

// parse_json(text), and when that fails, parse_json of repair_json_strings(text): a
// discarded value when neither reads. `repaired` counts the escapes replaced (0 when the
// text was valid as it was).
nlohmann::json parse_json_repairing(std::string_view text, std::size_t& repaired);

// The value of the first "key": "value" pair in `text`, found without parsing (for a frame
// that is not valid JSON). Nullopt when absent or when the value is not a plain string.
std::optional<std::string> find_string_field(std::string_view text, std::string_view key);

// What a parse error of nlohmann says, without the input it quotes ("last read: ..."),
// which may be part of a message: "syntax error while parsing value - invalid string: ...".
std::string describe_json_error(std::string_view text);

}  // namespace incident::net

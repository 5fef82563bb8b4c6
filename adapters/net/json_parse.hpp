#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace incident::net {

// json::parse(text, nullptr, false), faster: simdjson reads the document and the value is
// built from it, so the DOM is nlohmann's as before. What simdjson refuses (invalid JSON, a
// byte-order mark, numbers out of range) is read by nlohmann, so the result, a discarded value
// included, is always the one nlohmann's parser gives, of the same types, but for -0: an
// unsigned 0 here, a signed one there (an equal value).
nlohmann::json parse_json(std::string_view text);

}  // namespace incident::net

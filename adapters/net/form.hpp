#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace incident::net {

using FormFields = std::vector<std::pair<std::string, std::string>>;

// Decodes percent-encoding, with '+' as a space unless `plus_is_space` is false (a path);
// nullopt for a malformed escape.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space = true);

// application/x-www-form-urlencoded (and query strings): nullopt when any part is malformed.
std::optional<FormFields> parse_form(std::string_view body);

// The first value of `name`, if present.
std::optional<std::string> form_value(const FormFields& fields, std::string_view name);

// Every byte but the unreserved ones (RFC 3986) as %XX; with `keep_slash`, '/' too stays.
std::string percent_encode(std::string_view text, bool keep_slash = false);
std::string encode_form(const FormFields& fields);

}  // namespace incident::net

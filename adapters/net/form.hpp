#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace incident::net {

using FormFields = std::vector<std::pair<std::string, std::string>>;

// Decodes percent-encoding with '+' as a space; nullopt for a malformed escape.
std::optional<std::string> percent_decode(std::string_view text);

// application/x-www-form-urlencoded (and query strings): nullopt when any part is malformed.
std::optional<FormFields> parse_form(std::string_view body);

// The first value of `name`, if present.
std::optional<std::string> form_value(const FormFields& fields, std::string_view name);

std::string percent_encode(std::string_view text);
std::string encode_form(const FormFields& fields);

}  // namespace incident::net

#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

namespace incident::web {

// The request itself is wrong (bad encoding, bad filter value): answered with 400 and the
// message, which says what is wrong and so must never quote a secret.
class BadRequest : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct Target {
    std::string path;   // percent-decoded
    std::string query;  // raw, after '?'
};

// Splits an origin-form target ("/path?query"). Throws BadRequest.
Target split_target(std::string_view target);

// Strict: "%" must be followed by two hex digits, the result must be UTF-8 without NUL.
// Throws BadRequest.
std::string percent_decode(std::string_view text, bool plus_is_space);

// For a query component or a form field value.
std::string percent_encode(std::string_view text);

// application/x-www-form-urlencoded: "a=1&b=two+words". A name given twice is an error.
// Throws BadRequest.
std::map<std::string, std::string> parse_query(std::string_view query);

}  // namespace incident::web

#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace incident::net {

struct HttpResponse;

// A Retry-After value in delay-seconds form ("30"). Dates and anything else
// yield nullopt; huge values are clamped to a day.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value);

// The response's Retry-After header, parsed as above.
std::optional<std::chrono::seconds> retry_after(const HttpResponse& response);

}  // namespace incident::net

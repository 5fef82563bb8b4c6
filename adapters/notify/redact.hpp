#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

namespace incident::notify {

// A receiver's or mail server's own words, fit to be logged, stored with an outbox entry and
// shown on the dashboard: on one line, at most `max_bytes` bytes of UTF-8, and with every
// non-empty `secrets` (a password, a webhook secret, a URL that holds a token) replaced by
// "[redacted]" before anything is cut, so no part of one survives.
std::string server_words(std::string_view text, std::initializer_list<std::string_view> secrets,
                         std::size_t max_bytes = 300);

}  // namespace incident::notify

#pragma once

#include <string>
#include <string_view>

#include "bot/types.hpp"

namespace incident::web {

// Escapes & < > " ' for element text and quoted attribute values (HTML and SVG alike).
std::string html_escape(std::string_view text);

std::string_view severity_colour(Severity severity);
std::string severity_badge(Severity severity);
std::string state_badge(State state);

struct Chrome {
    bool logout = false;  // a token is configured: offer "Log out"
    std::string person;   // signed in through `/incident login`: "@alice (slack)"; offers it too
    std::string replica;  // "replica web-1 · leads reminders": which of several processes answered
};

// <time datetime="...">2026-11-23T10:00:00Z</time>
std::string time_html(Timestamp at);

// A whole page: header with navigation, the inline stylesheet, `body_html` in <main>.
std::string page(std::string_view title, std::string_view body_html, const Chrome& chrome);

}  // namespace incident::web

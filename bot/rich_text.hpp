#pragma once

#include <string>
#include <string_view>

namespace incident {

// The text the domain writes for people marks emphasis one way, as Slack's mrkdwn does:
// *INC-1*, is now *identified*. Each adapter renders it in its own syntax: Slack as it is,
// Mattermost as Markdown (**INC-1**), the console as plain text (INC-1).
//
// Replaces each *emphasis* (an asterisk after a boundary, text without a line break, an
// asterisk before a boundary) with open + text + close; other asterisks (a**b, 2 * 3, **x**)
// stay as they are.
std::string render_emphasis(std::string_view text, std::string_view open, std::string_view close);

}  // namespace incident

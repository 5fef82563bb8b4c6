#pragma once

#include <string>
#include <string_view>

#include "bot/status_page.hpp"

namespace incident::web {

// The public status page in its three forms. Only what `status` holds is shown: it comes
// from bot/status_page.hpp, which reads nothing but what a person published.
std::string status_html(const PublicStatus& status, std::string_view title, Timestamp now);
std::string status_json(const PublicStatus& status, std::string_view title);
// Atom (RFC 4287): one entry per published message. `base` is the bot's public URL
// (INCIDENT_BOT_PUBLIC_URL) for ids and links; without one, ids are URNs and links relative.
std::string status_atom(const PublicStatus& status, std::string_view title, std::string_view base);

// Element text and attribute values for XML 1.0: escaped, and the control characters that
// XML cannot carry at all dropped.
std::string xml_escape(std::string_view text);

}  // namespace incident::web

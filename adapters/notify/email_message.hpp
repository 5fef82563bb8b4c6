#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "bot/events.hpp"

namespace incident::notify {

// Stakeholders get email for these only: the start, the end, and the post-mortem link.
bool emails_about(NotifyKind kind);

// "[INC-7 SEV2] Checkout returns 502s: resolved" (the final severity once there is one).
std::string email_subject(const Notify& event);
// Plain text, LF line ends, with the dashboard links when INCIDENT_BOT_PUBLIC_URL is set.
std::string email_body(const Notify& event);

// "Incident Bot <bot@example.com>" -> "bot@example.com"; a bare address stays as it is.
std::string address_of(std::string_view from);

// The whole message as it goes after DATA: RFC 5322 headers, CRLF line ends, non-ASCII
// subjects as RFC 2047 encoded words, the body as 7bit when it can be and base64 otherwise.
std::string email_message(const Notify& event, std::string_view from,
                          const std::vector<std::string>& to, std::string_view message_id);

}  // namespace incident::notify

#include "adapters/notify/email_message.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "bot/text.hpp"

namespace incident::notify {

namespace {

constexpr std::size_t k_max_line = 998;  // RFC 5322, without the CRLF

bool is_ascii(std::string_view text) {
    for (const unsigned char c : text) {
        if (c >= 0x80) return false;
    }
    return true;
}

// Titles are validated chat text, but a header must never get a line break from data.
std::string one_line(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c == '\r' || c == '\n' || c == '\t') c = ' ';
    }
    return out;
}

std::string base64(std::string_view data) {
    static constexpr char k_alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < data.size(); i += 3) {
        const unsigned n = static_cast<unsigned char>(data[i]) << 16 |
                           static_cast<unsigned char>(data[i + 1]) << 8 |
                           static_cast<unsigned char>(data[i + 2]);
        out += k_alphabet[n >> 18 & 63];
        out += k_alphabet[n >> 12 & 63];
        out += k_alphabet[n >> 6 & 63];
        out += k_alphabet[n & 63];
    }
    if (i < data.size()) {
        unsigned n = static_cast<unsigned char>(data[i]) << 16;
        if (i + 1 < data.size()) n |= static_cast<unsigned char>(data[i + 1]) << 8;
        out += k_alphabet[n >> 18 & 63];
        out += k_alphabet[n >> 12 & 63];
        out += i + 1 < data.size() ? k_alphabet[n >> 6 & 63] : '=';
        out += '=';
    }
    return out;
}

// RFC 2047 B encoding, split between UTF-8 characters so each word stays under 76 bytes.
std::string encode_header(std::string_view text) {
    if (is_ascii(text)) return std::string(text);
    constexpr std::size_t k_chunk = 45;  // 60 base64 characters per word
    std::string out;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = std::min(start + k_chunk, text.size());
        while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
        if (!out.empty()) out += "\r\n ";
        out += "=?UTF-8?B?" + base64(text.substr(start, end - start)) + "?=";
        start = end;
    }
    return out;
}

std::string event_words(NotifyKind kind) {
    switch (kind) {
        case NotifyKind::postmortem_published:
            return "post-mortem published";
        case NotifyKind::severity:
            return "severity changed";
        default:
            return std::string(to_string(kind));
    }
}

std::string rfc5322_date(Timestamp at) {
    using namespace std::chrono;
    const sys_seconds seconds{duration_cast<std::chrono::seconds>(milliseconds(at))};
    const sys_days day = floor<days>(seconds);
    const year_month_day ymd{day};
    const hh_mm_ss time{seconds - day};
    static constexpr const char* k_weekdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* k_months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%s, %02u %s %d %02d:%02d:%02d +0000",
                  k_weekdays[weekday{day}.c_encoding()], static_cast<unsigned>(ymd.day()),
                  k_months[static_cast<unsigned>(ymd.month()) - 1], static_cast<int>(ymd.year()),
                  static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                  static_cast<int>(time.seconds().count()));
    return buffer;
}

std::string crlf(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 40);
    for (const char c : text) {
        if (c == '\r') continue;
        if (c == '\n') out += '\r';
        out += c;
    }
    return out;
}

bool fits_7bit(std::string_view body) {
    if (!is_ascii(body)) return false;
    std::size_t line = 0;
    for (const char c : body) {
        line = c == '\n' ? 0 : line + 1;
        if (line > k_max_line || c == '\0') return false;
    }
    return true;
}

}  // namespace

bool emails_about(NotifyKind kind) {
    return kind == NotifyKind::declared || kind == NotifyKind::resolved ||
           kind == NotifyKind::postmortem_published;
}

std::string email_subject(const Notify& event) {
    const Severity severity = event.final_severity.value_or(event.severity);
    return "[" + event.key + " " + std::string(to_string(severity)) + "] " + one_line(event.title) +
           ": " + event_words(event.kind);
}

std::string email_body(const Notify& event) {
    std::string body = event.key + ": " + event.title + "\n\n";
    body += event.text + "\n\n";
    body += "Severity: " + std::string(to_string(event.severity)) + " (" +
            std::string(describe(event.severity)) + ")";
    if (event.final_severity) {
        body += ", final " + std::string(to_string(*event.final_severity)) + " (" +
                std::string(describe(*event.final_severity)) + ")";
    }
    body += "\nState: " + std::string(to_string(event.state)) + "\n";
    body += "Time: " + format_time(event.at) + "\n";
    if (!event.channel_name.empty()) {
        body += "Incident channel: #" + event.channel_name + " (" + event.platform + ")\n";
    }
    if (!event.link.empty()) {
        body += "\nIncident page: " + event.link + "\n";
        if (!event.postmortem_link.empty()) {
            body += "Post-mortem (published, permanent link): " + event.postmortem_link + "\n";
        } else if (event.kind != NotifyKind::declared) {
            body += "Post-mortem: " + event.link + "/postmortem\n";
        }
    }
    body += "\n-- \nincident-bot: you get this because you are an incident stakeholder.\n";
    return body;
}

std::string address_of(std::string_view from) {
    const auto open = from.rfind('<');
    const auto close = from.rfind('>');
    if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
        return std::string(trim(from));
    }
    return std::string(trim(from.substr(open + 1, close - open - 1)));
}

std::string email_message(const Notify& event, std::string_view from,
                          const std::vector<std::string>& to, std::string_view message_id) {
    std::string to_line;
    for (const auto& address : to) to_line += (to_line.empty() ? "" : ",\r\n ") + address;
    const std::string body = email_body(event);
    const bool plain = fits_7bit(body);
    std::string message;
    message += "From: " + one_line(from) + "\r\n";
    message += "To: " + to_line + "\r\n";
    message += "Subject: " + encode_header(email_subject(event)) + "\r\n";
    message += "Date: " + rfc5322_date(event.at) + "\r\n";
    message += "Message-ID: <" + std::string(message_id) + ">\r\n";
    message += "MIME-Version: 1.0\r\n";
    message += "Content-Type: text/plain; charset=UTF-8\r\n";
    message += std::string("Content-Transfer-Encoding: ") + (plain ? "7bit" : "base64") + "\r\n";
    message += "Auto-Submitted: auto-generated\r\n";
    message += "X-Incident-Bot-Event: " + std::string(to_string(event.kind)) + "\r\n";
    message += "\r\n";
    if (plain) {
        message += crlf(body);
    } else {
        const std::string encoded = base64(body);
        for (std::size_t i = 0; i < encoded.size(); i += 76) {
            message += encoded.substr(i, 76) + "\r\n";
        }
    }
    return message;
}

}  // namespace incident::notify

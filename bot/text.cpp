#include "bot/text.hpp"

#include <chrono>
#include <cstdio>

namespace incident {

std::string to_lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

std::string_view trim(std::string_view text) {
    const auto is_space = [](char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
    };
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
    return text;
}

std::vector<std::string_view> split_words(std::string_view text) {
    std::vector<std::string_view> words;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n')) ++i;
        const std::size_t start = i;
        while (i < text.size() && text[i] != ' ' && text[i] != '\t' && text[i] != '\n') ++i;
        if (i > start) words.push_back(text.substr(start, i - start));
    }
    return words;
}

bool is_valid_utf8(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        std::size_t extra = 0;
        char32_t code = 0;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            extra = 1;
            code = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2;
            code = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            extra = 3;
            code = c & 0x07;
        } else {
            return false;
        }
        if (i + extra >= text.size()) return false;
        for (std::size_t k = 1; k <= extra; ++k) {
            const auto cc = static_cast<unsigned char>(text[i + k]);
            if ((cc & 0xC0) != 0x80) return false;
            code = (code << 6) | (cc & 0x3F);
        }
        // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
        static constexpr char32_t k_min[] = {0, 0x80, 0x800, 0x10000};
        if (code < k_min[extra] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
            return false;
        }
        i += extra + 1;
    }
    return true;
}

std::string slugify(std::string_view text, std::size_t max_length) {
    std::string slug;
    bool dash = false;
    for (const char raw : text) {
        const char c = (raw >= 'A' && raw <= 'Z') ? static_cast<char>(raw - 'A' + 'a') : raw;
        const bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (keep) {
            if (dash && !slug.empty()) slug += '-';
            dash = false;
            if (slug.size() >= max_length) break;
            slug += c;
        } else {
            dash = true;
        }
    }
    if (slug.size() > max_length) slug.resize(max_length);
    while (!slug.empty() && slug.back() == '-') slug.pop_back();
    return slug.empty() ? std::string("incident") : slug;
}

std::string format_time(Timestamp at) {
    using namespace std::chrono;
    const sys_seconds secs{duration_cast<seconds>(milliseconds{at})};
    const auto day = floor<days>(secs);
    const year_month_day ymd{day};
    const hh_mm_ss hms{secs - day};
    char buf[64];  // room for any long, so no truncation is possible
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02ldZ", int(ymd.year()),
                  unsigned(ymd.month()), unsigned(ymd.day()), long(hms.hours().count()),
                  long(hms.minutes().count()), long(hms.seconds().count()));
    return buf;
}

std::string format_duration(Timestamp from, Timestamp to) {
    long long secs = (to - from) / 1000;
    if (secs < 0) secs = 0;
    const long long d = secs / 86400, h = secs % 86400 / 3600, m = secs % 3600 / 60, s = secs % 60;
    char buf[48];
    if (d > 0) {
        std::snprintf(buf, sizeof buf, "%lldd %lldh", d, h);
    } else if (h > 0) {
        std::snprintf(buf, sizeof buf, "%lldh %02lldm", h, m);
    } else if (m > 0) {
        std::snprintf(buf, sizeof buf, "%lldm %02llds", m, s);
    } else {
        std::snprintf(buf, sizeof buf, "%llds", s);
    }
    return buf;
}

bool is_valid_date(std::string_view text) {
    if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
    for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
        if (text[i] < '0' || text[i] > '9') return false;
    }
    const auto num = [&](std::size_t pos, std::size_t len) {
        int v = 0;
        for (std::size_t i = pos; i < pos + len; ++i) v = v * 10 + (text[i] - '0');
        return v;
    };
    using namespace std::chrono;
    const year_month_day ymd{year{num(0, 4)}, month{unsigned(num(5, 2))}, day{unsigned(num(8, 2))}};
    return ymd.ok();
}

}  // namespace incident

#include "bot/text.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "bot/people.hpp"

namespace incident {

std::string to_lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

std::string clip_for_display(std::string_view text, std::size_t max_chars) {
    // Continuation bytes (10xxxxxx) do not start a character.
    const auto starts_char = [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; };
    std::size_t chars = 0;
    std::size_t cut = text.size();
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (!starts_char(text[i])) continue;
        if (chars == max_chars) cut = i;
        ++chars;
    }
    if (chars <= max_chars) return std::string(text);
    return std::string(text.substr(0, cut)) + "… (" + std::to_string(chars - max_chars) +
           " more characters, see the JSON export)";
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

std::vector<std::string> split_list(std::string_view text, char separator) {
    std::vector<std::string> items;
    std::size_t start = 0;
    while (start <= text.size()) {
        const auto end = std::min(text.find(separator, start), text.size());
        const std::string_view item = trim(text.substr(start, end - start));
        if (!item.empty()) items.emplace_back(item);
        start = end + 1;
    }
    return items;
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

std::string truncate_utf8(std::string_view text, std::size_t max_bytes) {
    if (text.size() <= max_bytes) return std::string(text);
    constexpr std::string_view k_ellipsis = "…";
    if (max_bytes < k_ellipsis.size()) return std::string();
    std::size_t end = max_bytes - k_ellipsis.size();
    // Back to the first byte of a character: continuation bytes are 10xxxxxx.
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    return std::string(text.substr(0, end)) + std::string(k_ellipsis);
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

std::optional<Timestamp> parse_time(std::string_view t) {
    std::size_t at = 0;
    const auto digits = [&](std::size_t count) -> std::optional<int> {
        if (at + count > t.size()) return std::nullopt;
        int value = 0;
        for (std::size_t i = 0; i < count; ++i) {
            const char c = t[at + i];
            if (c < '0' || c > '9') return std::nullopt;
            value = value * 10 + (c - '0');
        }
        at += count;
        return value;
    };
    const auto expect = [&](char c) {
        if (at >= t.size() || (t[at] != c && !(c == 'T' && (t[at] == 't' || t[at] == ' ')))) {
            return false;
        }
        ++at;
        return true;
    };
    const auto y = digits(4);
    if (!y || !expect('-')) return std::nullopt;
    const auto mo = digits(2);
    if (!mo || !expect('-')) return std::nullopt;
    const auto d = digits(2);
    if (!d || !expect('T')) return std::nullopt;
    const auto h = digits(2);
    if (!h || !expect(':')) return std::nullopt;
    const auto mi = digits(2);
    if (!mi || !expect(':')) return std::nullopt;
    const auto sec = digits(2);
    if (!sec || *h > 23 || *mi > 59 || *sec > 60) return std::nullopt;
    using namespace std::chrono;
    const year_month_day ymd{year{*y}, month{unsigned(*mo)}, day{unsigned(*d)}};
    if (!ymd.ok()) return std::nullopt;
    Timestamp ms = 0;
    if (at < t.size() && t[at] == '.') {
        ++at;
        int scale = 100;
        const std::size_t first = at;
        while (at < t.size() && t[at] >= '0' && t[at] <= '9') {
            ms += (t[at] - '0') * scale;
            scale /= 10;
            ++at;
        }
        if (at == first) return std::nullopt;
    }
    Timestamp offset_minutes = 0;
    if (at < t.size() && (t[at] == 'Z' || t[at] == 'z')) {
        ++at;
    } else if (at < t.size() && (t[at] == '+' || t[at] == '-')) {
        const int sign = t[at] == '-' ? -1 : 1;
        ++at;
        const auto oh = digits(2);
        if (!oh || !expect(':')) return std::nullopt;
        const auto om = digits(2);
        if (!om || *oh > 23 || *om > 59) return std::nullopt;
        offset_minutes = sign * (*oh * 60 + *om);
    } else {
        return std::nullopt;  // a time without a zone is ambiguous
    }
    if (at != t.size()) return std::nullopt;
    const Timestamp day_ms = duration_cast<milliseconds>(sys_days{ymd}.time_since_epoch()).count();
    return day_ms + ((*h * 60 + *mi) * 60 + std::min(*sec, 59)) * Timestamp{1000} + ms -
           offset_minutes * 60'000;
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

namespace {

// YYYY-MM-DD as a calendar date, none unless it is a real one.
std::optional<std::chrono::year_month_day> parse_date(std::string_view text) {
    if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
    for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
        if (text[i] < '0' || text[i] > '9') return std::nullopt;
    }
    const auto num = [&](std::size_t pos, std::size_t len) {
        int v = 0;
        for (std::size_t i = pos; i < pos + len; ++i) v = v * 10 + (text[i] - '0');
        return v;
    };
    using namespace std::chrono;
    const year_month_day ymd{year{num(0, 4)}, month{unsigned(num(5, 2))}, day{unsigned(num(8, 2))}};
    if (!ymd.ok()) return std::nullopt;
    return ymd;
}

}  // namespace

bool is_valid_date(std::string_view text) {
    return parse_date(text).has_value();
}

std::optional<Actor> parse_mention(std::string_view word) {
    if (word.starts_with("<@") && word.ends_with(">") && word.size() > 3) {
        const std::string_view inner = word.substr(2, word.size() - 3);
        const auto bar = inner.find('|');
        if (bar == std::string_view::npos) return Actor{std::string(inner), std::string(inner)};
        if (bar == 0 || bar + 1 >= inner.size()) return std::nullopt;
        return Actor{std::string(inner.substr(0, bar)), std::string(inner.substr(bar + 1))};
    }
    if (word.size() > 1 && word[0] == '@') {
        std::string_view name = word.substr(1);
        while (!name.empty() && (name.back() == ',' || name.back() == '.')) name.remove_suffix(1);
        if (name.empty()) return std::nullopt;
        return Actor{std::string(name), std::string(name)};
    }
    return std::nullopt;
}

bool mentions(std::string_view owner, const Actor& who) {
    const auto named = parse_mention(owner);
    return named && same_person(*named, who);
}

std::size_t utf8_length(std::string_view text) {
    std::size_t count = 0;
    for (const char c : text) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    return count;
}

std::optional<Timestamp> parse_utc_minute(std::string_view date, std::string_view hhmm) {
    const auto ymd = parse_date(date);
    if (!ymd || hhmm.size() != 5 || hhmm[2] != ':') return std::nullopt;
    for (std::size_t i : {0, 1, 3, 4}) {
        if (hhmm[i] < '0' || hhmm[i] > '9') return std::nullopt;
    }
    const int hours = (hhmm[0] - '0') * 10 + (hhmm[1] - '0');
    const int minutes = (hhmm[3] - '0') * 10 + (hhmm[4] - '0');
    if (hours > 23 || minutes > 59) return std::nullopt;
    using namespace std::chrono;
    const auto at = sys_days{*ymd} + std::chrono::hours{hours} + std::chrono::minutes{minutes};
    return duration_cast<milliseconds>(at.time_since_epoch()).count();
}

}  // namespace incident

#include "adapters/net/json_repair.hpp"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "adapters/net/json_parse.hpp"

namespace incident::net {

namespace {

std::optional<unsigned> hex4(std::string_view text, std::size_t at) {
    if (at + 4 > text.size()) return std::nullopt;
    unsigned value = 0;
    for (std::size_t i = at; i < at + 4; ++i) {
        const char c = text[i];
        value <<= 4;
        if (c >= '0' && c <= '9') {
            value |= static_cast<unsigned>(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            value |= static_cast<unsigned>(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            value |= static_cast<unsigned>(c - 'A' + 10);
        } else {
            return std::nullopt;
        }
    }
    return value;
}

bool is_high_surrogate(unsigned cp) {
    return cp >= 0xD800 && cp <= 0xDBFF;
}
bool is_low_surrogate(unsigned cp) {
    return cp >= 0xDC00 && cp <= 0xDFFF;
}

constexpr std::string_view k_replacement = "\\ufffd";

}  // namespace

std::string repair_json_strings(std::string_view text, std::size_t& repaired) {
    repaired = 0;
    std::string out;
    out.reserve(text.size());
    bool in_string = false;
    std::size_t i = 0;
    while (i < text.size()) {
        const char c = text[i];
        if (!in_string || c == '"') {
            in_string = in_string ? false : c == '"';
            out += c;
            ++i;
            continue;
        }
        if (static_cast<unsigned char>(c) < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
            out += escaped;
            ++repaired;
            ++i;
            continue;
        }
        if (c != '\\') {
            out += c;
            ++i;
            continue;
        }
        if (i + 1 >= text.size()) {  // a backslash ending the text: nothing to repair
            out += c;
            ++i;
            continue;
        }
        const char kind = text[i + 1];
        if (std::string_view("\"\\/bfnrt").find(kind) != std::string_view::npos) {
            out.append(text.substr(i, 2));
            i += 2;
            continue;
        }
        const auto cp = kind == 'u' ? hex4(text, i + 2) : std::nullopt;
        if (!cp) {  // \x, or \u without four hex digits: the two characters go
            out += k_replacement;
            ++repaired;
            i += 2;
            continue;
        }
        if (is_high_surrogate(*cp)) {
            const bool paired = i + 12 <= text.size() && text[i + 6] == '\\' &&
                                text[i + 7] == 'u' && hex4(text, i + 8) &&
                                is_low_surrogate(*hex4(text, i + 8));
            if (paired) {
                out.append(text.substr(i, 12));
                i += 12;
                continue;
            }
        }
        if (is_high_surrogate(*cp) || is_low_surrogate(*cp)) {
            out += k_replacement;
            ++repaired;
            i += 6;
            continue;
        }
        out.append(text.substr(i, 6));
        i += 6;
    }
    return out;
}

nlohmann::json parse_json_repairing(std::string_view text, std::size_t& repaired) {
    repaired = 0;
    nlohmann::json j = parse_json(text);
    if (!j.is_discarded()) return j;
    const std::string fixed = repair_json_strings(text, repaired);
    if (repaired == 0) return j;
    return nlohmann::json::parse(fixed, nullptr, false);
}

std::optional<std::string> find_string_field(std::string_view text, std::string_view key) {
    const std::string quoted = "\"" + std::string(key) + "\"";
    const auto at = text.find(quoted);
    if (at == std::string_view::npos) return std::nullopt;
    std::size_t i = at + quoted.size();
    const auto skip_space = [&] {
        while (i < text.size() &&
               (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) {
            ++i;
        }
    };
    skip_space();
    if (i >= text.size() || text[i] != ':') return std::nullopt;
    ++i;
    skip_space();
    if (i >= text.size() || text[i] != '"') return std::nullopt;
    const auto end = text.find('"', i + 1);
    if (end == std::string_view::npos) return std::nullopt;
    const std::string_view value = text.substr(i + 1, end - i - 1);
    if (value.find('\\') != std::string_view::npos) return std::nullopt;
    return std::string(value);
}

std::string describe_json_error(std::string_view text) {
    try {
        (void)nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        std::string what = e.what();
        if (const auto quote = what.find("; last read"); quote != std::string::npos) {
            what.erase(quote);
        }
        if (const auto start = what.find("] "); start != std::string::npos)
            what.erase(0, start + 2);
        return what;
    } catch (const std::exception& e) {
        return e.what();
    }
    return "valid JSON";
}

}  // namespace incident::net

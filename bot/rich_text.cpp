#include "bot/rich_text.hpp"

namespace incident {

std::string render_emphasis(std::string_view text, std::string_view open, std::string_view close) {
    const auto boundary = [](char c) {
        return c == ' ' || c == '\n' || c == '\t' || c == '(' || c == ')' || c == ',' || c == '.' ||
               c == ':' || c == ';' || c == '!' || c == '?' || c == '"' || c == '\'';
    };
    std::string out;
    out.reserve(text.size() + 8);
    std::size_t i = 0;
    while (i < text.size()) {
        const char c = text[i];
        const bool opens = c == '*' && (i == 0 || boundary(text[i - 1])) && i + 1 < text.size() &&
                           text[i + 1] != '*' && text[i + 1] != ' ' && text[i + 1] != '\n';
        if (opens) {
            std::size_t end = i + 1;
            while (end < text.size() && text[end] != '*' && text[end] != '\n') ++end;
            const bool closes = end < text.size() && text[end] == '*' && text[end - 1] != ' ' &&
                                (end + 1 == text.size() || boundary(text[end + 1]));
            if (closes) {
                out += open;
                out.append(text.substr(i + 1, end - i - 1));
                out += close;
                i = end + 1;
                continue;
            }
        }
        if (c == '*') {
            // A run of asterisks is copied as it is: ** is already Markdown bold.
            while (i < text.size() && text[i] == '*') out += text[i++];
            continue;
        }
        out += c;
        ++i;
    }
    return out;
}

}  // namespace incident

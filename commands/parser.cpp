#include "commands/parser.hpp"

#include <algorithm>
#include <charconv>

#include "bot/text.hpp"

namespace incident::commands {

Args::Args(std::string_view text) : text_(trim(text)) {
    const std::string_view all(text_);
    for (const std::string_view w : split_words(all)) {
        words_.push_back(Word{static_cast<std::size_t>(w.data() - all.data()), w.size()});
    }
}

std::string_view Args::rest(std::size_t i) const {
    if (i >= words_.size()) return {};
    return trim(std::string_view(text_).substr(words_[i].offset));
}

ParsedLine split_command(std::string_view text) {
    const Args args(text);
    if (args.empty()) return {};
    return ParsedLine{to_lower(args[0]), std::string(args.rest(1))};
}

std::optional<int> parse_positive_int(std::string_view word) {
    int value = 0;
    const auto [end, error] = std::from_chars(word.data(), word.data() + word.size(), value);
    if (error != std::errc{} || end != word.data() + word.size() || value <= 0) {
        return std::nullopt;
    }
    return value;
}

}  // namespace incident::commands

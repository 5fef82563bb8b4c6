#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bot/spelling.hpp"
#include "bot/text.hpp"
#include "bot/types.hpp"

namespace incident::commands {

// The words of a command after its name, with access to the raw remainder for free text
// (titles, notes) so that spacing inside them is kept.
class Args {
public:
    explicit Args(std::string_view text = {});

    bool empty() const { return words_.empty(); }
    std::size_t size() const { return words_.size(); }
    std::string_view operator[](std::size_t i) const {
        return std::string_view(text_).substr(words_.at(i).offset, words_.at(i).length);
    }
    // Everything from word `i` to the end, as typed; empty when i >= size().
    std::string_view rest(std::size_t i) const;
    // Drops the first word.
    Args shifted() const { return Args(rest(1)); }

private:
    // Offsets, not views: Args is copied and a view would dangle into the old copy.
    struct Word {
        std::size_t offset;
        std::size_t length;
    };
    std::string text_;
    std::vector<Word> words_;
};

struct ParsedLine {
    std::string name;  // lower-cased subcommand, empty for a blank line
    std::string rest;  // the arguments as typed
};
ParsedLine split_command(std::string_view text);

// "@bob", "<@U123|bob>" (Slack's escaped form) and "<@U123>" name a person (bot/text.hpp).
using incident::parse_mention;
std::optional<int> parse_positive_int(std::string_view word);

// Edit distance for "did you mean" suggestions (bot/spelling.hpp).
using incident::edit_distance;

}  // namespace incident::commands

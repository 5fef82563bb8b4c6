#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "bot/todo_grammar.hpp"
#include "fuzz_check.hpp"

using incident::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    const incident::TodoParse parsed = incident::parse_todo_body(text);
    require(parsed.spec.has_value() != !parsed.error.empty(), "a body parses or says why not");
    if (parsed.spec) {
        const std::string& owner = parsed.spec->owner;
        require(owner.empty() || owner.starts_with('@') || owner.starts_with("<@"),
                "an owner is a mention");
        require(!parsed.spec->due || parsed.spec->due->size() == 10, "a due date is YYYY-MM-DD");
    }

    for (const auto& item : incident::find_todos(text)) {
        require(!item.due || item.due->size() == 10, "a found item's due date is YYYY-MM-DD");
        require(item.text.size() <= text.size(), "an item's text comes from the message");
    }
    return 0;
}

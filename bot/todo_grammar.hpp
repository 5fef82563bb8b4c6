#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace incident {

// An action item as written in chat or in `/incident todo`.
struct TodoSpec {
    std::string text;
    std::string owner;               // "@name", empty when nobody was named
    std::optional<std::string> due;  // YYYY-MM-DD
};

// Reads owner and due date out of the item text: the first `@mention` is the owner and is
// kept in the text, `due:YYYY-MM-DD` is removed from it. An invalid date is an error.
struct TodoParse {
    std::optional<TodoSpec> spec;
    std::string error;
};
TodoParse parse_todo_body(std::string_view body);

// Every line of a chat message that starts with TODO (any case, optional ':'), as items.
// Lines with an invalid due date keep the text and drop the date.
std::vector<TodoSpec> find_todos(std::string_view message);

}  // namespace incident

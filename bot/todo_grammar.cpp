#include "bot/todo_grammar.hpp"

#include "bot/text.hpp"

namespace incident {

namespace {

bool is_mention(std::string_view word) {
    return (word.size() > 1 && word[0] == '@') || (word.starts_with("<@") && word.ends_with(">"));
}

// "TODO", "todo:", "ToDo :" followed by a separator; returns the rest of the line.
std::optional<std::string_view> todo_body(std::string_view line) {
    line = trim(line);
    if (line.size() < 4 || to_lower(line.substr(0, 4)) != "todo") return std::nullopt;
    std::string_view rest = line.substr(4);
    if (!rest.empty() && rest[0] != ':' && rest[0] != ' ' && rest[0] != '\t') {
        return std::nullopt;  // "todos", "todolist" are words, not markers
    }
    rest = trim(rest);
    if (!rest.empty() && rest[0] == ':') rest = trim(rest.substr(1));
    return rest;
}

}  // namespace

TodoParse parse_todo_body(std::string_view body) {
    TodoSpec spec;
    std::string text;
    for (const std::string_view word : split_words(body)) {
        if (to_lower(word.substr(0, std::min<std::size_t>(4, word.size()))) == "due:") {
            const std::string_view date = word.substr(4);
            if (!is_valid_date(date)) {
                return {std::nullopt, "`" + std::string(word) +
                                          "` is not a due date: write due:YYYY-MM-DD, "
                                          "e.g. due:2026-12-01."};
            }
            spec.due = std::string(date);
            continue;
        }
        if (spec.owner.empty() && is_mention(word)) spec.owner = std::string(word);
        if (!text.empty()) text += ' ';
        text += word;
    }
    if (text.empty()) return {std::nullopt, "The action item has no text: say what needs doing."};
    spec.text = std::move(text);
    return {std::move(spec), {}};
}

std::vector<TodoSpec> find_todos(std::string_view message) {
    std::vector<TodoSpec> todos;
    std::size_t start = 0;
    while (start <= message.size()) {
        std::size_t end = message.find('\n', start);
        if (end == std::string_view::npos) end = message.size();
        if (const auto body = todo_body(message.substr(start, end - start))) {
            TodoParse parsed = parse_todo_body(*body);
            if (!parsed.spec && !parsed.error.empty() && !trim(*body).empty()) {
                // Keep the words even when the date is wrong: losing the item is worse.
                parsed.spec = TodoSpec{std::string(trim(*body)), {}, std::nullopt};
                for (const auto word : split_words(*body)) {
                    if (is_mention(word)) {
                        parsed.spec->owner = std::string(word);
                        break;
                    }
                }
            }
            if (parsed.spec) todos.push_back(std::move(*parsed.spec));
        }
        start = end + 1;
    }
    return todos;
}

}  // namespace incident

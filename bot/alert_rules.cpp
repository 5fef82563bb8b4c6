#include "bot/alert_rules.hpp"

#include "bot/text.hpp"

namespace incident {

namespace {

bool valid_label(std::string_view name) {
    if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
    for (const char c : name) {
        const bool ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        if (!ok) return false;
    }
    return true;
}

// One `label<op>value`; the error says what is wrong with it.
std::optional<AlertRule::Matcher> parse_matcher(std::string_view text, std::string& error) {
    using Op = AlertRule::Matcher::Op;
    const auto at = text.find_first_of("=!");
    if (at == std::string_view::npos) {
        error = "`" + std::string(text) + "` is not label=value, !=, =~ or !~";
        return std::nullopt;
    }
    AlertRule::Matcher m;
    m.label = std::string(trim(text.substr(0, at)));
    std::size_t value_at = at + 1;
    if (text[at] == '!') {
        if (at + 1 >= text.size() || (text[at + 1] != '=' && text[at + 1] != '~')) {
            error = "`" + std::string(text) + "`: `!` must be followed by = or ~";
            return std::nullopt;
        }
        m.op = text[at + 1] == '=' ? Op::not_equal : Op::not_matches;
        value_at = at + 2;
    } else if (at + 1 < text.size() && text[at + 1] == '~') {
        m.op = Op::matches;
        value_at = at + 2;
    }
    if (!valid_label(m.label)) {
        error = "`" + m.label + "` is not a label name (letters, digits and _)";
        return std::nullopt;
    }
    m.value = std::string(trim(text.substr(value_at)));
    if (m.op == Op::matches || m.op == Op::not_matches) {
        try {
            m.pattern = std::make_shared<const std::regex>(m.value, std::regex::ECMAScript);
        } catch (const std::regex_error&) {
            error = "`" + m.value + "` is not a valid regular expression";
            return std::nullopt;
        }
    }
    return m;
}

std::optional<AlertRule> parse_rule(std::string_view text, std::string& error) {
    AlertRule rule;
    rule.text = std::string(text);
    const auto arrow = text.find("->");
    if (arrow == std::string_view::npos) {
        error = "no `->` between the labels and the action";
        return std::nullopt;
    }
    const std::string_view labels = trim(text.substr(0, arrow));
    if (labels.empty()) {
        error = "no labels before `->` (`*` matches every alert)";
        return std::nullopt;
    }
    if (labels != "*") {
        for (const std::string& part : split_list(labels, ',')) {
            auto matcher = parse_matcher(part, error);
            if (!matcher) return std::nullopt;
            rule.match.push_back(std::move(*matcher));
        }
    }
    const std::vector<std::string_view> words = split_words(text.substr(arrow + 2));
    const std::string action = words.empty() ? std::string() : to_lower(words[0]);
    if (action == "ignore" && words.size() == 1) {
        rule.action = AlertRule::Action::ignore;
    } else if (action == "announce" && words.size() == 1) {
        rule.action = AlertRule::Action::announce;
    } else if (action == "open" && words.size() <= 2) {
        rule.action = AlertRule::Action::open;
        if (words.size() == 2) {
            rule.severity = parse_severity(words[1]);
            if (!rule.severity) {
                error = "`" + std::string(words[1]) + "` is not a severity (sev1 to sev5)";
                return std::nullopt;
            }
        }
    } else {
        error = "the action must be `open`, `open sevN`, `announce` or `ignore`";
        return std::nullopt;
    }
    return rule;
}

}  // namespace

bool AlertRule::matches(const std::map<std::string, std::string>& labels) const {
    for (const Matcher& m : match) {
        const auto it = labels.find(m.label);
        const std::string value = it == labels.end() ? std::string() : it->second;
        bool holds = false;
        switch (m.op) {
            case Matcher::Op::equal:
                holds = value == m.value;
                break;
            case Matcher::Op::not_equal:
                holds = value != m.value;
                break;
            case Matcher::Op::matches:
                holds = std::regex_match(value, *m.pattern);
                break;
            case Matcher::Op::not_matches:
                holds = !std::regex_match(value, *m.pattern);
                break;
        }
        if (!holds) return false;
    }
    return true;
}

AlertRulesParse parse_alert_rules(std::string_view text) {
    AlertRulesParse out;
    int number = 0;
    for (const std::string& part : split_list(text, ';')) {
        const std::string_view rule_text = trim(part);
        if (rule_text.empty()) continue;
        ++number;
        std::string error;
        auto rule = parse_rule(rule_text, error);
        if (!rule) {
            out.error = "rule " + std::to_string(number) + " (`" + std::string(rule_text) +
                        "`): " + error + ".";
            out.rules.clear();
            return out;
        }
        out.rules.push_back(std::move(*rule));
    }
    return out;
}

const AlertRule* first_matching(const std::vector<AlertRule>& rules,
                                const std::map<std::string, std::string>& labels) {
    for (const AlertRule& rule : rules) {
        if (rule.matches(labels)) return &rule;
    }
    return nullptr;
}

}  // namespace incident

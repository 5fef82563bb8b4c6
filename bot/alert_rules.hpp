#pragma once

#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "bot/types.hpp"

namespace incident {

// What the operator's rules (INCIDENT_BOT_ALERT_RULES) do with an alert, before the default
// of opening or feeding the group's incident:
//   alertname=Watchdog -> ignore; env=staging -> announce; team=db, severity=~warn.* -> open sev4
// Rules are separated by `;` and tried in order; the first whose matchers all hold decides.
// A matcher is label=value, label!=value, label=~regex or label!~regex (the regular
// expression matches the whole value, as Alertmanager's do); `*` matches every alert. The
// actions: `open` (the default mapping of severities), `open sevN` (at that severity),
// `announce` (a line in the announcement channel, no incident) and `ignore`.
struct AlertRule {
    struct Matcher {
        enum class Op { equal, not_equal, matches, not_matches };
        std::string label;
        Op op = Op::equal;
        std::string value;
        std::shared_ptr<const std::regex> pattern;  // matches, not_matches
    };
    enum class Action { open, announce, ignore };

    std::vector<Matcher> match;  // all must hold; none: every alert
    Action action = Action::open;
    std::optional<Severity> severity;  // `open sevN`
    std::string text;                  // the rule as written

    // A missing label is the empty string, as in Alertmanager.
    bool matches(const std::map<std::string, std::string>& labels) const;
};

struct AlertRulesParse {
    std::vector<AlertRule> rules;
    std::string error;  // "rule 2 (`team=db -> open sev9`): ..."; empty when all are valid
};
AlertRulesParse parse_alert_rules(std::string_view text);

// The first rule that matches `labels`; nullptr when none does.
const AlertRule* first_matching(const std::vector<AlertRule>& rules,
                                const std::map<std::string, std::string>& labels);

}  // namespace incident

#include "adapters/web/filter.hpp"

#include "adapters/web/query.hpp"
#include "bot/text.hpp"

namespace incident::web {

namespace {

constexpr std::size_t k_max_query_text = 200;

}  // namespace

ListFilter ListFilter::parse(const std::map<std::string, std::string>& params) {
    ListFilter filter;
    if (const auto it = params.find("state"); it != params.end() && !it->second.empty()) {
        const std::string state = to_lower(it->second);
        if (state != "open" && state != "active" && state != "all" && !parse_state(state)) {
            throw BadRequest("Unknown state filter '" + it->second +
                             "': use open, active, all, investigating, identified, monitoring, "
                             "resolved, closed or merged.");
        }
        filter.state = state;
    }
    if (const auto it = params.find("severity"); it != params.end() && !it->second.empty()) {
        filter.severity = parse_severity(it->second);
        if (!filter.severity) {
            throw BadRequest("Unknown severity filter '" + it->second +
                             "': use SEV1, SEV2, SEV3, SEV4 or SEV5.");
        }
    }
    if (const auto it = params.find("q"); it != params.end()) {
        if (it->second.size() > k_max_query_text) {
            throw BadRequest("The search text is longer than " + std::to_string(k_max_query_text) +
                             " bytes.");
        }
        filter.q = std::string(trim(it->second));
    }
    return filter;
}

bool ListFilter::matches(const Incident& inc) const {
    if (state == "open" && (inc.state == State::closed || inc.state == State::merged)) {
        return false;
    }
    if (state == "active" && !inc.is_open()) return false;
    if (const auto wanted = parse_state(state); wanted && inc.state != *wanted) return false;
    if (severity && inc.final_severity.value_or(inc.severity) != *severity) return false;
    if (!q.empty()) {
        const std::string needle = to_lower(q);
        bool found = false;
        for (const std::string& hay : {inc.key(), inc.title, inc.summary, inc.channel_name}) {
            if (to_lower(hay).find(needle) != std::string::npos) {
                found = true;
                break;
            }
        }
        if (!found) return false;
    }
    return true;
}

std::string ListFilter::query_string() const {
    std::string out;
    const auto add = [&out](std::string_view name, std::string_view value) {
        out += (out.empty() ? "" : "&") + std::string(name) + "=" + percent_encode(value);
    };
    if (state != "open") add("state", state);
    if (severity) add("severity", to_string(*severity));
    if (!q.empty()) add("q", q);
    return out;
}

}  // namespace incident::web

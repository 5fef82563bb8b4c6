#pragma once

#include <map>
#include <optional>
#include <string>

#include "bot/types.hpp"

namespace incident::web {

// The filters of the incident list, shared by the page and the JSON API.
struct ListFilter {
    // open: not closed or merged (what `/incident list` shows); active: not yet resolved;
    // all; or one state name.
    std::string state = "open";
    std::optional<Severity> severity;  // the final severity once set, else the current one
    std::string q;                     // case-insensitive, in id, title, summary, channel

    // Throws BadRequest naming the parameter and the values it accepts.
    static ListFilter parse(const std::map<std::string, std::string>& params);

    bool include_closed() const { return state != "open" && state != "active"; }
    bool matches(const Incident& incident) const;
    std::string query_string() const;  // "state=all&severity=SEV2&q=..." (defaults left out)
};

}  // namespace incident::web

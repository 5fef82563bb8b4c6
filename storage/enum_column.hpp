#pragma once

#include <algorithm>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bot/types.hpp"

namespace incident {

// Enum columns are text so people can read them with the database's own client; a name
// this build does not know means the row was written by something else, and guessing
// would corrupt it further.
template <typename Parse>
auto parse_enum(const std::string& text, Parse parse, std::string_view column) {
    if (auto value = parse(text)) return *value;
    throw std::runtime_error("unknown value '" + text + "' in column " + std::string(column));
}

// Role order lives in C++, not in the text column; assignments keep their order within a
// role.
inline void sort_by_role(std::vector<RoleAssignment>& roles) {
    std::stable_sort(roles.begin(), roles.end(),
                     [](const RoleAssignment& a, const RoleAssignment& b) {
                         return static_cast<int>(a.role) < static_cast<int>(b.role);
                     });
}

}  // namespace incident

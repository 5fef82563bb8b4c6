#pragma once

#include <cstddef>

#include <nlohmann/json.hpp>

namespace incident::test {

// Equal values of equal JSON types, down to signed, unsigned and floating numbers; parse_json's
// one documented difference, -0 as an unsigned 0, counts as the same. The check that
// net::parse_json reads every text as nlohmann's json::parse does (unit test and fuzz target).
inline bool same_json(const nlohmann::json& a, const nlohmann::json& b) {
    if (a.is_number_integer() && b.is_number_integer() && a == 0 && b == 0) return true;
    if (a.type() != b.type()) return false;
    if (a.is_object()) {
        if (a.size() != b.size()) return false;
        for (auto it = a.begin(), jt = b.begin(); it != a.end(); ++it, ++jt) {
            if (it.key() != jt.key() || !same_json(*it, *jt)) return false;
        }
        return true;
    }
    if (a.is_array()) {
        if (a.size() != b.size()) return false;
        for (std::size_t i = 0; i < a.size(); ++i) {
            if (!same_json(a[i], b[i])) return false;
        }
        return true;
    }
    return a.is_discarded() || a == b;
}

}  // namespace incident::test

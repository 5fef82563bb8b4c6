#pragma once

#include <nlohmann/json.hpp>

namespace incident::testing {

// The shape of a JSON value: objects by their keys, arrays by their first element, and the
// type of everything else. Fakes of a SaaS API compare what the bot sends with the
// documented payloads of tests/protocol/ by it.
inline nlohmann::json shape_of(const nlohmann::json& value) {
    if (value.is_object()) {
        nlohmann::json out = nlohmann::json::object();
        for (const auto& [key, item] : value.items()) out[key] = shape_of(item);
        return out;
    }
    if (value.is_array())
        return value.empty() ? nlohmann::json::array()
                             : nlohmann::json::array({shape_of(value[0])});
    return value.type_name();
}

}  // namespace incident::testing

#include "adapters/alerts/json_fields.hpp"

#include "bot/text.hpp"

namespace incident::alerts {

std::string Fields::path(std::string_view where, std::string_view name) {
    return where.empty() ? std::string(name) : std::string(where) + "." + std::string(name);
}

std::string Fields::string(const nlohmann::json& object, std::string_view name,
                           std::string_view where, bool required) {
    if (!ok()) return {};
    const auto it = object.find(name);
    if (it == object.end() || it->is_null()) {
        if (required) fail(path(where, name) + " is missing");
        return {};
    }
    if (!it->is_string()) {
        fail(path(where, name) + " must be a string");
        return {};
    }
    std::string value = it->get<std::string>();
    if (required && trim(value).empty()) fail(path(where, name) + " is empty");
    return value;
}

std::string Fields::one_of(const nlohmann::json& object, std::string_view name,
                           std::string_view where,
                           std::initializer_list<std::string_view> allowed) {
    const std::string value = string(object, name, where, true);
    if (!ok()) return {};
    for (const auto a : allowed) {
        if (value == a) return value;
    }
    std::string list;
    for (const auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    fail(path(where, name) + " must be one of " + list + ", not `" + truncate_utf8(value, 40) +
         "`");
    return {};
}

std::map<std::string, std::string> Fields::string_map(const nlohmann::json& object,
                                                      std::string_view name, std::string_view where,
                                                      bool required) {
    std::map<std::string, std::string> out;
    const nlohmann::json* member = this->object(object, name, where, required);
    if (!member) return out;
    for (const auto& [key, value] : member->items()) {
        if (value.is_string()) {
            out[key] = value.get<std::string>();
        } else if (value.is_number() || value.is_boolean()) {
            out[key] = value.dump();
        } else if (!value.is_null()) {
            fail(path(path(where, name), key) + " must be a string");
            return {};
        }
    }
    return out;
}

std::optional<Timestamp> Fields::time(const nlohmann::json& object, std::string_view name,
                                      std::string_view where, bool required) {
    const std::string text = string(object, name, where, required);
    if (!ok() || text.empty()) return std::nullopt;
    const auto at = parse_time(text);
    if (!at)
        fail(path(where, name) + " is not an RFC 3339 time: `" + truncate_utf8(text, 40) + "`");
    return at;
}

const nlohmann::json* Fields::object(const nlohmann::json& object, std::string_view name,
                                     std::string_view where, bool required) {
    if (!ok()) return nullptr;
    const auto it = object.find(name);
    if (it == object.end() || it->is_null()) {
        if (required) fail(path(where, name) + " is missing");
        return nullptr;
    }
    if (!it->is_object()) {
        fail(path(where, name) + " must be an object");
        return nullptr;
    }
    return &*it;
}

}  // namespace incident::alerts

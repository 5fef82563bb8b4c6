#pragma once

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "bot/types.hpp"

namespace incident::alerts {

// Reads the fields of a webhook payload and keeps the first thing that is wrong, as a
// message naming the field ("alerts[1].startsAt is not an RFC 3339 time"). After a failure
// every reader returns an empty value, so a decoder can read on and check ok() once.
class Fields {
public:
    bool ok() const { return error_.empty(); }
    const std::string& error() const { return error_; }
    void fail(std::string message) {
        if (error_.empty()) error_ = std::move(message);
    }

    // `where` is the path of `object` ("" for the top level).
    std::string string(const nlohmann::json& object, std::string_view name, std::string_view where,
                       bool required);
    std::string one_of(const nlohmann::json& object, std::string_view name, std::string_view where,
                       std::initializer_list<std::string_view> allowed);
    // An object of strings (numbers and booleans are kept as their JSON text).
    std::map<std::string, std::string> string_map(const nlohmann::json& object,
                                                  std::string_view name, std::string_view where,
                                                  bool required);
    std::optional<Timestamp> time(const nlohmann::json& object, std::string_view name,
                                  std::string_view where, bool required);
    // The member, when it is an object; a failure otherwise (or null when not required).
    const nlohmann::json* object(const nlohmann::json& object, std::string_view name,
                                 std::string_view where, bool required);

private:
    static std::string path(std::string_view where, std::string_view name);

    std::string error_;
};

}  // namespace incident::alerts

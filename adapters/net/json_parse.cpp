#include "adapters/net/json_parse.hpp"

#include <cstdint>
#include <memory>

#include <simdjson.h>

namespace incident::net {

namespace {

using nlohmann::json;
namespace dom = simdjson::dom;

// simdjson's default depth limit (1024) bounds this recursion; deeper documents go to nlohmann.
json to_nlohmann(dom::element element) {
    switch (element.type()) {
        case dom::element_type::OBJECT: {
            json object = json::object();
            auto& members = object.get_ref<json::object_t&>();
            // A repeated key keeps its last value, as nlohmann's parser does.
            for (const dom::key_value_pair field : dom::object(element)) {
                members.insert_or_assign(std::string(field.key), to_nlohmann(field.value));
            }
            return object;
        }
        case dom::element_type::ARRAY: {
            const dom::array items(element);
            json array = json::array();
            auto& values = array.get_ref<json::array_t&>();
            values.reserve(items.size());
            for (const dom::element item : items) values.push_back(to_nlohmann(item));
            return array;
        }
        case dom::element_type::STRING:
            return std::string(std::string_view(element));
        // nlohmann reads a non-negative integer as unsigned.
        case dom::element_type::INT64: {
            const std::int64_t value = std::int64_t(element);
            if (value >= 0) return static_cast<std::uint64_t>(value);
            return value;
        }
        case dom::element_type::UINT64:
            return std::uint64_t(element);
        case dom::element_type::DOUBLE:
            return double(element);
        case dom::element_type::BOOL:
            return bool(element);
        case dom::element_type::NULL_VALUE:
            return nullptr;
    }
    return nullptr;
}

// Frames larger than this get a parser of their own, so that the one kept for the thread
// does not hold a rare huge document's buffers for the life of the process.
constexpr std::size_t k_kept_parser_bytes = 64 * 1024;

}  // namespace

nlohmann::json parse_json(std::string_view text) {
    thread_local dom::parser kept;
    std::unique_ptr<dom::parser> own;
    dom::parser* parser = &kept;
    if (text.size() > k_kept_parser_bytes) {
        own = std::make_unique<dom::parser>();
        parser = own.get();
    }
    dom::element root;
    if (parser->parse(text.data(), text.size(), true).get(root) == simdjson::SUCCESS) {
        return to_nlohmann(root);
    }
    return json::parse(text, nullptr, false);
}

}  // namespace incident::net

#pragma once

#include <boost/system/error_code.hpp>

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace incident::net {

// ASCII case-insensitive comparison, as header names require.
bool iequals(std::string_view a, std::string_view b);

// Header fields in the order they were added or received. Names compare
// case-insensitively; a name may repeat.
class Headers {
public:
    using Field = std::pair<std::string, std::string>;
    using const_iterator = std::vector<Field>::const_iterator;

    Headers() = default;
    Headers(std::initializer_list<Field> fields);

    void add(std::string name, std::string value);
    // Replaces every field with that name by one field.
    void set(std::string name, std::string value);
    void erase(std::string_view name);

    // The first field with that name.
    std::optional<std::string> get(std::string_view name) const;
    std::vector<std::string> get_all(std::string_view name) const;
    bool contains(std::string_view name) const;

    std::size_t size() const { return fields_.size(); }
    bool empty() const { return fields_.empty(); }
    const_iterator begin() const { return fields_.begin(); }
    const_iterator end() const { return fields_.end(); }

private:
    std::vector<Field> fields_;
};

struct HttpRequest {
    std::string method = "GET";
    // Client side: the absolute URL ("https://slack.com/api/chat.postMessage").
    // Server side: the request target as received ("/slack/events?x=1").
    std::string url;
    Headers headers;
    // Byte-exact: signatures are computed over it.
    std::string body;
    // Server side: the peer as "ip:port".
    std::string remote_address;

    // For a server-side request target: the part before '?', and the part after it.
    std::string_view path() const;
    std::string_view query() const;
    // A percent-decoded query parameter ('+' is a space), the first if repeated.
    std::optional<std::string> query_param(std::string_view name) const;
};

struct HttpResponse {
    // 0 when no HTTP response was received: then error_code and error say why.
    int status = 0;
    Headers headers;
    std::string body;
    boost::system::error_code error_code;
    std::string error;

    bool ok() const { return status >= 200 && status < 300; }

    static HttpResponse text(int status, std::string body);
    static HttpResponse json(int status, std::string body);
    static HttpResponse failure(boost::system::error_code code, std::string message);
};

}  // namespace incident::net

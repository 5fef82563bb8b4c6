#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace incident::web {

// An HTTP request as the server hands it over; no network types, so pages are unit-tested.
struct WebRequest {
    std::string method;
    std::string target;                          // path?query as received
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
    std::string remote;
};

struct WebResponse {
    int status = 200;
    std::string content_type;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
};

}  // namespace incident::web

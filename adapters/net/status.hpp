#pragma once

#include <boost/system/error_code.hpp>

#include <string>
#include <utility>

namespace incident::net {

// Outcome of a network operation: the code for programs, the message for people
// (it names what failed and where, e.g. "connect to 127.0.0.1:8443: Connection refused").
struct NetStatus {
    boost::system::error_code code;
    std::string message;

    bool ok() const { return !code; }

    static NetStatus success() { return {}; }
    static NetStatus failure(boost::system::error_code code, std::string message) {
        return {code, std::move(message)};
    }
};

}  // namespace incident::net

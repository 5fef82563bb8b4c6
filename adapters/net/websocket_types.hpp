#pragma once

#include "adapters/net/http_types.hpp"

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace incident::net {

struct WebSocketOptions {
    // TCP connect, TLS and WebSocket handshakes together; also bounds the closing handshake.
    std::chrono::milliseconds connect_timeout{15'000};
    // A ping goes out this long after the previous pong; 0 turns pings off.
    std::chrono::milliseconds ping_interval{30'000};
    // A ping not answered within this is a dead connection: it is closed and reported.
    std::chrono::milliseconds pong_timeout{10'000};
    std::size_t max_message_size = 16 * 1024 * 1024;
    // Messages waiting to be written; send() refuses beyond this.
    std::size_t max_queued_messages = 4096;
    // Extra headers on the upgrade request (client), e.g. Authorization.
    Headers headers;
    std::string user_agent = "incident-bot";
};

// Why a WebSocket is no longer open.
struct WebSocketCloseStatus {
    enum class Kind {
        open,
        closed_locally,  // close() or the owner went away
        closed_by_peer,  // the peer sent a close frame
        dead,            // no pong in time
        failed,          // connection lost or protocol error (EOF, reset, bad frame)
    };
    Kind kind = Kind::open;
    // The close frame's code and reason when the peer sent one.
    std::uint16_t code = 0;
    std::string reason;
    boost::system::error_code error;
    // For people: "connection lost: End of file", "no pong within 10000 ms", ...
    std::string message;
};

std::string_view to_string(WebSocketCloseStatus::Kind kind);

}  // namespace incident::net

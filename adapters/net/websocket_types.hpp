#pragma once

#include "adapters/net/http_types.hpp"

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace incident::net {

struct WebSocketOptions {
    // INCIDENT_BOT_SOCKET_DEAD_AFTER_SECONDS: dead after that much silence, pinged after 2/5.
    static WebSocketOptions dead_after_silence(std::chrono::seconds silence) {
        WebSocketOptions options;
        options.dead_after = silence;
        options.ping_interval = options.dead_after * 2 / 5;
        return options;
    }

    // TCP connect, TLS and WebSocket handshakes together; also bounds the closing handshake.
    std::chrono::milliseconds connect_timeout{15'000};
    // Liveness (clients): a ping goes out when nothing (no frame, no ping, no pong) was heard
    // from the peer for this long, and again every this long while it stays silent.
    // 0 turns pings and the dead-connection check off.
    std::chrono::milliseconds ping_interval{2'000};
    // Nothing heard from the peer for this long: the connection is dead (status "dead"),
    // dropped and reported. Time the reader spent paused because the owner was not reading
    // does not count.
    std::chrono::milliseconds dead_after{5'000};
    std::size_t max_message_size = 16 * 1024 * 1024;
    // Back-pressure, never a dropped message: while this many messages wait to be written,
    // no new frame is read from the peer (so no new acks or replies are made).
    std::size_t max_queued_messages = 1024;
    // Inbound read-ahead: received messages not yet taken by read(); while this many (or
    // this many bytes) wait, no new frame is read from the peer.
    std::size_t max_buffered_messages = 1024;
    std::size_t max_buffered_bytes = 32 * 1024 * 1024;
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
        dead,            // nothing heard from the peer for dead_after
        failed,          // connection lost or protocol error (EOF, reset, bad frame)
    };
    Kind kind = Kind::open;
    // The close frame's code and reason when the peer sent one.
    std::uint16_t code = 0;
    std::string reason;
    boost::system::error_code error;
    // For people: "connection lost: End of file", "no frame or pong for 5002 ms", ...
    std::string message;
};

std::string_view to_string(WebSocketCloseStatus::Kind kind);

// How full the two queues of a connection are, now and at most so far (back-pressure keeps
// both near their bounds under a flood).
struct WebSocketQueueStats {
    std::size_t queued = 0;  // messages waiting to be written
    std::size_t max_queued = 0;
    std::size_t buffered = 0;  // messages received, not yet read
    std::size_t max_buffered = 0;
    std::size_t buffered_bytes = 0;
};

}  // namespace incident::net

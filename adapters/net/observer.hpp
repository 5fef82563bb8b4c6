#pragma once

#include <string_view>

namespace incident::net {

// What the chat adapters report for /metrics and /healthz. Implemented by the web layer;
// the adapters do not know how it is exposed. Every method has a no-op default.
class PlatformObserver {
public:
    virtual ~PlatformObserver() = default;
    virtual void event_received(std::string_view /*platform*/) {}
    virtual void event_acked(std::string_view /*platform*/, double /*latency_seconds*/) {}
    virtual void reconnected(std::string_view /*platform*/) {}
    virtual void api_error(std::string_view /*platform*/, std::string_view /*method*/) {}
    virtual void rate_limited(std::string_view /*platform*/, std::string_view /*method*/) {}
    // An outbox entry of `sink` ("slack", "email", ...) failed for good.
    virtual void outbox_failed(std::string_view /*sink*/, std::string_view /*kind*/) {}
};

}  // namespace incident::net

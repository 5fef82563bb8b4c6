#pragma once

#include "adapters/net/http_types.hpp"
#include "adapters/net/tls_context.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <string>

namespace incident::net {

struct HttpClientOptions {
    // TCP connect, TLS handshake, request and response together (name resolution
    // is bounded by the system resolver's own timeouts).
    std::chrono::milliseconds timeout{30'000};
    // A larger response body is an error, not a truncated body.
    std::size_t body_limit = 8 * 1024 * 1024;
    std::string user_agent = "incident-bot";
};

// HTTP/1.1 requests over http:// or https:// (peer and host name verified), one
// connection per request. Network failures never throw: they come back as a response
// with status 0, error_code and an error message naming the host and the step.
class HttpClient {
public:
    HttpClient(boost::asio::any_io_executor executor, TlsContext tls,
               HttpClientOptions options = {});

    // request.url is absolute; Host, User-Agent and Content-Length are filled in
    // unless given.
    boost::asio::awaitable<HttpResponse> request(HttpRequest request);

    const HttpClientOptions& options() const { return options_; }

private:
    boost::asio::any_io_executor executor_;
    TlsContext tls_;
    HttpClientOptions options_;
};

}  // namespace incident::net

#pragma once

#include "adapters/net/status.hpp"

#include <openssl/ssl.h>

#include <string>

namespace incident::net::detail {

// Before a client handshake: SNI (for names, not IP literals) and the name or
// address the peer's certificate must carry.
NetStatus prepare_client_tls(SSL* ssl, const std::string& host);

// A failed handshake, with OpenSSL's verification verdict when there is one
// ("certificate verify failed: hostname mismatch").
std::string describe_tls_error(SSL* ssl, const boost::system::error_code& ec);

}  // namespace incident::net::detail

#include "adapters/net/tls_context.hpp"

#include "adapters/net/detail/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>

#include <cstdlib>

namespace incident::net {

namespace ssl = boost::asio::ssl;

struct TlsContext::Impl {
    explicit Impl(ssl::context::method method, bool server) : context(method), server(server) {}
    ssl::context context;
    bool server;
};

TlsClientOptions TlsClientOptions::from_env() {
    TlsClientOptions options;
    if (const char* file = std::getenv("INCIDENT_BOT_CA_FILE"); file && *file) {
        options.extra_ca_file = file;
    }
    return options;
}

namespace {

constexpr long k_options = ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_compression;

std::string describe(const boost::system::error_code& ec) {
    std::string text = ec.message();
    // Asio reports only the first queued OpenSSL error; the rest would explain a bad PEM.
    while (const unsigned long e = ERR_get_error()) {
        char buffer[256];
        ERR_error_string_n(e, buffer, sizeof buffer);
        text += std::string("; ") + buffer;
    }
    return text;
}

}  // namespace

std::optional<TlsContext> TlsContext::client(const TlsClientOptions& options, std::string& error) {
    auto impl = std::make_shared<Impl>(ssl::context::tls_client, false);
    auto& ctx = impl->context;
    boost::system::error_code ec;
    ctx.set_options(k_options, ec);
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    ctx.set_verify_mode(ssl::verify_peer, ec);
    if (options.use_system_ca) {
        ctx.set_default_verify_paths(ec);
        if (ec) {
            error = "cannot load the system CA certificates: " + describe(ec);
            return std::nullopt;
        }
    }
    if (!options.extra_ca_file.empty()) {
        ctx.load_verify_file(options.extra_ca_file, ec);
        if (ec) {
            error = "cannot load CA file '" + options.extra_ca_file +
                    "' (INCIDENT_BOT_CA_FILE): " + describe(ec);
            return std::nullopt;
        }
    }
    return TlsContext(std::move(impl));
}

std::optional<TlsContext> TlsContext::server(const std::string& certificate_chain_file,
                                             const std::string& private_key_file,
                                             std::string& error) {
    auto impl = std::make_shared<Impl>(ssl::context::tls_server, true);
    auto& ctx = impl->context;
    boost::system::error_code ec;
    ctx.set_options(k_options | ssl::context::single_dh_use, ec);
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    ctx.use_certificate_chain_file(certificate_chain_file, ec);
    if (ec) {
        error = "cannot load certificate chain '" + certificate_chain_file + "': " + describe(ec);
        return std::nullopt;
    }
    ctx.use_private_key_file(private_key_file, ssl::context::pem, ec);
    if (ec) {
        error = "cannot load private key '" + private_key_file + "': " + describe(ec);
        return std::nullopt;
    }
    return TlsContext(std::move(impl));
}

bool TlsContext::is_server() const {
    return impl_->server;
}

ssl::context& TlsContext::native() const {
    return impl_->context;
}

}  // namespace incident::net

namespace incident::net::detail {

NetStatus prepare_client_tls(SSL* ssl, const std::string& host) {
    boost::system::error_code not_ip;
    boost::asio::ip::make_address(host, not_ip);
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    bool ok = true;
    if (!not_ip) {
        ok = X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1;
    } else {
        ok = SSL_set_tlsext_host_name(ssl, host.c_str()) == 1 &&
             SSL_set1_host(ssl, host.c_str()) == 1;
    }
    if (!ok) {
        return NetStatus::failure(make_error_code(boost::system::errc::invalid_argument),
                                  "cannot set up TLS for host '" + host + "'");
    }
    return NetStatus::success();
}

std::string describe_tls_error(SSL* ssl, const boost::system::error_code& ec) {
    std::string text = ec.message();
    const long verdict = SSL_get_verify_result(ssl);
    if (verdict != X509_V_OK) {
        text += std::string(": ") + X509_verify_cert_error_string(verdict);
    }
    return text;
}

}  // namespace incident::net::detail

#pragma once

#include "adapters/net/tls_context.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace incident::net::testing {

// A throwaway PKI made at run time in a fresh temporary directory (removed with the
// object): a self-signed CA and a server certificate signed by it, as PEM files.
// Nothing is committed; each test run has its own keys.
class TestCertificates {
public:
    // The server certificate's subjectAltName entries.
    explicit TestCertificates(std::vector<std::string> dns_names = {"localhost"},
                              std::vector<std::string> ip_addresses = {"127.0.0.1"});
    ~TestCertificates();
    TestCertificates(const TestCertificates&) = delete;
    TestCertificates& operator=(const TestCertificates&) = delete;

    const std::filesystem::path& dir() const { return dir_; }
    std::string ca_file() const { return (dir_ / "ca.pem").string(); }
    std::string cert_file() const { return (dir_ / "server.pem").string(); }
    std::string key_file() const { return (dir_ / "server.key").string(); }

    // Throw std::runtime_error on failure (tests only).
    TlsContext server_context() const;
    // Trusts the test CA (through the extra-CA-file option) besides the system CAs.
    TlsContext client_context() const;

private:
    std::filesystem::path dir_;
};

// System CAs only: does not trust any test CA.
TlsContext system_client_context();

}  // namespace incident::net::testing

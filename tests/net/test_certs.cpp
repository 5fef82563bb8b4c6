#include "test_certs.hpp"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace incident::net::testing {

namespace {

struct KeyFree {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct CertFree {
    void operator()(X509* cert) const { X509_free(cert); }
};
struct FileClose {
    void operator()(std::FILE* file) const { std::fclose(file); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using CertPtr = std::unique_ptr<X509, CertFree>;

void check(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("test certificates: ") + what + " failed");
}

KeyPtr make_key() {
    // P-256: generated in microseconds, where RSA would take a noticeable time per test.
    KeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    check(key != nullptr, "key generation");
    return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    check(ext != nullptr, value.c_str());
    check(X509_add_ext(cert, ext, -1) == 1, "adding an extension");
    X509_EXTENSION_free(ext);
}

CertPtr make_cert(EVP_PKEY* key, const std::string& common_name, X509* issuer) {
    CertPtr cert(X509_new());
    check(cert != nullptr, "X509_new");
    check(X509_set_version(cert.get(), 2) == 1, "version");

    unsigned char serial[16];
    check(RAND_bytes(serial, sizeof serial) == 1, "serial");
    serial[0] &= 0x7f;
    BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
    check(bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get())) != nullptr,
          "serial");
    BN_free(bn);

    // Valid from an hour ago, so clock skew between steps cannot matter.
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 7 * 24 * 3600);

    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("incident-bot tests"), -1, -1,
                               0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                               0);
    X509* signer = issuer ? issuer : cert.get();
    check(X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) == 1, "issuer");
    check(X509_set_pubkey(cert.get(), key) == 1, "public key");
    return cert;
}

void write_cert(const std::filesystem::path& path, X509* cert) {
    std::unique_ptr<std::FILE, FileClose> file(std::fopen(path.c_str(), "w"));
    check(file != nullptr, "opening a certificate file");
    check(PEM_write_X509(file.get(), cert) == 1, "writing a certificate");
}

void write_key(const std::filesystem::path& path, EVP_PKEY* key) {
    std::unique_ptr<std::FILE, FileClose> file(std::fopen(path.c_str(), "w"));
    check(file != nullptr, "opening a key file");
    check(PEM_write_PrivateKey(file.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
          "writing a key");
}

}  // namespace

TestCertificates::TestCertificates(std::vector<std::string> dns_names,
                                   std::vector<std::string> ip_addresses) {
    std::string pattern = (std::filesystem::temp_directory_path() / "incident-net-test-XXXXXX");
    check(mkdtemp(pattern.data()) != nullptr, "mkdtemp");
    dir_ = pattern;

    const KeyPtr ca_key = make_key();
    const CertPtr ca = make_cert(ca_key.get(), "incident-bot test CA", nullptr);
    add_extension(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE");
    add_extension(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
    add_extension(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
    check(X509_sign(ca.get(), ca_key.get(), EVP_sha256()) > 0, "signing the CA");

    const KeyPtr server_key = make_key();
    const std::string common_name = dns_names.empty() ? "test server" : dns_names.front();
    const CertPtr server = make_cert(server_key.get(), common_name, ca.get());
    add_extension(server.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
    add_extension(server.get(), ca.get(), NID_key_usage, "critical,digitalSignature");
    add_extension(server.get(), ca.get(), NID_ext_key_usage, "serverAuth");
    add_extension(server.get(), ca.get(), NID_subject_key_identifier, "hash");
    add_extension(server.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
    std::string san;
    for (const auto& dns : dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + dns;
    for (const auto& ip : ip_addresses) san += (san.empty() ? "IP:" : ",IP:") + ip;
    if (!san.empty()) add_extension(server.get(), ca.get(), NID_subject_alt_name, san);
    check(X509_sign(server.get(), ca_key.get(), EVP_sha256()) > 0, "signing the server cert");

    write_cert(ca_file(), ca.get());
    write_cert(cert_file(), server.get());
    write_key(key_file(), server_key.get());
}

TestCertificates::~TestCertificates() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

TlsContext TestCertificates::server_context() const {
    std::string error;
    auto context = TlsContext::server(cert_file(), key_file(), error);
    if (!context) throw std::runtime_error(error);
    return *context;
}

TlsContext TestCertificates::client_context() const {
    TlsClientOptions options;
    options.extra_ca_file = ca_file();
    std::string error;
    auto context = TlsContext::client(options, error);
    if (!context) throw std::runtime_error(error);
    return *context;
}

TlsContext system_client_context() {
    std::string error;
    auto context = TlsContext::client(TlsClientOptions{}, error);
    if (!context) throw std::runtime_error(error);
    return *context;
}

}  // namespace incident::net::testing

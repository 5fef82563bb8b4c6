#include "storage/content_folder.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace incident {

namespace {

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

void write_all(int fd, std::string_view bytes, const std::string& path) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            fail("cannot write " + path);
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

void sync_folder(const std::string& folder) {
    const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

}  // namespace

bool is_sha256_hex(std::string_view text) {
    if (text.size() != 64) return false;
    for (const char c : text) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

std::string content_folder_of(const std::string& database) {
    return database + ".files";
}

ContentFolder::ContentFolder(const std::string& database, bool in_memory) {
    if (!in_memory) folder_ = content_folder_of(database);
}

void ContentFolder::put(std::string_view sha256, std::string_view bytes) {
    if (!is_sha256_hex(sha256)) {
        throw std::invalid_argument("file content name is not a SHA-256: " + std::string(sha256));
    }
    if (folder_.empty()) {
        memory_.emplace(std::string(sha256), std::string(bytes));
        return;
    }
    const std::string target = folder_ + "/" + std::string(sha256);
    std::error_code ec;
    if (std::filesystem::exists(target, ec)) return;  // the same digest is the same content
    std::filesystem::create_directories(folder_, ec);
    if (ec) throw std::runtime_error("cannot create " + folder_ + ": " + ec.message());
    const std::string temp = target + ".tmp" + std::to_string(::getpid());
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) fail("cannot create " + temp);
    try {
        write_all(fd, bytes, temp);
        if (::fsync(fd) != 0) fail("cannot flush " + temp);
    } catch (...) {
        ::close(fd);
        ::unlink(temp.c_str());
        throw;
    }
    ::close(fd);
    if (::rename(temp.c_str(), target.c_str()) != 0) {
        const int saved = errno;
        ::unlink(temp.c_str());
        errno = saved;
        fail("cannot rename " + temp);
    }
    sync_folder(folder_);
}

std::optional<std::string> ContentFolder::get(std::string_view sha256) const {
    if (!is_sha256_hex(sha256)) return std::nullopt;
    if (folder_.empty()) {
        const auto it = memory_.find(sha256);
        if (it == memory_.end()) return std::nullopt;
        return it->second;
    }
    std::ifstream in(folder_ + "/" + std::string(sha256), std::ios::binary);
    if (!in) return std::nullopt;
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool ContentFolder::contains(std::string_view sha256) const {
    if (!is_sha256_hex(sha256)) return false;
    if (folder_.empty()) return memory_.find(sha256) != memory_.end();
    std::error_code ec;
    return std::filesystem::is_regular_file(folder_ + "/" + std::string(sha256), ec);
}

}  // namespace incident

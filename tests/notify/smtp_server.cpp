#include "smtp_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace incident::notify::testing {

namespace {

constexpr const char* k_python = "/usr/bin/python3";

bool accepts_connections(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    return ok;
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string lf(std::string text) {
    text.erase(std::remove(text.begin(), text.end(), '\r'), text.end());
    return text;
}

}  // namespace

std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("socket() failed");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = 0;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        ::close(fd);
        throw std::runtime_error("cannot bind a loopback port");
    }
    ::close(fd);
    return ntohs(address.sin_port);
}

SmtpServer::SmtpServer(std::optional<Tls> tls) {
    static std::atomic<int> counter{0};
    dir_ = std::filesystem::temp_directory_path() /
           ("incident-smtp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    if (::access(k_python, X_OK) != 0) {
        throw std::runtime_error("/usr/bin/python3 is missing: install python3-aiosmtpd");
    }
    port_ = free_port();
    const std::string listen = "127.0.0.1:" + std::to_string(port_);
    const std::string maildir = (dir_ / "maildir").string();
    const std::string log = (dir_ / "server.log").string();
    // -u: unbuffered, so output() shows what happened even if the server is killed.
    std::vector<std::string> args{
        k_python, "-u", "-m", "aiosmtpd", "-n", "-l", listen, "-c", "aiosmtpd.handlers.Mailbox"};
    if (tls) {
        args.insert(args.end(), {"--tlscert", tls->cert_file, "--tlskey", tls->key_file});
    }
    args.push_back(maildir);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    const int spawned = ::posix_spawn(&pid_, k_python, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) {
        pid_ = -1;
        throw std::runtime_error("cannot start " + std::string(k_python) + " -m aiosmtpd");
    }

    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!accepts_connections(port_)) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("aiosmtpd exited at once (is python3-aiosmtpd installed?): " +
                                     output());
        }
        if (std::chrono::steady_clock::now() > deadline) {
            stop();
            throw std::runtime_error("aiosmtpd did not listen on " + listen +
                                     " within 10 s: " + output());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

SmtpServer::~SmtpServer() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

void SmtpServer::stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_ = -1;
}

std::vector<std::string> SmtpServer::messages() const {
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir_ / "maildir" / "new", ec)) {
        files.push_back(entry.path());
    }
    // Maildir names start with the delivery time in seconds; the write time breaks ties.
    std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) {
        return std::filesystem::last_write_time(a) < std::filesystem::last_write_time(b);
    });
    std::vector<std::string> out;
    for (const auto& f : files) out.push_back(read_file(f));
    return out;
}

bool SmtpServer::wait_for(std::size_t count, std::chrono::milliseconds limit) const {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (messages().size() < count) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

std::string SmtpServer::output() const {
    return read_file(dir_ / "server.log");
}

std::string header(const std::string& message, const std::string& name) {
    const std::string text = lf(message);
    const std::string head = text.substr(0, text.find("\n\n"));
    std::istringstream lines(head);
    std::string line, value;
    bool in_field = false;
    while (std::getline(lines, line)) {
        if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
            if (in_field) value += line;
            continue;
        }
        if (in_field) break;
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string field = line.substr(0, colon);
        std::transform(field.begin(), field.end(), field.begin(), ::tolower);
        std::string wanted = name;
        std::transform(wanted.begin(), wanted.end(), wanted.begin(), ::tolower);
        if (field == wanted) {
            in_field = true;
            value = line.substr(colon + 1);
            value.erase(0, value.find_first_not_of(' '));
        }
    }
    return value;
}

std::string body(const std::string& message) {
    const std::string text = lf(message);
    const auto blank = text.find("\n\n");
    return blank == std::string::npos ? std::string() : text.substr(blank + 2);
}

}  // namespace incident::notify::testing

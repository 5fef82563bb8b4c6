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
#include <string_view>
#include <thread>

extern char** environ;

namespace incident::notify::testing {

namespace {

constexpr const char* k_python = "/usr/bin/python3";

// aiosmtpd's Mailbox handler with the replies a test scripts in files of `script_dir`:
// "reject" (addresses, one a line) and "data" (replies for the next DATA commands, one a
// line, each used once; "refused" counts them).
constexpr const char* k_handler = R"(import os
from aiosmtpd.handlers import Mailbox


class ScriptedMailbox(Mailbox):
    def __init__(self, mail_dir, script_dir):
        super().__init__(mail_dir)
        self.script_dir = script_dir

    def _lines(self, name):
        try:
            with open(os.path.join(self.script_dir, name)) as f:
                return [line for line in f.read().splitlines() if line]
        except FileNotFoundError:
            return []

    def _write(self, name, lines):
        path = os.path.join(self.script_dir, name)
        with open(path + ".tmp", "w") as f:
            f.write("".join(line + "\n" for line in lines))
        os.replace(path + ".tmp", path)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self._lines("reject"):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        replies = self._lines("data")
        if replies:
            self._write("data", replies[1:])
            self._write("refused", ["x"] * (len(self._lines("refused")) + 1))
            return replies[0]
        return await super().handle_DATA(server, session, envelope)

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 2:
            parser.error("ScriptedMailbox takes the maildir and the script directory")
        return cls(*args)
)";

void write_file(const std::filesystem::path& path, const std::string& text) {
    const std::filesystem::path temporary = path.string() + ".new";
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        out << text;
    }
    // Renamed into place: the server never reads half a file.
    std::filesystem::rename(temporary, path);
}

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
    std::filesystem::create_directories(dir_ / "script");
    write_file(dir_ / "scripted_mailbox.py", k_handler);
    // -u: unbuffered, so output() shows what happened even if the server is killed.
    std::vector<std::string> args{k_python,   "-u", "-m",
                                  "aiosmtpd", "-n", "-l",
                                  listen,     "-c", "scripted_mailbox.ScriptedMailbox"};
    if (tls) {
        args.insert(args.end(), {"--tlscert", tls->cert_file, "--tlskey", tls->key_file});
    }
    args.push_back(maildir);
    args.push_back((dir_ / "script").string());
    // The handler's module is found next to the maildir.
    std::vector<std::string> environment{"PYTHONPATH=" + dir_.string()};
    for (char** e = environ; *e; ++e) {
        if (!std::string_view(*e).starts_with("PYTHONPATH=")) environment.emplace_back(*e);
    }
    std::vector<char*> envp;
    for (auto& e : environment) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    const int spawned = ::posix_spawn(&pid_, k_python, &actions, nullptr, argv.data(), envp.data());
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

void SmtpServer::reject_recipients(const std::vector<std::string>& addresses) {
    std::string text;
    for (const auto& a : addresses) text += a + "\n";
    write_file(dir_ / "script" / "reject", text);
}

void SmtpServer::reply_to_data(const std::vector<std::string>& replies) {
    std::string text;
    for (const auto& r : replies) text += r + "\n";
    write_file(dir_ / "script" / "data", text);
}

std::size_t SmtpServer::refused() const {
    const std::string text = read_file(dir_ / "script" / "refused");
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
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

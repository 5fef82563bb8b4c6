#include "pg_server.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include "storage/pq.hpp"

namespace incident::testing {

namespace {

namespace fs = std::filesystem;

const std::string k_bin = "/usr/lib/postgresql/15/bin/";

std::string read_text(const std::string& path);

}  // namespace

namespace {

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// The unprivileged account the server runs as when the tests run as root.
struct Account {
    uid_t uid;
    gid_t gid;
};

std::optional<Account> server_account() {
    if (::geteuid() != 0) return std::nullopt;
    const passwd* nobody = ::getpwnam("nobody");
    if (!nobody) throw std::runtime_error("running as root, and there is no user `nobody`");
    return Account{nobody->pw_uid, nobody->pw_gid};
}

}  // namespace

PgServer::PgServer(Durability durability) : durability_(durability) {
    if (!fs::exists(k_bin + "initdb")) {
        throw std::runtime_error("PostgreSQL 15 is not installed (" + k_bin +
                                 "initdb): ./deploy/dev.sh test installs postgresql-15");
    }
    // Under root, /tmp itself: TMPDIR may be inside a directory `nobody` cannot enter.
    const fs::path parent = ::geteuid() == 0 ? fs::path("/tmp") : fs::temp_directory_path();
    std::string pattern = (parent / "incident-pg-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    data_ = dir_ + "/data";
    if (const auto account = server_account()) {
        if (::chown(dir_.c_str(), account->uid, account->gid) != 0) {
            throw std::runtime_error("cannot hand " + dir_ + " to nobody");
        }
    }
    run("initdb", {k_bin + "initdb", "--pgdata=" + data_, "--username=incident", "--auth=trust",
                   "--encoding=UTF8", "--no-locale", "--no-sync"});
    // Another test process may bind the port between our check and the server's bind.
    for (int attempt = 1;; ++attempt) {
        port_ = free_port();
        std::error_code ignored;
        fs::remove(dir_ + "/server.log", ignored);
        try {
            start();
            return;
        } catch (const std::runtime_error& failure) {
            const bool port_taken =
                std::string_view(failure.what()).find("Address already in use") !=
                std::string_view::npos;
            if (!port_taken || attempt == 5) throw;
        }
    }
}

PgServer::~PgServer() {
    try {
        if (running_) stop();
    } catch (const std::exception&) {
        // The directory goes anyway; a server still running has lost its files.
    }
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
}

PgServer& PgServer::shared() {
    static PgServer server;
    return server;
}

void PgServer::run(const std::string& what, const std::vector<std::string>& argv) const {
    const std::string log = dir_ + "/" + what + ".out";
    const auto account = server_account();
    std::vector<char*> args;
    for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    const pid_t child = ::fork();
    if (child < 0) throw std::runtime_error("fork failed");
    if (child == 0) {
        // Only async-signal-safe calls from here to exec.
        if (account && (::setgroups(0, nullptr) != 0 || ::setgid(account->gid) != 0 ||
                        ::setuid(account->uid) != 0)) {
            ::_exit(126);
        }
        if (::chdir(dir_.c_str()) != 0) ::_exit(126);
        const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (out < 0) ::_exit(126);
        ::dup2(out, STDOUT_FILENO);
        ::dup2(out, STDERR_FILENO);
        const int in = ::open("/dev/null", O_RDONLY);
        ::dup2(in, STDIN_FILENO);
        // The server outlives this call: it must not hold what the test was given, such as
        // ctest's output pipe or a build lock's descriptor (a server left behind by a crashed
        // test then blocks every build waiting on that lock).
        ::close_range(3, ~0U, 0);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::string message =
            what + " failed (status " + std::to_string(status) + "): " + read_text(log);
        if (what.starts_with("pg_ctl"))
            message += "\nserver log:\n" + read_text(dir_ + "/server.log");
        throw std::runtime_error(message);
    }
}

void PgServer::start() {
    // fsync off unless durable: a test cluster need not survive a power cut, and it is much
    // faster.
    const std::string writes =
        durability_ == Durability::fast
            ? " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            : "";
    run("pg_ctl-start",
        {k_bin + "pg_ctl", "--pgdata=" + data_, "--log=" + dir_ + "/server.log", "--wait",
         "--timeout=60",
         "--options=-c listen_addresses=127.0.0.1 -c port=" + std::to_string(port_) +
             " -c unix_socket_directories=" + dir_ + writes + " -c max_connections=200",
         "start"});
    running_ = true;
}

void PgServer::stop() {
    run("pg_ctl-stop",
        {k_bin + "pg_ctl", "--pgdata=" + data_, "--mode=fast", "--wait", "--timeout=60", "stop"});
    running_ = false;
}

std::string PgServer::create_database() {
    const std::string name = "test_" + std::to_string(++databases_);
    pq::Connection db(conninfo("postgres"));
    // An identifier cannot be a bound parameter; this one is made of [a-z0-9_] above.
    db.exec("CREATE DATABASE " + name);
    return name;
}

std::string PgServer::conninfo(const std::string& database) const {
    return "host=" + dir_ + " port=" + std::to_string(port_) + " user=incident dbname=" + database;
}

std::string PgServer::tcp_url(const std::string& database) const {
    return "postgresql://incident@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

}  // namespace incident::testing

#include "process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "run_async.hpp"

namespace incident::testing {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

const std::string k_binary = INCIDENT_BOT_BINARY;

namespace {

int open_or_throw(const fs::path& path, int flags) {
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error("cannot open " + path.string());
    return fd;
}

}  // namespace

Process::Process(const std::string& binary, ProcessOptions options) : options_(std::move(options)) {
    std::vector<std::string> argv_strings{binary};
    argv_strings.insert(argv_strings.end(), options_.args.begin(), options_.args.end());
    std::vector<std::string> env_strings = options_.env;
    env_strings.push_back("PATH=/usr/bin:/bin");
    std::vector<char*> argv, envp;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);

    // Everything the child needs is opened here: between fork and exec only system calls.
    const int out = open_or_throw(options_.out, O_WRONLY | O_CREAT | O_TRUNC);
    const int err = open_or_throw(options_.err, O_WRONLY | O_CREAT | O_TRUNC);
    int in = -1;
    int pipe_fds[2] = {-1, -1};
    if (options_.stdin_pipe) {
        if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
        in = pipe_fds[0];
        stdin_fd_ = pipe_fds[1];
    } else {
        in = open_or_throw(options_.in.empty() ? fs::path("/dev/null") : options_.in, O_RDONLY);
    }
    const bool as_user = options_.uid && ::geteuid() == 0;
    const uid_t uid = options_.uid.value_or(0);

    pid_ = ::fork();
    if (pid_ == 0) {
        ::dup2(in, 0);
        ::dup2(out, 1);
        ::dup2(err, 2);
        if (as_user) {
            ::setgroups(0, nullptr);
            if (::setgid(uid) != 0 || ::setuid(uid) != 0) ::_exit(126);
        }
        ::close_range(3, ~0U, 0);  // like pg_server: a child keeps none of the test's descriptors
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
    ::close(out);
    ::close(err);
    ::close(in);
    if (pid_ < 0) throw std::runtime_error("fork failed");
}

Process::~Process() {
    close_stdin();
    if (pid_ > 0 && !poll()) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
}

void Process::signal(int number) {
    if (pid_ > 0 && !status_) ::kill(pid_, number);
}

bool Process::write_stdin(std::string_view text) {
    while (!text.empty() && stdin_fd_ >= 0) {
        const ssize_t n = ::write(stdin_fd_, text.data(), text.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        text.remove_prefix(static_cast<std::size_t>(n));
    }
    return text.empty();
}

void Process::close_stdin() {
    if (stdin_fd_ >= 0) ::close(stdin_fd_);
    stdin_fd_ = -1;
}

bool Process::poll() {
    if (status_) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return false;
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return true;
}

bool Process::running() {
    return !poll();
}

boost::asio::awaitable<std::optional<int>> Process::wait(milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!poll() && std::chrono::steady_clock::now() < deadline) {
        co_await net::testing::sleep_for(milliseconds(5));
    }
    co_return status_;
}

std::optional<int> Process::wait_blocking(milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!poll() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(milliseconds(5));
    }
    return status_;
}

std::string Process::out() const {
    return read_file(options_.out);
}
std::string Process::err() const {
    return read_file(options_.err);
}

Run run_binary(const std::vector<std::string>& args, const std::vector<std::string>& env,
               const fs::path& dir, const fs::path& in) {
    static int runs = 0;
    ProcessOptions options;
    options.args = args;
    options.env = env;
    options.out = dir / ("run-" + std::to_string(++runs) + ".out");
    options.err = dir / ("run-" + std::to_string(runs) + ".err");
    options.in = in;
    Process process(k_binary, options);
    Run run;
    run.status = process.wait_blocking(milliseconds(60'000)).value_or(-1);
    run.out = process.out();
    run.err = process.err();
    return run;
}

TempDir::TempDir(const std::string& name)
    : path(fs::temp_directory_path() /
           ("incident-ops-" + name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
    fs::permissions(path, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

std::string check_line(const std::string& output, const std::string& name) {
    std::istringstream lines(output);
    std::string line;
    while (std::getline(lines, line)) {
        std::istringstream words(line);
        std::string level, check;
        words >> level >> check;
        if (check == name) return line;
    }
    return {};
}

}  // namespace incident::testing

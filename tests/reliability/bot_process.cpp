#include "bot_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "run_async.hpp"

namespace incident::testing {

namespace fs = std::filesystem;

namespace {

// The sanitizer build runs the bot under the same options as the tests.
void pass_sanitizer_options(std::vector<std::string>& env) {
    for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"}) {
        if (const char* value = std::getenv(name)) env.push_back(std::string(name) + "=" + value);
    }
}

}  // namespace

BotProcess::BotProcess(const std::string& binary, std::vector<std::string> env, const fs::path& log)
    : log_(log) {
    pass_sanitizer_options(env);
    std::vector<char*> envp;
    for (auto& entry : env) envp.push_back(entry.data());
    envp.push_back(nullptr);
    std::string arg0 = binary;
    char* argv[] = {arg0.data(), nullptr};

    posix_spawn_file_actions_t files;
    posix_spawn_file_actions_init(&files);
    posix_spawn_file_actions_addopen(&files, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&files, STDOUT_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&files, STDOUT_FILENO, STDERR_FILENO);
    const int failed = posix_spawn(&pid_, binary.c_str(), &files, nullptr, argv, envp.data());
    posix_spawn_file_actions_destroy(&files);
    if (failed != 0) throw std::runtime_error("cannot start " + binary);
}

BotProcess::~BotProcess() {
    if (poll()) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
}

void BotProcess::signal(int number) {
    if (!poll()) ::kill(pid_, number);
}

bool BotProcess::poll() {
    if (status_) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return false;
    status_ = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    return true;
}

boost::asio::awaitable<std::optional<int>> BotProcess::wait(std::chrono::milliseconds limit) {
    co_await net::testing::wait_until([this] { return poll(); }, limit);
    co_return status_;
}

std::string BotProcess::log() const {
    std::ifstream in(log_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

nlohmann::json export_incident(const std::string& binary, const fs::path& db,
                               const std::string& key) {
    // A clean environment: the export reads the database only.
    const std::string command = "env -i PATH=/usr/bin:/bin " + binary + " export " + key +
                                " --format json --db '" + db.string() + "' 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) return nlohmann::json::value_t::discarded;
    std::string out;
    std::array<char, 65536> buffer{};
    std::size_t n = 0;
    while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
        out.append(buffer.data(), n);
    if (::pclose(pipe) != 0) return nlohmann::json::value_t::discarded;
    return nlohmann::json::parse(out, nullptr, false);
}

TempDir::TempDir(const std::string& name)
    : path(fs::temp_directory_path() / (name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
}

TempDir::~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
}

}  // namespace incident::testing

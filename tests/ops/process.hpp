#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

namespace incident::testing {

struct ProcessOptions {
    std::vector<std::string> args;  // after the binary
    std::vector<std::string> env;   // exactly these, plus PATH
    std::filesystem::path out;      // stdout goes here
    std::filesystem::path err;      // stderr goes here
    std::filesystem::path in;       // stdin from this file; empty: /dev/null
    bool stdin_pipe = false;        // stdin from a pipe, open until close_stdin()
    std::optional<uid_t> uid;       // run as this user (and its group), when root
};

// The real incident-bot as a child process. Waiting is a coroutine, so that fakes on the
// test's io_context keep serving it meanwhile.
class Process {
public:
    Process(const std::string& binary, ProcessOptions options);
    ~Process();  // kills the child if it still runs
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    pid_t pid() const { return pid_; }
    void signal(int number);
    // Writes all of `text` to the stdin pipe (stdin_pipe); false when the child closed it.
    bool write_stdin(std::string_view text);
    void close_stdin();
    bool running();
    // The exit status (128 + the signal when killed by one); nullopt while it still runs
    // after `limit`.
    boost::asio::awaitable<std::optional<int>> wait(std::chrono::milliseconds limit);
    std::optional<int> wait_blocking(std::chrono::milliseconds limit);
    std::string out() const;
    std::string err() const;

private:
    bool poll();

    pid_t pid_ = -1;
    int stdin_fd_ = -1;
    std::optional<int> status_;
    ProcessOptions options_;
};

struct Run {
    int status = -1;
    std::string out;
    std::string err;
};

// Runs the binary to completion (at most 60 s), nothing else running meanwhile.
Run run_binary(const std::vector<std::string>& args, const std::vector<std::string>& env,
               const std::filesystem::path& dir, const std::filesystem::path& in = {});

// A fresh folder under the temp dir, removed with its contents at the end.
struct TempDir {
    explicit TempDir(const std::string& name);
    ~TempDir();
    std::filesystem::path path;
};

std::string read_file(const std::filesystem::path& path);
bool has(const std::string& text, const std::string& part);
// The line of `name` in doctor output ("error   slack.auth   ..."), or "".
std::string check_line(const std::string& output, const std::string& name);

extern const std::string k_binary;

}  // namespace incident::testing

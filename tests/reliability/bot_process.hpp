#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

namespace incident::testing {

// The real incident-bot as a child process, its output in a log file. Waiting is a
// coroutine so that the in-process fake keeps serving the bot while it shuts down.
class BotProcess {
public:
    // Starts `binary` with exactly `env` (plus the sanitizer options of this process).
    BotProcess(const std::string& binary, std::vector<std::string> env,
               const std::filesystem::path& log);
    // Kills the bot if it still runs.
    ~BotProcess();
    BotProcess(const BotProcess&) = delete;
    BotProcess& operator=(const BotProcess&) = delete;

    void signal(int number);
    // The exit code, 128 + the signal for a bot killed by one, nullopt while it still runs
    // after `limit`.
    boost::asio::awaitable<std::optional<int>> wait(std::chrono::milliseconds limit);
    bool running() const { return !status_; }
    std::string log() const;

private:
    bool poll();

    pid_t pid_ = -1;
    std::optional<int> status_;
    std::filesystem::path log_;
};

// `incident-bot export <key> --format json --db <db>`: the incident as the CLI prints it,
// or a discarded value when the export failed.
nlohmann::json export_incident(const std::string& binary, const std::filesystem::path& db,
                               const std::string& key);

// A folder under the temp dir that is removed with its contents at the end of the test.
struct TempDir {
    explicit TempDir(const std::string& name);
    ~TempDir();
    std::filesystem::path path;
};

}  // namespace incident::testing

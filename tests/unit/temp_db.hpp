#pragma once

#include <atomic>
#include <filesystem>
#include <string>
#include <system_error>

#include <unistd.h>

namespace incident::testing {

// A database file that is removed, with its WAL companions and its folder of evidence files,
// when the test ends.
class TempDb {
public:
    TempDb() {
        static std::atomic<int> counter{0};
        path_ = (std::filesystem::temp_directory_path() /
                 ("incident-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) +
                  ".db"))
                    .string();
        remove_files();
    }
    ~TempDb() { remove_files(); }
    TempDb(const TempDb&) = delete;
    TempDb& operator=(const TempDb&) = delete;

    const std::string& path() const { return path_; }

private:
    void remove_files() {
        std::error_code ignored;
        for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
            std::filesystem::remove(path_ + suffix, ignored);
        }
        std::filesystem::remove_all(path_ + ".files", ignored);
    }

    std::string path_;
};

}  // namespace incident::testing

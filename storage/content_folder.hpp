#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace incident {

// File contents of a SQLite database, once per SHA-256, in a folder beside the database file
// (<db>.files/<sha256>). A database in memory keeps them in memory.
class ContentFolder {
public:
    // `database` is the SQLite path; "" or ":memory:" keep contents in memory.
    ContentFolder(const std::string& database, bool in_memory);

    // Written to a temporary file, flushed and renamed, so a reader never sees half a file
    // and a row marked stored after this returns survives a crash. Throws
    // std::runtime_error (and std::invalid_argument for a name that is not a SHA-256).
    void put(std::string_view sha256, std::string_view bytes);
    std::optional<std::string> get(std::string_view sha256) const;
    bool contains(std::string_view sha256) const;
    const std::string& folder() const { return folder_; }

private:
    std::string folder_;  // empty: in memory
    std::map<std::string, std::string, std::less<>> memory_;
};

// Where the contents of the SQLite database at `database` are kept: "<database>.files".
std::string content_folder_of(const std::string& database);

// 64 lower-case hex digits: the only names the folder takes (no path can be built from one).
bool is_sha256_hex(std::string_view text);

}  // namespace incident

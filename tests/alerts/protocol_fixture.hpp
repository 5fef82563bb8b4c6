#pragma once

#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "process.hpp"

namespace incident::testing {

// A payload of tests/protocol/<source>/fixtures/, byte for byte (signatures are computed over
// it); the test fails when it is missing.
inline std::string protocol_fixture(const std::string& source, const std::string& name) {
    const std::filesystem::path path =
        std::filesystem::path(INCIDENT_BOT_PROTOCOL_DIR) / source / "fixtures" / name;
    REQUIRE_MESSAGE(std::filesystem::exists(path), path.string());
    return read_file(path);
}

}  // namespace incident::testing

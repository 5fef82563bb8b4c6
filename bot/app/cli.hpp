#pragma once

#include <optional>
#include <string>
#include <vector>

namespace incident::app {

// The command line: a sub-command and its options. Settings come from the environment and
// --config, not from here (bot/config.hpp).
struct Options {
    // "", "console", "export", "doctor", "backup", "restore", "healthcheck"
    std::string command;
    std::string incident;  // export
    std::string path;      // backup, restore
    std::optional<std::string> format;
    std::optional<std::string> db;
    std::optional<std::string> config;
    std::optional<std::string> log_format;
};

// Nullopt with `error` set on a bad command line.
std::optional<Options> parse_options(const std::vector<std::string>& args, std::string& error);
// --help: the sub-commands, the options and every setting.
std::string usage();
// Prints the error and a pointer to --help; returns the exit status of a usage error (2).
int usage_error(const std::string& message);

}  // namespace incident::app

#pragma once

#include <string>
#include <vector>

namespace incident::ops {

enum class LogFormat { text, json };

// Installs the default logger: one line per message on stderr, either human-readable
// ("[2026-11-23 10:30:18.123] [info] ...") or a JSON object per line with "ts" (UTC, ISO
// 8601 with milliseconds), "level" and "msg". Every secret in `secrets` is replaced by
// [redacted] wherever it would appear: a last line of defence, the adapters never log one.
// `level` is a spdlog level name ("info" when empty); SPDLOG_LEVEL still overrides it.
void setup_logging(LogFormat format, std::vector<std::string> secrets, const std::string& level);

// `text` with every occurrence of each secret replaced by [redacted].
std::string redact(std::string text, const std::vector<std::string>& secrets);

}  // namespace incident::ops

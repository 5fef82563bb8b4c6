#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "bot/events.hpp"
#include "bot/types.hpp"

// Evidence: files and screenshots shared in an incident channel, kept with the incident
// because the chat's retention would lose them. What to record of a message's files, what
// to say about one over the size limit, and how a stored file may be named and served.
namespace incident {

inline constexpr std::int64_t k_default_file_max_bytes = 25 * 1024 * 1024;

// The record of one shared file, pending its download (nothing downloaded yet).
EvidenceFile evidence_of(const SharedFile& shared, std::int64_t incident,
                         const MessagePosted& message, Timestamp at);
// The same for a file announced on its own (no message): only its id may be known.
EvidenceFile evidence_of(const FileShared& shared, std::int64_t incident, Timestamp at);

// What the incident channel is told about a file over the limit.
std::string too_large_notice(const EvidenceFile& file, std::int64_t max_bytes);

// "1.5 MB", "312 KB", "17 bytes".
std::string human_size(std::int64_t bytes);

// The image types browsers show and never execute: served with their own type. Everything
// else is served as a download (application/octet-stream).
bool is_inline_image(std::string_view mime_type);

// A file name that is safe on any disk, in a URL, a header or an archive: letters, digits,
// '.', '-' and '_' only, never starting with '.', at most 100 bytes; "file" when nothing is left.
std::string safe_file_name(std::string_view name);

// Where a stored file goes in an export bundle: files/<first 12 of sha256>-<safe name>.
std::string bundle_path(const EvidenceFile& file);

// The dashboard route of a file: /incidents/INC-<n>/files/<id>.
std::string file_path(const EvidenceFile& file);

}  // namespace incident

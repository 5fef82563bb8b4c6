#include "bot/evidence.hpp"

#include <array>
#include <cstdio>

#include "bot/text.hpp"

namespace incident {

namespace {

constexpr std::size_t k_max_safe_name = 100;

}  // namespace

EvidenceFile evidence_of(const SharedFile& shared, std::int64_t incident,
                         const MessagePosted& message, Timestamp at) {
    EvidenceFile file =
        evidence_of(FileShared{message.header, shared, message.author}, incident, at);
    file.message_id = message.message_id;
    return file;
}

EvidenceFile evidence_of(const FileShared& shared, std::int64_t incident, Timestamp at) {
    EvidenceFile file;
    file.incident = incident;
    file.platform = shared.header.platform;
    file.source_id = shared.file.id;
    file.source_url = shared.file.url;
    // A name that is not UTF-8 would spoil every page that shows it; the bytes are kept.
    file.name = is_valid_utf8(shared.file.name) ? truncate_utf8(shared.file.name, 1000) : "";
    if (trim(file.name).empty()) file.name = "file";  // named later by the platform, if at all
    file.mime_type =
        is_valid_utf8(shared.file.mime_type) ? truncate_utf8(shared.file.mime_type, 200) : "";
    file.size = shared.file.size;
    file.shared_by = shared.by;
    file.shared_at = at;
    file.status = FileStatus::pending;
    return file;
}

std::string human_size(std::int64_t bytes) {
    std::array<char, 32> out{};
    if (bytes >= 1024 * 1024) {
        std::snprintf(out.data(), out.size(), "%.1f MB", static_cast<double>(bytes) / 1048576.0);
    } else if (bytes >= 1024) {
        std::snprintf(out.data(), out.size(), "%lld KB", static_cast<long long>(bytes / 1024));
    } else {
        std::snprintf(out.data(), out.size(), "%lld bytes", static_cast<long long>(bytes));
    }
    return out.data();
}

std::string too_large_notice(const EvidenceFile& file, std::int64_t max_bytes) {
    std::string text = "📎 " + file.name + " (" + human_size(file.size) + ") is over the " +
                       human_size(max_bytes) +
                       " limit for evidence: recorded with its name and link, not kept.";
    if (!file.source_url.empty()) text += " " + file.source_url;
    return text;
}

bool is_inline_image(std::string_view mime_type) {
    const std::string type = to_lower(trim(mime_type));
    return type == "image/png" || type == "image/jpeg" || type == "image/gif" ||
           type == "image/webp";
}

std::string safe_file_name(std::string_view name) {
    std::string out;
    for (const char c : name) {
        const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
        const char next = keep ? c : '_';
        // Runs of replaced characters are one '_': "../../etc/passwd" -> "etc_passwd".
        if (next == '_' && !out.empty() && out.back() == '_') continue;
        out.push_back(next);
    }
    while (!out.empty() && (out.front() == '.' || out.front() == '_')) out.erase(out.begin());
    if (out.size() > k_max_safe_name) out.erase(0, out.size() - k_max_safe_name);
    while (!out.empty() && out.front() == '.') out.erase(out.begin());
    return out.empty() ? "file" : out;
}

std::string bundle_path(const EvidenceFile& file) {
    return "files/" + file.sha256.substr(0, 12) + "-" + safe_file_name(file.name);
}

std::string file_path(const EvidenceFile& file) {
    return "/incidents/" + incident_key(file.incident) + "/files/" + std::to_string(file.id);
}

}  // namespace incident

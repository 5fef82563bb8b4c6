#include "adapters/ops/bundle.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <set>
#include <stdexcept>

#include "bot/evidence.hpp"
#include "bot/export_json.hpp"
#include "bot/postmortem.hpp"
#include "bot/shared_library.hpp"

namespace incident::ops {

namespace {

// libarchive, opened with the first bundle (bot/shared_library.hpp): the bot does not load
// it, nor its libxml2 and ICU, until someone exports one.
struct Libarchive {
    SharedLibrary library{"libarchive.so.13"};
    INCIDENT_LIBRARY_FUNCTION(library, archive_entry_free);
    INCIDENT_LIBRARY_FUNCTION(library, archive_entry_new);
    INCIDENT_LIBRARY_FUNCTION(library, archive_entry_set_filetype);
    INCIDENT_LIBRARY_FUNCTION(library, archive_entry_set_mtime);
    INCIDENT_LIBRARY_FUNCTION(library, archive_entry_set_pathname);
    INCIDENT_LIBRARY_FUNCTION(library, archive_entry_set_perm);
    INCIDENT_LIBRARY_FUNCTION(library, archive_entry_set_size);
    INCIDENT_LIBRARY_FUNCTION(library, archive_error_string);
    INCIDENT_LIBRARY_FUNCTION(library, archive_version_string);
    INCIDENT_LIBRARY_FUNCTION(library, archive_write_add_filter_gzip);
    INCIDENT_LIBRARY_FUNCTION(library, archive_write_close);
    INCIDENT_LIBRARY_FUNCTION(library, archive_write_data);
    INCIDENT_LIBRARY_FUNCTION(library, archive_write_free);
    INCIDENT_LIBRARY_FUNCTION(library, archive_write_header);
    INCIDENT_LIBRARY_FUNCTION(library, archive_write_new);
    INCIDENT_LIBRARY_FUNCTION(library, archive_write_open);
    INCIDENT_LIBRARY_FUNCTION(library, archive_write_set_bytes_in_last_block);
    INCIDENT_LIBRARY_FUNCTION(library, archive_write_set_format_pax_restricted);
};

// Loaded once; a failure throws, and the next call tries again.
const Libarchive& libarchive() {
    static const Libarchive loaded;
    return loaded;
}

la_ssize_t append(struct archive*, void* out, const void* data, size_t size) {
    static_cast<std::string*>(out)->append(static_cast<const char*>(data), size);
    return static_cast<la_ssize_t>(size);
}

class Writer {
public:
    explicit Writer(std::string& out)
        : archive_(libarchive().archive_write_new(), libarchive().archive_write_free) {
        if (!archive_) throw std::runtime_error("libarchive: cannot create an archive");
        check(libarchive().archive_write_set_format_pax_restricted(archive_.get()));
        check(libarchive().archive_write_add_filter_gzip(archive_.get()));
        // Written as it comes, not in 10 KB blocks padded at the end.
        check(libarchive().archive_write_set_bytes_in_last_block(archive_.get(), 1));
        check(libarchive().archive_write_open(archive_.get(), &out, nullptr, append, nullptr));
    }

    void add(const std::string& path, const std::string& bytes, Timestamp at) {
        std::unique_ptr<archive_entry, decltype(Libarchive::archive_entry_free)> entry(
            libarchive().archive_entry_new(), libarchive().archive_entry_free);
        libarchive().archive_entry_set_pathname(entry.get(), path.c_str());
        libarchive().archive_entry_set_size(entry.get(), static_cast<la_int64_t>(bytes.size()));
        libarchive().archive_entry_set_filetype(entry.get(), AE_IFREG);
        libarchive().archive_entry_set_perm(entry.get(), 0644);
        libarchive().archive_entry_set_mtime(entry.get(), at / 1000, 0);
        check(libarchive().archive_write_header(archive_.get(), entry.get()));
        if (!bytes.empty() &&
            libarchive().archive_write_data(archive_.get(), bytes.data(), bytes.size()) < 0) {
            check(ARCHIVE_FATAL);
        }
    }

    void close() { check(libarchive().archive_write_close(archive_.get())); }

private:
    void check(int status) {
        if (status < ARCHIVE_WARN) {
            const char* why = libarchive().archive_error_string(archive_.get());
            throw std::runtime_error(std::string("libarchive: ") + (why ? why : "failed"));
        }
    }

    std::unique_ptr<struct archive, decltype(Libarchive::archive_write_free)> archive_;
};

void add_files(Writer& writer, IncidentService& service, const IncidentSnapshot& snap,
               const std::string& folder, std::set<std::string>& written) {
    for (const auto& file : snap.files) {
        if (file.status != FileStatus::stored) continue;
        const std::string path = folder + bundle_path(file);
        if (!written.insert(path).second) continue;  // the same content under the same name
        const auto content = service.file_content(file);
        if (!content) {
            throw std::runtime_error(snap.incident.key() + ": the content of " + file.name + " (" +
                                     file.sha256 + ") is missing from the store");
        }
        writer.add(path, *content, file.shared_at);
    }
    for (const auto& merged : snap.merged) add_files(writer, service, merged, folder, written);
}

}  // namespace

std::string export_bundle(IncidentService& service, std::int64_t number) {
    const IncidentSnapshot snap = service.snapshot(number);
    const std::string folder = snap.incident.key() + "/";
    const Timestamp at = service.now();
    std::string out;
    Writer writer(out);
    writer.add(folder + "postmortem.md", render_postmortem(snap), at);
    writer.add(folder + "incident.json", to_json(snap).dump(2) + "\n", at);
    std::set<std::string> written;
    add_files(writer, service, snap, folder, written);
    writer.close();
    return out;
}

std::string archive_library_version() {
    return libarchive().archive_version_string();
}

}  // namespace incident::ops

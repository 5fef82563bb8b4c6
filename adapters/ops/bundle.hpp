#pragma once

#include <cstdint>
#include <string>

#include "bot/incident_service.hpp"

namespace incident::ops {

// `incident-bot export INC-<n> --format bundle`: one gzip'd tar for a wiki or a ticket, with
// INC-<n>/postmortem.md, INC-<n>/incident.json and every stored evidence file (of merged
// incidents too) as INC-<n>/files/<first 12 of its sha256>-<safe name>: names that cannot
// leave the folder or hide as dot files, whatever was typed in chat. Throws
// std::runtime_error when libarchive fails or a stored file's content is missing.
std::string export_bundle(IncidentService& service, std::int64_t number);

// "libarchive 3.6.2", loading the library (opened on first use); throws std::runtime_error
// when it is not installed.
std::string archive_library_version();

}  // namespace incident::ops

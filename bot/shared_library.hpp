#pragma once

#include <string>

namespace incident {

// A shared library opened when it is first needed (dlopen), not when the bot starts: libpq,
// libcurl and libarchive serve only some configurations and commands (PostgreSQL, email, the
// bundle export), and linked they are loaded and relocated with their dependencies (Kerberos,
// LDAP, GnuTLS, libxml2, ICU) into every process, 5.5 MB of resident memory before main().
// Kept open for the life of the process.
class SharedLibrary {
public:
    // Opens `soname` (e.g. "libpq.so.5"); throws std::runtime_error naming it when it cannot.
    explicit SharedLibrary(const char* soname);

    // The function `name` of the library as the type F, the pointer type of its declaration
    // in the library's header (decltype(&::name)); throws std::runtime_error when it is not
    // there.
    template <typename F>
    F function(const char* name) const {
        return reinterpret_cast<F>(symbol(name));
    }

private:
    void* symbol(const char* name) const;

    std::string soname_;
    void* handle_ = nullptr;
};

}  // namespace incident

// Declares the member `name` of a table of a SharedLibrary's functions, looked up in the
// SharedLibrary member `library` declared before it: INCIDENT_LIBRARY_FUNCTION(lib, PQexec);
#define INCIDENT_LIBRARY_FUNCTION(library, name) \
    decltype(&::name) name = library.function<decltype(&::name)>(#name)

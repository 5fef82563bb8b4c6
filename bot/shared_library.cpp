#include "bot/shared_library.hpp"

#include <dlfcn.h>

#include <stdexcept>

namespace incident {

namespace {

std::string last_error() {
    const char* why = ::dlerror();
    return why ? why : "unknown error";
}

}  // namespace

SharedLibrary::SharedLibrary(const char* soname)
    : soname_(soname), handle_(::dlopen(soname, RTLD_NOW | RTLD_LOCAL)) {
    if (!handle_) throw std::runtime_error("cannot load " + soname_ + ": " + last_error());
}

void* SharedLibrary::symbol(const char* name) const {
    ::dlerror();
    void* found = ::dlsym(handle_, name);
    if (!found) {
        throw std::runtime_error("cannot find " + std::string(name) + " in " + soname_ + ": " +
                                 last_error());
    }
    return found;
}

}  // namespace incident

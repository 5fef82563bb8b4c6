#pragma once

#include <cstdio>
#include <cstdlib>

namespace incident::fuzz {

// A broken invariant is a finding, like a crash: abort so that libFuzzer keeps the input.
inline void require(bool ok, const char* what) {
    if (ok) return;
    std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
    std::abort();
}

}  // namespace incident::fuzz

#include "adapters/net/backoff.hpp"

#include <algorithm>

namespace incident::net {

Backoff::Backoff(BackoffOptions options, std::optional<std::uint64_t> seed)
    : options_(options), rng_(seed ? *seed : std::random_device{}()) {
    if (options_.base.count() < 1) options_.base = std::chrono::milliseconds(1);
    if (options_.cap < options_.base) options_.cap = options_.base;
    previous_ms_ = options_.base.count();
}

std::int64_t Backoff::uniform(std::int64_t low, std::int64_t high) {
    if (high <= low) return low;
    // Plain modulo instead of a std distribution: those differ between standard
    // libraries, and seeded sequences must not. The bias is negligible at these spans.
    const auto span = static_cast<std::uint64_t>(high - low) + 1;
    return low + static_cast<std::int64_t>(rng_() % span);
}

std::chrono::milliseconds Backoff::next() {
    const std::int64_t base = options_.base.count();
    const std::int64_t cap = options_.cap.count();
    // base * 2^attempts without overflow: stop doubling once past the cap.
    std::int64_t ceiling = base;
    for (unsigned i = 0; i < attempts_ && ceiling < cap; ++i) ceiling *= 2;
    ceiling = std::min(ceiling, cap);

    std::int64_t delay = ceiling;
    switch (options_.jitter) {
        case Jitter::none:
            break;
        case Jitter::full:
            delay = uniform(0, ceiling);
            break;
        case Jitter::decorrelated:
            delay = std::min(cap, uniform(base, std::max(base, previous_ms_ * 3)));
            break;
    }
    previous_ms_ = delay;
    if (attempts_ < 64) ++attempts_;
    return std::chrono::milliseconds(delay);
}

void Backoff::reset() {
    attempts_ = 0;
    previous_ms_ = options_.base.count();
}

}  // namespace incident::net

#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

namespace incident::net {

enum class Jitter {
    none,          // base * 2^n, capped
    full,          // uniform in [0, min(cap, base * 2^n)]
    decorrelated,  // uniform in [base, min(cap, previous * 3)]
};

struct BackoffOptions {
    std::chrono::milliseconds base{500};
    std::chrono::milliseconds cap{30'000};
    Jitter jitter = Jitter::full;
};

// Delays between reconnect or retry attempts. Seeded, the sequence is reproducible.
class Backoff {
public:
    explicit Backoff(BackoffOptions options = {}, std::optional<std::uint64_t> seed = std::nullopt);

    // The delay before the next attempt; counts the attempt.
    std::chrono::milliseconds next();
    // After a success: the next delay starts from the base again.
    void reset();
    unsigned attempts() const { return attempts_; }
    const BackoffOptions& options() const { return options_; }

private:
    std::int64_t uniform(std::int64_t low, std::int64_t high);

    BackoffOptions options_;
    std::mt19937_64 rng_;
    unsigned attempts_ = 0;
    std::int64_t previous_ms_ = 0;
};

}  // namespace incident::net

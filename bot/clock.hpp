#pragma once

#include <chrono>

#include "bot/types.hpp"

namespace incident {

// Injected everywhere time matters, so reminders and durations are testable.
class Clock {
public:
    virtual ~Clock() = default;
    virtual Timestamp now() const = 0;
};

class SystemClock final : public Clock {
public:
    Timestamp now() const override {
        using namespace std::chrono;
        return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
    }
};

class ManualClock final : public Clock {
public:
    explicit ManualClock(Timestamp start) : now_(start) {}
    Timestamp now() const override { return now_; }
    void advance(Timestamp ms) { now_ += ms; }
    void set(Timestamp at) { now_ = at; }

private:
    Timestamp now_;
};

}  // namespace incident

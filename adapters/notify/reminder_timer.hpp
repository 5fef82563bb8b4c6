#pragma once

#include <functional>
#include <memory>

#include <boost/asio/any_io_executor.hpp>

#include "bot/reminders.hpp"

namespace incident::notify {

// Runs ReminderService::tick() every policy().tick on the executor (the thread that owns
// the domain) and hands each reminder to `route`, which gives it to the chat adapter of
// reminder.platform (every adapter when it is empty).
class ReminderTimer {
public:
    using Route = std::function<void(const Reminder&)>;

    ReminderTimer(boost::asio::any_io_executor executor, ReminderService& reminders, Route route);
    ~ReminderTimer();
    ReminderTimer(const ReminderTimer&) = delete;
    ReminderTimer& operator=(const ReminderTimer&) = delete;

    void start();
    void stop();

    struct State;

private:
    std::shared_ptr<State> state_;
};

}  // namespace incident::notify

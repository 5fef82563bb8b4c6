#include "adapters/notify/reminder_timer.hpp"

#include <chrono>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "adapters/net/log_stopped.hpp"

namespace incident::notify {

namespace asio = boost::asio;

struct ReminderTimer::State {
    State(asio::any_io_executor executor, ReminderService& reminders, Route route)
        : executor(executor), reminders(reminders), route(std::move(route)), timer(executor) {}

    asio::any_io_executor executor;
    ReminderService& reminders;
    Route route;
    asio::steady_timer timer;
    bool stopping = false;
};

namespace {

asio::awaitable<void> run(std::shared_ptr<ReminderTimer::State> s) {
    const std::chrono::milliseconds period(std::max<Timestamp>(s->reminders.policy().tick, 1));
    while (!s->stopping) {
        try {
            for (const auto& reminder : s->reminders.tick()) s->route(reminder);
        } catch (const std::exception& e) {
            // Nothing was recorded; the next tick tries again.
            spdlog::error("reminders: tick failed: {}", e.what());
        }
        s->timer.expires_after(period);
        boost::system::error_code ec;
        co_await s->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

}  // namespace

ReminderTimer::ReminderTimer(asio::any_io_executor executor, ReminderService& reminders,
                             Route route)
    : state_(std::make_shared<State>(executor, reminders, std::move(route))) {}

ReminderTimer::~ReminderTimer() {
    stop();
}

void ReminderTimer::start() {
    asio::co_spawn(state_->executor, run(state_), net::LogStopped{"reminders: timer"});
}

void ReminderTimer::stop() {
    asio::dispatch(state_->executor, [s = state_] {
        s->stopping = true;
        s->timer.cancel();
    });
}

}  // namespace incident::notify

/* dcmtk_log_dcmtk: DCMTK's log4cplus (oflog) through one appender of ours
 * (io/dcmtk_log.h). The appender hands each event's level, logger name and message to
 * the route set by dcmtk_log_route; log4cplus serialises appends, and the route is
 * read under the same lock. */
#include "dcmtk/config/osconfig.h"

#include "dcmtk/oflog/appender.h"
#include "dcmtk/oflog/logger.h"
#include "dcmtk/oflog/loglevel.h"
#include "dcmtk/oflog/oflog.h"
#include "dcmtk/oflog/spi/logevent.h"

#include "io/dcmtk_log.h"

#include <cstring>
#include <mutex>

namespace {

std::mutex route_lock;
dcmtk_log_fn route_fn = nullptr;
void *route_user = nullptr;
std::once_flag setup_once;

char level_letter(dcmtk::log4cplus::LogLevel l)
{
    return l >= dcmtk::log4cplus::FATAL_LOG_LEVEL ? 'F' : l >= dcmtk::log4cplus::ERROR_LOG_LEVEL ? 'E' : 'W';
}

class route_appender : public dcmtk::log4cplus::Appender {
  public:
    route_appender() {}
    ~route_appender() { destructorImpl(); }
    void close() override { closed = true; }

  protected:
    void append(const dcmtk::log4cplus::spi::InternalLoggingEvent &ev) override
    {
        try {
            char level = level_letter(ev.getLogLevel());
            const char *logger = ev.getLoggerName().c_str(), *msg = ev.getMessage().c_str();
            /* dcmdata's VR checker says this of every UTF-8 (ISO_IR 192) file it meets; it is
             * a limit of the checker, not of the file, and says nothing to the user */
            if (level == 'W' && std::strstr(msg, "VR checker does not support this Specific Character Set"))
                return;
            std::lock_guard<std::mutex> g(route_lock);
            if (route_fn)
                route_fn(route_user, level, logger, msg);
            else
                c2_warn("DCMTK %s (%c): %s", logger, level, msg);
        } catch (...) {
        }
    }
};

} // namespace

extern "C" void dcmtk_log_setup(void)
{
    try {
        std::call_once(setup_once, [] {
            using namespace dcmtk::log4cplus;
            Logger root = Logger::getRoot();
            root.removeAllAppenders();
            root.addAppender(SharedAppenderPtr(new route_appender()));
            root.setLogLevel(WARN_LOG_LEVEL);
            Logger::getInstance("dcmtk.dcmiod").setLogLevel(ERROR_LOG_LEVEL);
            Logger::getInstance("dcmtk.dcmseg").setLogLevel(ERROR_LOG_LEVEL);
        });
    } catch (...) {
    }
}

extern "C" void dcmtk_log_route(dcmtk_log_fn fn, void *user)
{
    {
        std::lock_guard<std::mutex> g(route_lock);
        route_fn = fn;
        route_user = user;
    }
    dcmtk_log_setup();
}

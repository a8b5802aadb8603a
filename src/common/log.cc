#include "nudge/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include "nudge/progress.h"

namespace nudge {

void configure_logging(LogLevel level) {
  auto logger = spdlog::stderr_color_mt("nudge");
  logger->set_pattern("[%H:%M:%S.%e] %^%l%$ %v");
  switch (level) {
    case LogLevel::kQuiet:
      logger->set_level(spdlog::level::err);
      Progress::set_enabled(false);
      break;
    case LogLevel::kNormal: logger->set_level(spdlog::level::info); break;
    case LogLevel::kVerbose: logger->set_level(spdlog::level::debug); break;
  }
  spdlog::set_default_logger(logger);
}

}  // namespace nudge

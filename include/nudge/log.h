// Logging: Nudge logs through spdlog to stderr (stdout is kept for results).
//
// Call configure_logging once at start-up (the CLI does it from --verbose / --quiet).
#pragma once

#include <spdlog/spdlog.h>

namespace nudge {

enum class LogLevel { kQuiet, kNormal, kVerbose };

// Sets the global spdlog logger to stderr with a compact pattern. kQuiet shows only errors
// and disables progress display.
void configure_logging(LogLevel level);

}  // namespace nudge

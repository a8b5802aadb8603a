// The web console's page (src/serve/ui/console.html, embedded at build time by
// cmake/embed_text.cmake): HTML, CSS and script in one file, served at GET /ui/.
#pragma once

#include <string_view>

namespace nudge::serve {

extern const std::string_view kConsoleHtml;

}  // namespace nudge::serve

// Writing a whole file so that readers never see a half-written one (internal).
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include "nudge/status.h"

namespace nudge {

// Writes `pieces`, in order, to "<path>.tmp", then renames it over `path`.
Status write_file_atomically(const std::string& path, std::initializer_list<std::string_view> pieces);

}  // namespace nudge

// The JSON Lines interaction reader (internal): one object per line, keys picked by the
// ColumnMapping or the usual names.
#pragma once

#include <string_view>

#include "line_source.h"
#include "nudge/readers.h"
#include "row_sink.h"

namespace nudge {

// `first_line` has been taken from `src` already (format detection reads it).
Status read_json_lines(LineSource& src, std::string_view first_line, const ReadOptions& options,
                       DatasetBuilder& builder, RejectLog& log);

}  // namespace nudge

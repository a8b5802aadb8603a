// libFuzzer target: the interaction readers. The first byte picks the format (CSV, TSV,
// JSON Lines, the three MovieLens layouts, or detection), strictness and whether the text is
// read as a whole file or as a part of one (nudge-train-mpi's ranks), its first line then the
// file's header as is_header_line judges it; the rest is the file.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "nudge/readers.h"

using namespace nudge;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static constexpr InputFormat kFormats[] = {
      InputFormat::kAuto,          InputFormat::kCsv,         InputFormat::kTsv,         InputFormat::kJsonLines,
      InputFormat::kMovieLens100k, InputFormat::kMovieLens1m, InputFormat::kMovieLensCsv};
  ReadOptions options;
  options.format = kFormats[data[0] % std::size(kFormats)];
  options.strict = (data[0] & 0x80) != 0;
  options.max_rejects_kept = 4;
  DatasetBuilder builder;
  ReadReport report;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  if ((data[0] & 0x40) != 0) {
    const size_t nl = std::min(text.find('\n'), text.size());
    FilePartText part;
    part.text = text.substr(std::min(nl + 1, text.size()));
    if (is_header_line(text.substr(0, nl), "fuzz.csv", options)) part.header = text.substr(0, nl);
    part.first_line = 2;
    read_interactions_part(part, "fuzz.csv", options, builder, report);
  } else {
    read_interactions_text(text, "fuzz.csv", options, builder, report);
  }
  builder.build();
  return 0;
}

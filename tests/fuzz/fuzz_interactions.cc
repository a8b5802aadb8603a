// libFuzzer target: the interaction readers. The first byte picks the format (CSV, TSV,
// JSON Lines, the three MovieLens layouts, or detection), the rest is the file.
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
  read_interactions_text(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1), "fuzz.csv", options,
                         builder, report);
  builder.build();
  return 0;
}

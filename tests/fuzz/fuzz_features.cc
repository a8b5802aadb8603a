// libFuzzer target: the item/user feature readers (annotated CSV, MovieLens movies files).
// The first byte picks the format and whether the rows describe items or users.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "nudge/readers.h"

using namespace nudge;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static constexpr FeatureFormat kFormats[] = {FeatureFormat::kAuto, FeatureFormat::kCsv, FeatureFormat::kMovieLens1m,
                                               FeatureFormat::kMovieLensCsv};
  FeatureReadOptions options;
  options.format = kFormats[data[0] % std::size(kFormats)];
  options.strict = (data[0] & 0x80) != 0;
  options.max_rejects_kept = 4;
  const FeatureTarget target = (data[0] & 0x40) != 0 ? FeatureTarget::kUsers : FeatureTarget::kItems;
  DatasetBuilder builder;
  ReadReport report;
  read_features_text(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1), "fuzz.csv", target, options,
                     builder, report);
  builder.build();
  return 0;
}

// libFuzzer target: the request target parser (path, percent-decoding, query parameters).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "serve/query_string.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view target(reinterpret_cast<const char*>(data), size);
  std::string bad_param;
  nudge::serve::parse_target(target, &bad_param);
  nudge::serve::percent_decode(target, true);
  nudge::serve::percent_decode(target, false);
  return 0;
}

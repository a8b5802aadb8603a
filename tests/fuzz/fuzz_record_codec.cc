// libFuzzer target: the event store's record decoders. Whatever decodes must encode to bytes
// that decode and encode again to the same bytes (the store re-reads what it wrote). Bytes,
// not records, are compared: a stored NaN value decodes, and NaN != NaN.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "serve/record_codec.h"

using namespace nudge::serve;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Event event;
  if (decode_event(bytes, &event)) {
    const std::string once = encode_event(event);
    Event again;
    if (!decode_event(once, &again) || encode_event(again) != once || again.user != event.user) std::abort();
  }
  ItemRecord item;
  if (decode_item(bytes, &item)) {
    const std::string once = encode_item(item);
    ItemRecord again;
    if (!decode_item(once, &again) || encode_item(again) != once || again.tags != item.tags) std::abort();
  }
  uint64_t sequence = 0;
  if (parse_event_key(bytes, &sequence) && event_key(sequence) != bytes) std::abort();
  printable_key(bytes);
  return 0;
}

// libFuzzer target: the event store's record decoders. Whatever decodes must encode back to
// bytes that decode to the same record (the store re-reads what it wrote).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "serve/record_codec.h"

using namespace nudge::serve;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Event event;
  if (decode_event(bytes, &event)) {
    Event again;
    if (!decode_event(encode_event(event), &again) || !(again == event)) std::abort();
  }
  ItemRecord item;
  if (decode_item(bytes, &item)) {
    ItemRecord again;
    if (!decode_item(encode_item(item), &again) || again.id != item.id || again.tags != item.tags) std::abort();
  }
  uint64_t sequence = 0;
  if (parse_event_key(bytes, &sequence) && event_key(sequence) != bytes) std::abort();
  printable_key(bytes);
  return 0;
}

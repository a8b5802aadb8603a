// The records `nudge serve` stores and serves: an event, an item's and a user's record, the
// position reached in an external log, and the store's health. Plain values; the event
// store (src/serve/event_store.h) persists them, the engine (engine.h) ingests them.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace nudge::serve {

struct Event {
  std::string user;
  std::string item;
  std::string type = "view";
  float value = 1.f;
  int64_t timestamp = 0;  // seconds since the Unix epoch
  // The served list the event answers (experiment.h), attributed on arrival; not stored.
  std::string rec_id;
  bool operator==(const Event&) const = default;
};

// An item's features as the API knows them. Hidden items stay in the store (their events
// still train the model) but never come back in results.
struct ItemRecord {
  std::string id;
  std::string category;  // empty: none
  std::vector<std::string> tags;
  float price = std::nanf("");  // NaN: none
  bool hidden = false;
};

struct UserRecord {
  std::string id;
  std::string attributes_json;  // an object, stored as sent
};

// How far the store has taken an external log (a Kafka partition): `next` is the offset of
// the first message not yet stored. Written in the same WriteBatch as the events it covers,
// so after a crash the events and the position agree and a replay neither loses nor repeats.
struct StreamPosition {
  std::string stream;  // e.g. "kafka:events:3" (topic, partition)
  int64_t next = 0;
  bool operator==(const StreamPosition&) const = default;
};

// Whether the store takes writes, and why not.
struct StoreHealth {
  bool writable = true;
  std::string problem;          // the last write error while not writable
  uint64_t write_failures = 0;  // writes refused since the store opened
  uint64_t recoveries = 0;      // times writes resumed after failing
};

}  // namespace nudge::serve

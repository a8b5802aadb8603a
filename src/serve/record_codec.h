// Binary encodings of the records EventStore keeps in RocksDB (little-endian, length-prefixed
// strings). Decoders check every length against the bytes present and fail instead of
// reading past them. Described in docs/formats/event-store.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "serve/event_store.h"

namespace nudge::serve {

inline constexpr char kEventPrefix = 'e';
inline constexpr char kItemPrefix = 'i';
inline constexpr char kUserPrefix = 'u';
inline constexpr char kPositionPrefix = 'o';

// 'e' + big-endian sequence, so RocksDB's bytewise order is sequence order.
std::string event_key(uint64_t sequence);
bool parse_event_key(std::string_view key, uint64_t* sequence);

// For messages: the key with bytes outside printable ASCII as \xNN.
std::string printable_key(std::string_view key);

std::string encode_event(const Event& event);
bool decode_event(std::string_view bytes, Event* event);
std::string encode_item(const ItemRecord& item);
// 'o' + stream name -> i64 next offset.
std::string position_key(std::string_view stream);
std::string encode_position(int64_t next);
bool decode_position(std::string_view bytes, int64_t* next);
bool decode_item(std::string_view bytes, ItemRecord* item);

}  // namespace nudge::serve

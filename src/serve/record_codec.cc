#include "serve/record_codec.h"

#include <cstring>

namespace nudge::serve {
namespace {

constexpr uint8_t kEventVersion = 1;
constexpr uint8_t kItemVersion = 1;

template <typename T>
void put(std::string* out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out->append(buf, sizeof(T));
}
void put_string(std::string* out, std::string_view s) {
  put<uint32_t>(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

// Reads fixed-size values and strings from a byte range; any overrun sets failed.
struct Reader {
  std::string_view in;
  bool failed = false;
  template <typename T>
  T get() {
    T v{};
    if (in.size() < sizeof(T)) {
      failed = true;
      return v;
    }
    std::memcpy(&v, in.data(), sizeof(T));
    in.remove_prefix(sizeof(T));
    return v;
  }
  std::string get_string() {
    const uint32_t n = get<uint32_t>();
    if (failed || in.size() < n) {
      failed = true;
      return {};
    }
    std::string s(in.substr(0, n));
    in.remove_prefix(n);
    return s;
  }
  bool done() const { return !failed && in.empty(); }
};

}  // namespace

std::string event_key(uint64_t sequence) {
  std::string key(9, '\0');
  key[0] = kEventPrefix;
  for (int b = 0; b < 8; ++b) key[1 + b] = static_cast<char>((sequence >> (56 - 8 * b)) & 0xff);
  return key;
}

bool parse_event_key(std::string_view key, uint64_t* sequence) {
  if (key.size() != 9 || key[0] != kEventPrefix) return false;
  uint64_t s = 0;
  for (int b = 0; b < 8; ++b) s = (s << 8) | static_cast<uint8_t>(key[1 + b]);
  *sequence = s;
  return true;
}

std::string encode_event(const Event& event) {
  std::string out;
  out.reserve(1 + 12 + event.user.size() + event.item.size() + event.type.size() + 12);
  put<uint8_t>(&out, kEventVersion);
  put_string(&out, event.user);
  put_string(&out, event.item);
  put_string(&out, event.type);
  put<float>(&out, event.value);
  put<int64_t>(&out, event.timestamp);
  return out;
}

bool decode_event(std::string_view bytes, Event* event) {
  Reader r{bytes};
  if (r.get<uint8_t>() != kEventVersion) return false;
  event->user = r.get_string();
  event->item = r.get_string();
  event->type = r.get_string();
  event->value = r.get<float>();
  event->timestamp = r.get<int64_t>();
  return r.done();
}

std::string encode_item(const ItemRecord& item) {
  std::string out;
  put<uint8_t>(&out, kItemVersion);
  put_string(&out, item.id);
  put_string(&out, item.category);
  put<uint32_t>(&out, static_cast<uint32_t>(item.tags.size()));
  for (const auto& t : item.tags) put_string(&out, t);
  put<float>(&out, item.price);
  put<uint8_t>(&out, item.hidden ? 1 : 0);
  return out;
}

bool decode_item(std::string_view bytes, ItemRecord* item) {
  Reader r{bytes};
  if (r.get<uint8_t>() != kItemVersion) return false;
  item->id = r.get_string();
  item->category = r.get_string();
  const uint32_t n = r.get<uint32_t>();
  if (r.failed || n > r.in.size() / 4) return false;  // each tag takes at least its length
  item->tags.clear();
  for (uint32_t k = 0; k < n; ++k) item->tags.push_back(r.get_string());
  item->price = r.get<float>();
  item->hidden = r.get<uint8_t>() != 0;
  return r.done();
}

std::string position_key(std::string_view stream) { return std::string(1, kPositionPrefix).append(stream); }

std::string encode_position(int64_t next) {
  std::string out;
  put<int64_t>(&out, next);
  return out;
}

bool decode_position(std::string_view bytes, int64_t* next) {
  Reader r{bytes};
  *next = r.get<int64_t>();
  return r.done() && *next >= 0;
}

std::string printable_key(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c >= 0x20 && c < 0x7f) {
      out += c;
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[(static_cast<uint8_t>(c) >> 4) & 0xf];
      out += hex[static_cast<uint8_t>(c) & 0xf];
    }
  }
  return out;
}

}  // namespace nudge::serve

#include "nudge/model_file.h"

#include <zlib.h>

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/atomic_file.h"
#include "nudge/input_limits.h"
#include "nudge/registry.h"

namespace nudge {

static_assert(std::endian::native == std::endian::little, "model files are little-endian");

namespace {
constexpr char kMagic[8] = {'N', 'U', 'D', 'G', 'E', 'M', 'D', 'L'};
constexpr size_t kHeaderSize = 24;

uint32_t crc32_of(std::string_view bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths: feed large payloads in pieces.
  for (size_t off = 0; off < bytes.size(); off += 1u << 30) {
    const size_t n = std::min<size_t>(bytes.size() - off, 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + off), static_cast<uInt>(n));
  }
  return static_cast<uint32_t>(crc);
}
}  // namespace

Status save_model(const Recommender& model, const IdMap& users, const IdMap& items, const CsrMatrix& history,
                  const std::string& path) {
  NUDGE_CHECK(users.size() == model.num_users() && items.size() == model.num_items(),
              "save_model: ID maps do not match the model's shape");
  ModelWriter w;
  w.str(model.name());
  w.str(model.params().to_string());
  w.u32(users.size());
  for (uint32_t u = 0; u < users.size(); ++u) w.str(users.id_of(u));
  w.u32(items.size());
  for (uint32_t i = 0; i < items.size(); ++i) w.str(items.id_of(i));
  w.csr(history);
  model.save_state(w);
  const std::string& payload = w.bytes();

  const uint32_t version = kModelFormatVersion, crc = crc32_of(payload);
  const uint64_t length = payload.size();
  char header[kHeaderSize];
  std::memcpy(header, kMagic, 8);
  std::memcpy(header + 8, &version, 4);
  std::memcpy(header + 12, &crc, 4);
  std::memcpy(header + 16, &length, 8);
  return write_file_atomically(path, {std::string_view(header, kHeaderSize), payload});
}

Result<LoadedModel> load_model_bytes(std::string_view bytes, const std::string& source) {
  if (bytes.size() < kHeaderSize) {
    return Status::corruption(source + ": not a Nudge model file (only " + std::to_string(bytes.size()) + " bytes)");
  }
  if (std::memcmp(bytes.data(), kMagic, 8) != 0)
    return Status::corruption(source + ": not a Nudge model file (bad magic)");
  uint32_t version = 0, crc = 0;
  uint64_t length = 0;
  std::memcpy(&version, bytes.data() + 8, 4);
  std::memcpy(&crc, bytes.data() + 12, 4);
  std::memcpy(&length, bytes.data() + 16, 8);
  if (version != kModelFormatVersion) {
    return Status::unsupported(source + ": model format version " + std::to_string(version) + ", this build reads " +
                               std::to_string(kModelFormatVersion) + " (retrain or use a matching nudge)");
  }
  if (length != bytes.size() - kHeaderSize) {
    return Status::corruption(source + ": payload is " + std::to_string(bytes.size() - kHeaderSize) +
                              " bytes, header says " + std::to_string(length) + " (truncated or padded file)");
  }
  const std::string_view payload = bytes.substr(kHeaderSize);
  if (crc32_of(payload) != crc) return Status::corruption(source + ": checksum mismatch (the file is damaged)");

  ModelReader in(payload, source, kHeaderSize);
  std::string name, params_text;
  NUDGE_RETURN_IF_ERROR(in.str(&name, "model name"));
  NUDGE_RETURN_IF_ERROR(in.str(&params_text, "parameters"));
  auto params = Params::parse(params_text);
  if (!params.is_ok()) return in.corrupt("parameters", params.status().message());
  auto model = make_recommender(name, *params);
  if (!model.is_ok()) return in.corrupt("model name", model.status().message());
  LoadedModel out;
  out.model = std::move(model).value();
  for (IdMap* ids : {&out.users, &out.items}) {
    const char* what = ids == &out.users ? "user IDs" : "item IDs";
    uint32_t n = 0;
    NUDGE_RETURN_IF_ERROR(in.u32(&n, what));
    std::string id;
    for (uint32_t k = 0; k < n; ++k) {
      NUDGE_RETURN_IF_ERROR(in.str(&id, what));
      if (auto why = id_problem(id)) return in.corrupt(what, "ID " + std::to_string(k) + ": " + *why);
      if (ids->intern(id) != k) return in.corrupt(what, "duplicate ID '" + id + "'");
    }
  }
  NUDGE_RETURN_IF_ERROR(in.csr(&out.history, "history"));
  if (out.history.num_rows != out.users.size() || out.history.num_cols != out.items.size()) {
    return in.corrupt("history", "shape does not match the ID lists");
  }
  NUDGE_RETURN_IF_ERROR(out.model->load_state(in));
  if (out.model->num_users() != out.users.size() || out.model->num_items() != out.items.size()) {
    return in.corrupt("model state", "shape does not match the ID lists");
  }
  if (in.remaining() != 0)
    return in.corrupt("model state", std::to_string(in.remaining()) + " unexpected trailing bytes");
  return out;
}

Result<LoadedModel> load_model(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::io_error("cannot open model '" + path + "': " + std::strerror(errno));
  // The header first: its magic and length decide how much to read, so a wrong file
  // (/dev/zero, a pipe, a huge log) is refused before anything else is read.
  std::string bytes(kHeaderSize, '\0');
  f.read(bytes.data(), kHeaderSize);
  bytes.resize(static_cast<size_t>(f.gcount()));
  if (bytes.size() < kHeaderSize || std::memcmp(bytes.data(), kMagic, 8) != 0) return load_model_bytes(bytes, path);
  uint64_t length = 0;
  std::memcpy(&length, bytes.data() + 16, 8);
  if (length > (uint64_t{1} << 40))
    return Status::corruption(path + ": header says " + std::to_string(length) + " bytes");
  std::error_code ec;
  const auto file_size = std::filesystem::file_size(path, ec);
  if (!ec && length != file_size - kHeaderSize) {
    return Status::corruption(path + ": payload is " + std::to_string(file_size - kHeaderSize) +
                              " bytes, header says " + std::to_string(length) + " (truncated or padded file)");
  }
  // Not a regular file: read at most what the header promises (plus one byte to see padding).
  constexpr size_t kChunk = 1 << 24;
  while (f && bytes.size() < kHeaderSize + length + 1) {
    const size_t old = bytes.size();
    bytes.resize(old + std::min<uint64_t>(kChunk, kHeaderSize + length + 1 - old));
    f.read(bytes.data() + old, static_cast<std::streamsize>(bytes.size() - old));
    bytes.resize(old + static_cast<size_t>(f.gcount()));
  }
  return load_model_bytes(bytes, path);
}

}  // namespace nudge

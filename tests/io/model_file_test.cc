#include "nudge/model_file.h"

#include <gtest/gtest.h>

#include "nudge/registry.h"
#include "nudge/synth.h"
#include "test_util.h"

namespace nudge {
namespace {

struct Saved {
  std::string bytes;
  std::string path;
};

Dataset small_dataset(uint32_t users, uint32_t items, uint64_t interactions, uint32_t topics) {
  SynthOptions o;
  o.num_users = users;
  o.num_items = items;
  o.num_interactions = interactions;
  o.num_topics = topics;
  return synthesize(o).value().dataset;
}

Saved saved_model(const testing::TempDir& dir) {
  const Dataset d = small_dataset(100, 80, 2000, SynthOptions().num_topics);
  auto m = make_recommender("ials", Params::parse("factors=4,iterations=2").value()).value();
  EXPECT_TRUE(m->fit(d).is_ok());
  const std::string path = dir.file("m.nudge");
  EXPECT_TRUE(save_model(*m, d.catalog().users, d.catalog().items, d.user_items(), path).is_ok());
  return {testing::read_file(path), path};
}

TEST(ModelFileTest, RoundTripAndLayout) {
  testing::TempDir dir;
  const Saved s = saved_model(dir);
  EXPECT_EQ(s.bytes.substr(0, 8), "NUDGEMDL");
  auto loaded = load_model(s.path);
  ASSERT_OK(loaded.status());
  EXPECT_EQ(loaded->model->name(), "ials");
  EXPECT_EQ(loaded->model->params().to_string(), "factors=4,iterations=2");
  EXPECT_EQ(loaded->users.size(), 100u);
  EXPECT_FALSE(std::filesystem::exists(s.path + ".tmp"));
}

TEST(ModelFileTest, CorruptFilesAreRejectedWithTheReason) {
  testing::TempDir dir;
  const Saved s = saved_model(dir);
  auto load = [&](const std::string& bytes) { return load_model_bytes(bytes, "m.nudge").status().to_string(); };
  EXPECT_EQ(load(""), "corruption: m.nudge: not a Nudge model file (only 0 bytes)");
  std::string bad_magic = s.bytes;
  bad_magic[0] = 'X';
  EXPECT_EQ(load(bad_magic), "corruption: m.nudge: not a Nudge model file (bad magic)");
  std::string version = s.bytes;
  version[8] = 9;
  EXPECT_EQ(load(version),
            "unsupported: m.nudge: model format version 9, this build reads 1 (retrain or use a matching nudge)");
  const std::string truncated = s.bytes.substr(0, s.bytes.size() - 10);
  EXPECT_EQ(load(truncated), "corruption: m.nudge: payload is " + std::to_string(truncated.size() - 24) +
                                 " bytes, header says " + std::to_string(s.bytes.size() - 24) +
                                 " (truncated or padded file)");
  for (size_t pos : {size_t{30}, s.bytes.size() / 2, s.bytes.size() - 1}) {
    std::string flipped = s.bytes;
    flipped[pos] = static_cast<char>(flipped[pos] ^ 0x40);
    EXPECT_EQ(load(flipped), "corruption: m.nudge: checksum mismatch (the file is damaged)") << pos;
  }
  EXPECT_EQ(load_model(dir.file("none")).status().code(), Status::Code::kIoError);
}

TEST(ModelFileTest, EndlessOrHugeInputIsRefusedWithoutReadingIt) {
  // /dev/zero never ends: the loader must read the header, see a bad magic and stop.
  auto zero = load_model("/dev/zero");
  EXPECT_FALSE(zero.is_ok());
  EXPECT_EQ(zero.status().code(), Status::Code::kCorruption) << zero.status().to_string();
  // A header claiming 2^50 bytes of payload is refused before any allocation.
  testing::TempDir dir;
  std::string bytes = saved_model(dir).bytes.substr(0, 24);
  for (int b = 0; b < 8; ++b) bytes[16 + b] = b == 6 ? '\x04' : '\0';
  testing::write_file(dir.file("huge.nudge"), bytes);
  EXPECT_EQ(load_model(dir.file("huge.nudge")).status().to_string(),
            "corruption: " + dir.file("huge.nudge") + ": header says " + std::to_string(uint64_t{1} << 50) + " bytes");
}

TEST(ModelFileTest, IdsThatAreNotUtf8AreCorruption) {
  testing::TempDir dir;
  const Dataset d = small_dataset(20, 15, 100, 3);
  auto m = make_recommender("popularity", Params()).value();
  ASSERT_OK(m->fit(d));
  IdMap users;
  for (uint32_t u = 0; u < d.num_users(); ++u)
    users.intern(u == 3 ? std::string("bad\xff") : d.catalog().users.id_of(u));
  ASSERT_OK(save_model(*m, users, d.catalog().items, d.user_items(), dir.file("bad.nudge")));
  auto loaded = load_model(dir.file("bad.nudge"));
  ASSERT_FALSE(loaded.is_ok());
  EXPECT_NE(loaded.status().to_string().find("user IDs: ID 3: not valid UTF-8 (byte 4)"), std::string::npos)
      << loaded.status().to_string();
}

// Damage the payload but recompute the checksum: the structural checks must still catch it.
TEST(ModelFileTest, StructurallyBadPayloadsFailCleanly) {
  ModelWriter w;
  w.str("ials");
  w.str("factors=4");
  w.u32(1);
  w.str("u");
  w.u32(1);
  w.str("i");
  CsrMatrix h;
  h.num_rows = 1;
  h.num_cols = 1;
  h.indptr = {0, 1};
  h.indices = {5};  // out of range
  h.values = {1};
  w.csr(h);
  ModelReader r(w.bytes(), "x");
  std::string name;
  ASSERT_OK(r.str(&name, "model name"));
  ASSERT_OK(r.str(&name, "parameters"));
  uint32_t n;
  ASSERT_OK(r.u32(&n, "user IDs"));
  ASSERT_OK(r.str(&name, "user IDs"));
  ASSERT_OK(r.u32(&n, "item IDs"));
  ASSERT_OK(r.str(&name, "item IDs"));
  CsrMatrix back;
  EXPECT_EQ(r.csr(&back, "history").to_string(), "corruption: x: history: column index 5 out of range");
  std::vector<float> v;
  ModelReader short_reader(std::string_view("\x05\x00\x00\x00\x00\x00\x00\x00", 8), "y");
  EXPECT_EQ(short_reader.floats(&v, "item factors").to_string(),
            "corruption: y: item factors: 5 values run past the end");
}

}  // namespace
}  // namespace nudge

// libFuzzer target: the model file loader (header, every model's state, ID maps, history).
// A file that loads must also score without reading out of bounds.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "nudge/model_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto loaded = nudge::load_model_bytes(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.nudge");
  if (!loaded.is_ok()) return 0;
  const auto& m = loaded.value();
  if (m.items.size() == 0 || m.items.size() > (1u << 16)) return 0;
  std::vector<float> scores(m.items.size());
  if (m.users.size() > 0) m.model->score_user(0, scores);
  const uint32_t item = 0;
  const float weight = 1.f;
  m.model->score_history({&item, 1}, {&weight, 1}, scores);
  return 0;
}

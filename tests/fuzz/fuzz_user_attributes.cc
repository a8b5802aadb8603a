// libFuzzer target: user attributes (any bytes a client PUTs) read as features. Whatever is
// read must be a value or a finite number, and build a feature table that holds every value.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "nudge/serve/user_attributes.h"

using namespace nudge;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const FeatureDescription d = serve::describe_user(bytes);
  for (const auto& [field, x] : d.numbers)
    if (!std::isfinite(x)) std::abort();
  const FeatureTable t = serve::user_feature_table({d});
  if (t.num_entities() != 1) std::abort();
  for (const auto& [field, value] : d.values) {
    const auto f = t.find_field(field);
    if (f && t.fields()[*f].kind == FeatureKind::kMultiCategorical && !t.vocabulary().find(field + "=" + value))
      std::abort();
  }
  return 0;
}

// serve_options.cc: nudge serve's one list of options, read back through the TOML reader,
// bounds enforced, and the markdown table docs/serving.md holds (parameters_doc_test checks
// the file against it).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "nudge/serve/config.h"

namespace nudge::serve {
namespace {

// The option list drives the reader: each option reads back the literal its show() prints for
// a value other than its default, and an integer below its bounds is refused with the option
// and the bounds named.
TEST(ServeOptions, EveryOptionReadsBackItsOwnLiteralAndEnforcesItsBounds) {
  const ServeConfig defaults = default_serve_config();
  size_t checked = 0;
  for (const ServeOption& o : serve_options()) {
    if (!o.in_file) continue;
    ServeConfig changed = defaults;
    ServeOption::Value v;
    switch (o.kind) {
      case ServeOption::Kind::kString:  // a valid spec and mode, and no string option's default
        v = std::string(o.key == "ui" ? "on" : "ials");
        break;
      case ServeOption::Kind::kInteger:
        v = o.show(defaults) == std::to_string(o.min_integer) ? o.min_integer + 1 : o.min_integer;
        break;
      case ServeOption::Kind::kNumber: v = o.max_number; break;
      case ServeOption::Kind::kBoolean: v = o.show(defaults) != "true"; break;
    }
    ASSERT_TRUE(o.set(o.key, v, &changed).is_ok()) << o.key;
    const std::string literal = o.show(changed);
    EXPECT_NE(literal, o.show(defaults)) << o.section << "." << o.key;
    ServeConfig c = defaults;
    const std::string file = "[" + o.section + "]\n" + o.key + " = " + literal + "\n";
    ASSERT_TRUE(parse_serve_config(file, "o.toml", &c).is_ok()) << file;
    EXPECT_EQ(o.show(c), literal) << file;
    if (o.kind == ServeOption::Kind::kInteger) {
      const std::string below = std::to_string(o.min_integer - 1);
      const Status s = parse_serve_config("[" + o.section + "]\n" + o.key + " = " + below + "\n", "o.toml", &c);
      EXPECT_EQ(s.message(), "o.toml:2: " + o.section + "." + o.key + ": " + below + " is out of range [" +
                                 std::to_string(o.min_integer) + ", " + std::to_string(o.max_integer) + "]");
    }
    ++checked;
  }
  EXPECT_GE(checked, 40u);
}

TEST(ServeOptions, EachOptionIsDeclaredOnceWithOneFlagAndAppearsInTheTable) {
  std::set<std::string> keys, flags;
  const std::string table = serve_options_markdown();
  for (const ServeOption& o : serve_options()) {
    EXPECT_TRUE(keys.insert(o.section + "." + o.key).second) << o.section << "." << o.key << " declared twice";
    if (!o.flag.empty()) {
      EXPECT_TRUE(flags.insert(o.long_flag()).second) << o.long_flag() << " used twice";
    }
    EXPECT_FALSE(o.help.empty()) << o.key;
    EXPECT_NE(table.find("| [" + o.section + "] | `" + o.key + "` |"), std::string::npos) << o.key;
  }
  const ServeOption* port = nullptr;
  for (const ServeOption& o : serve_options())
    if (o.section == "server" && o.key == "port") port = &o;
  ASSERT_NE(port, nullptr);
  EXPECT_EQ(port->long_flag(), "--port");
  EXPECT_EQ(port->accepts(), "integer in [0, 65535]");
  ServeConfig c = default_serve_config();
  EXPECT_EQ(port->set("--port", int64_t{99999}, &c).message(), "--port: 99999 is out of range [0, 65535]");
  EXPECT_TRUE(port->set("--port", int64_t{9000}, &c).is_ok());
  EXPECT_EQ(c.server.port, 9000);
}

}  // namespace
}  // namespace nudge::serve

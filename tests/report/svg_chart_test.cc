#include "report/svg_chart.h"

#include <gtest/gtest.h>

#include <cmath>

namespace nudge::report {
namespace {

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(SvgChartTest, NiceTicksUseSteps_1_2_5) {
  EXPECT_EQ(nice_ticks(0, 1, 5), (std::vector<double>{0, 0.2, 0.4, 0.6, 0.8, 1}));
  EXPECT_EQ(nice_ticks(5, 20, 6), (std::vector<double>{5, 10, 15, 20}));
  EXPECT_EQ(nice_ticks(0.26, 0.47, 5).front(), 0.3);
  EXPECT_EQ(nice_ticks(3, 3, 5), (std::vector<double>{3}));
  // A range tiny next to its values, or beyond double: a bounded list, no endless loop.
  EXPECT_LE(nice_ticks(1e40, 1e40 + 1e25, 5).size(), 50u);
  EXPECT_LE(nice_ticks(-1e308, 1e308, 5).size(), 50u);
}

TEST(SvgChartTest, EscapesMarkupAndControlCharacters) {
  EXPECT_EQ(xml_escape("a<b>&\"c'\x01"), "a&lt;b&gt;&amp;&quot;c&#39; ");
}

TEST(SvgChartTest, DrawsEachFinitePointOnce) {
  XyChart c{"t", "x", "y", true, false, false};
  const std::string svg =
      svg_xy_chart(c, {Series{"a<1>", {1, 2, 3}, {0.1, NAN, 0.3}, {}}, Series{"b", {1, 2}, {0.2, 0.4}, {false, true}}});
  EXPECT_EQ(count(svg, "<circle"), 4u);  // the NaN point is left out
  EXPECT_EQ(count(svg, "<polyline"), 2u);
  EXPECT_EQ(count(svg, "fill=\"#ffffff\" stroke"), 1u);  // one hollow point
  EXPECT_NE(svg.find("a&lt;1&gt;"), std::string::npos);
  EXPECT_EQ(svg.find("a<1>"), std::string::npos);
  EXPECT_EQ(svg.rfind("</svg>\n"), svg.size() - 7);
}

TEST(SvgChartTest, LogScaleLeavesOutNonPositiveX) {
  XyChart c{"t", "x", "y", false, true, true};
  const std::string svg = svg_xy_chart(c, {Series{"m", {0, 0.01, 10}, {1, 2, 3}, {}}});
  EXPECT_EQ(count(svg, "<circle"), 2u);
  EXPECT_NE(svg.find(">0.01<"), std::string::npos);  // decade ticks
  EXPECT_NE(svg.find(">10<"), std::string::npos);
}

TEST(SvgChartTest, NoDataAndOneValueStillMakeAChart) {
  XyChart c{"empty", "x", "y", true, false, false};
  EXPECT_NE(svg_xy_chart(c, {}).find("no data"), std::string::npos);
  const std::string one = svg_xy_chart(c, {Series{"m", {5}, {0.5}, {}}});
  EXPECT_EQ(count(one, "<circle"), 1u);
  EXPECT_EQ(one.find("nan"), std::string::npos);
  EXPECT_EQ(one.find("inf"), std::string::npos);
}

TEST(SvgChartTest, BarLabelsAreCutAtACharacterBoundary) {
  const std::string svg = svg_bar_chart("b", "v",
                                        {{"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                          "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                          "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                          "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                          "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
                                          0.5},
                                         {"x", 0.25},
                                         {"y", 0.1},
                                         {"z", 0.2},
                                         {"w", 0.3},
                                         {"v", 0.3}});
  EXPECT_EQ(count(svg, "<rect x="), 6u);
  // Every é is whole: no lone lead or continuation byte before the cut mark.
  const size_t cut = svg.find("~<");
  ASSERT_NE(cut, std::string::npos);
  EXPECT_EQ(static_cast<unsigned char>(svg[cut - 2]), 0xc3);
  EXPECT_EQ(static_cast<unsigned char>(svg[cut - 1]), 0xa9);
}

}  // namespace
}  // namespace nudge::report

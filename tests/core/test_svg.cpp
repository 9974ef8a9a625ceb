// The SVG chart writer: well-formed XML, bars proportional to their values, log-x positions, escaping.
#include <gtest/gtest.h>

#include <cmath>
#include <regex>
#include <string>
#include <vector>

#include "difr/svg.h"
#include "xml_check.h"

namespace {

std::vector<double> attr_values(const std::string &svg, const std::string &element_class,
                                const std::string &attr) {
    std::vector<double> v;
    const std::regex re("class=\"" + element_class + "\"[^>]*? " + attr + "=\"([-0-9.]+)\"");
    for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re); it != std::sregex_iterator(); ++it)
        v.push_back(std::stod((*it)[1]));
    return v;
}

TEST(Svg, BarChartIsWellFormedAndProportional) {
    const std::vector<difr::SvgBar> bars = {
        {"honest <ref>", 0.02, "#55a868"}, {"q2_k & co", 0.40}, {"zero", 0.0}, {"q4_0", 0.10}};
    difr::ChartOptions o;
    o.title = "Mean \"Token-DiFR\" score";
    o.y_label = "margin";
    const std::string svg = difr::svg_bar_chart(bars, o, {{"honest", "#55a868", false}});
    difr_test::expect_well_formed(svg);
    EXPECT_NE(svg.find("honest &lt;ref&gt;"), std::string::npos);
    EXPECT_NE(svg.find("q2_k &amp; co"), std::string::npos);
    EXPECT_NE(svg.find("Mean &quot;Token-DiFR&quot; score"), std::string::npos);
    const std::vector<double> h = attr_values(svg, "bar", "height");
    ASSERT_EQ(h.size(), 4u);
    EXPECT_EQ(h[2], 0.0);
    // Heights are written to 0.01 px: the ratios match the values' to that precision.
    EXPECT_NEAR(h[1] / h[0], 20.0, 20.0 * 0.01 / h[0] * 2);
    EXPECT_NEAR(h[1] / h[3], 4.0, 4.0 * 0.01 / h[3] * 2);
    // The y axis reaches the nice tick 0.4 (ticks 0, 0.1, ..., 0.4): the tallest bar fills the plot height,
    // which is height - 110 - 34 px for the default 360 px chart.
    EXPECT_NEAR(h[1], 360 - 110 - 34, 0.01);
    EXPECT_THROW(difr::svg_bar_chart({{"x", -1.0}}, o), std::invalid_argument);
}

TEST(Svg, BarChartRuleExtendsTheAxis) {
    difr::ChartOptions o;
    o.rule_y = 0.5;  // above the tallest bar: the axis reaches 0.5, and the rule is the plot's top
    const std::string svg = difr::svg_bar_chart({{"a", 0.4}, {"b", 0.1}}, o);
    difr_test::expect_well_formed(svg);
    const std::vector<double> h = attr_values(svg, "bar", "height");
    ASSERT_EQ(h.size(), 2u);
    EXPECT_NEAR(h[0], 0.8 * (360 - 110 - 34), 0.01);
    EXPECT_EQ(attr_values(svg, "rule", "data-value"), std::vector<double>{0.5});
    EXPECT_EQ(attr_values(svg, "rule", "y1"), std::vector<double>{34.0});
    o.rule_y = 0.2;  // below it: the axis is the data's, the rule at 0.2 of 0.4
    const std::string low = difr::svg_bar_chart({{"a", 0.4}}, o);
    EXPECT_EQ(attr_values(low, "rule", "y1"), std::vector<double>{360 - 110 - 0.5 * (360 - 110 - 34)});
    EXPECT_EQ(attr_values(difr::svg_bar_chart({{"a", 0.4}}, {}), "rule", "y1").size(), 0u);
    o.rule_y = -1;
    EXPECT_THROW(difr::svg_bar_chart({{"a", 0.4}}, o), std::invalid_argument);
}

TEST(Svg, LineChartLogXPlacesLadderEvenly) {
    difr::SvgSeries s{"q4_0 (DiFR)", {}, "#1f77b4", false};
    for (double n : {1.0, 10.0, 100.0, 1000.0}) s.points.emplace_back(n, std::log10(n) / 3);
    difr::SvgSeries gap{"gappy", {{1, 0.5}, {10, NAN}, {100, 0.7}, {1000, 0.8}}, "#ff7f0e", true};
    difr::ChartOptions o;
    o.log_x = true;
    o.y_min = 0.0;
    o.y_max = 1.0;
    const std::string svg = difr::svg_line_chart({s, gap}, o);
    difr_test::expect_well_formed(svg);
    const std::vector<double> cx = attr_values(svg, "point", "cx");
    ASSERT_EQ(cx.size(), 7u);  // 4 + 3 (the NaN is not drawn)
    // Decades are equally spaced on a log axis.
    EXPECT_NEAR(cx[1] - cx[0], cx[2] - cx[1], 0.02);
    EXPECT_NEAR(cx[3] - cx[2], cx[2] - cx[1], 0.02);
    // The NaN splits "gappy" into two polylines: three in all.
    size_t polylines = 0;
    for (size_t p = svg.find("<polyline"); p != std::string::npos; p = svg.find("<polyline", p + 1))
        ++polylines;
    EXPECT_EQ(polylines, 3u);
    EXPECT_NE(svg.find("stroke-dasharray"), std::string::npos);
    // Tick labels of the bucket ladder: 1, 3, 10, 30, 100, 300, 1000.
    for (const char *t : {">1<", ">3<", ">10<", ">30<", ">100<", ">300<", ">1000<"})
        EXPECT_NE(svg.find(t), std::string::npos) << t;
    EXPECT_THROW(difr::svg_line_chart({{"bad", {{0.0, 1.0}}}}, o), std::invalid_argument);
}

// A band is one polygon under the series: upper edge left to right, lower edge back, clamped to a fixed
// axis range; a point with a NaN bound is left out. Without a legend the plot takes the chart's width.
TEST(Svg, LineChartBandIsClampedPolygon) {
    difr::SvgSeries s{"auc", {{1, 0.6}, {10, 0.9}, {100, 1.0}}, "#1f77b4", false};
    difr::SvgBand band{"honest", {{1, 0.5, 0.55}, {10, NAN, 0.7}, {100, 0.2, 0.9}}, "#9ecae1"};
    difr::ChartOptions o;
    o.log_x = true;
    o.y_min = 0.4;
    o.y_max = 1.0;
    o.width = 300;
    o.height = 200;
    o.legend = false;
    const std::string svg = difr::svg_line_chart({s}, o, {band});
    difr_test::expect_well_formed(svg);
    const std::smatch m = [&] {
        std::smatch r;
        std::regex_search(svg, r, std::regex("<polygon class=\"band\" points=\"([^\"]*)\""));
        return r;
    }();
    ASSERT_EQ(m.size(), 2u);
    std::vector<std::pair<double, double>> pts;
    const std::string p = m[1];
    const std::regex pair_re("([-0-9.]+),([-0-9.]+)");
    for (auto it = std::sregex_iterator(p.begin(), p.end(), pair_re); it != std::sregex_iterator(); ++it)
        pts.emplace_back(std::stod((*it)[1]), std::stod((*it)[2]));
    ASSERT_EQ(pts.size(), 4u);  // two valid x positions, each with an upper and a lower point
    EXPECT_EQ(pts[0].first, pts[3].first);
    EXPECT_EQ(pts[1].first, pts[2].first);
    EXPECT_EQ(pts[2].second, 200.0 - 46.0);  // 0.2 clamped to the axis minimum, the plot's bottom edge
    EXPECT_LT(svg.find("class=\"band\""), svg.find("class=\"series\""));  // drawn under the series
    EXPECT_EQ(svg.find("class=\"legend\""), std::string::npos);
    const std::string legend = difr::svg_legend({{"auc", "#1f77b4", false}}, 200, {band});
    difr_test::expect_well_formed(legend);
    EXPECT_NE(legend.find("class=\"legend-band\""), std::string::npos);
}

TEST(Svg, NiceTicks) {
    // The axis always covers the data: 0.171 needs a tick at 0.2 (step 0.05).
    const std::vector<double> c = difr::axis_ticks_linear(0, 0.171);
    EXPECT_NEAR(c.back(), 0.2, 1e-15);
    EXPECT_EQ(c.size(), 5u);
    const std::vector<double> a = difr::axis_ticks_linear(0, 0.4);
    ASSERT_EQ(a.size(), 5u);  // step 0.1
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], 0.1 * double(i), 1e-15);
    const std::vector<double> t = difr::axis_ticks_linear(0.5, 1.0);
    EXPECT_DOUBLE_EQ(t.front(), 0.5);
    EXPECT_DOUBLE_EQ(t.back(), 1.0);
    EXPECT_EQ(t.size(), 6u);  // step 0.1
}

}  // namespace

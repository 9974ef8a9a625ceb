// A minimal XML well-formedness check shared by the report tests (SVG charts, the HTML report's body).
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <regex>
#include <string>
#include <vector>

namespace difr_test {

// A minimal XML well-formedness check: tags nest and close, attributes are quoted, only the five predefined
// entities appear, and nothing but whitespace follows the root element.
inline void expect_well_formed(const std::string &xml) {
    std::vector<std::string> stack;
    size_t i = 0;
    bool root_closed = false;
    while (i < xml.size()) {
        if (xml[i] == '<') {
            ASSERT_FALSE(root_closed) << "content after the root element at " << i;
            const size_t end = xml.find('>', i);
            ASSERT_NE(end, std::string::npos) << "unterminated tag at " << i;
            std::string tag = xml.substr(i + 1, end - i - 1);
            ASSERT_EQ(tag.find('<'), std::string::npos) << "'<' inside a tag at " << i;
            if (tag[0] == '/') {
                ASSERT_FALSE(stack.empty()) << "closing tag without opening: " << tag;
                ASSERT_EQ(stack.back(), tag.substr(1)) << "mismatched closing tag at " << i;
                stack.pop_back();
                root_closed = stack.empty();
            } else {
                const bool self_closing = tag.back() == '/';
                if (self_closing) tag.pop_back();
                const std::string name = tag.substr(0, tag.find_first_of(" \n"));
                // attributes: name="value" pairs only
                static const std::regex attrs(R"(^[A-Za-z][\w:-]*(\s+[A-Za-z][\w:-]*="[^"<]*")*\s*$)");
                ASSERT_TRUE(std::regex_match(tag, attrs)) << "bad attributes in <" << tag << ">";
                if (!self_closing)
                    stack.push_back(name);
                else
                    root_closed = stack.empty();
            }
            i = end + 1;
        } else if (xml[i] == '&') {
            static const std::regex entity(R"(^&(amp|lt|gt|quot|apos);)");
            ASSERT_TRUE(std::regex_search(xml.substr(i, 8), entity)) << "bare & at " << i;
            ++i;
        } else {
            if (root_closed) {
                ASSERT_TRUE(std::isspace(static_cast<unsigned char>(xml[i]))) << "text after root";
            }
            ++i;
        }
    }
    EXPECT_TRUE(stack.empty()) << "unclosed <" << (stack.empty() ? "" : stack.back()) << ">";
    EXPECT_TRUE(root_closed);
}

}  // namespace difr_test

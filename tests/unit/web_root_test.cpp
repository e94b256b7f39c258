#include "web_root.hpp"

#include <gtest/gtest.h>

namespace circle::server {
namespace {

TEST(CheckedWebPath, KeepsPlainPathsAndDropsTheQuery) {
  EXPECT_EQ(checked_web_path("/"), "/");
  EXPECT_EQ(checked_web_path("/index.html"), "/index.html");
  EXPECT_EQ(checked_web_path("/assets/index-AbC1.js?v=2#x"), "/assets/index-AbC1.js");
  EXPECT_EQ(checked_web_path("/a%2Db.txt"), "/a-b.txt");
}

TEST(CheckedWebPath, RefusesEveryWayOut) {
  for (const char* target : {"",
                             "index.html",
                             "/..",
                             "/../x",
                             "/a/../b",
                             "/./a",
                             "/a/.",
                             "//a",
                             "/a//b",
                             "/a/",
                             "/%2e%2e/x",
                             "/%2E%2e/x",
                             "/.%2e/x",
                             "/a%2fb",
                             "/a%2Fb",
                             "/a%5cb",
                             "/a\\b",
                             "/%00",
                             "/a%0a",
                             "/%",
                             "/%2",
                             "/%zz",
                             "/%c0%ae%c0%ae/x",
                             "/caf\xc3\xa9",
                             "/a%20b",
                             "/.env",
                             "/.git/config",
                             "/assets/.hidden",
                             "/%2eenv"}) {
    const auto path = checked_web_path(target);
    EXPECT_FALSE(path.has_value()) << target << " -> " << path.value_or("");
  }
}

TEST(WebContentType, NamesTheTypesOfABuiltApp) {
  EXPECT_EQ(web_content_type("/index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(web_content_type("/assets/a-1.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(web_content_type("/assets/a-1.css"), "text/css; charset=utf-8");
  EXPECT_EQ(web_content_type("/favicon.svg"), "image/svg+xml");
  EXPECT_EQ(web_content_type("/a.b/noext"), "application/octet-stream");
  EXPECT_EQ(web_content_type("/x.exe"), "application/octet-stream");
}

}  // namespace
}  // namespace circle::server

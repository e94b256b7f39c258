// docs/monitoring's alert rules and dashboard name only metrics circled
// exports: a renamed metric would otherwise silence an alert for good.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "support/test_server.hpp"

namespace {

using namespace circle::test;

std::set<std::string> metric_names_in(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  const std::string content = text.str();
  std::set<std::string> names;
  const std::regex name(R"(circle_[a-z0-9_]+)");
  for (auto it = std::sregex_iterator(content.begin(), content.end(), name);
       it != std::sregex_iterator(); ++it) {
    std::string found = it->str();
    for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
      if (found.ends_with(suffix)) found.resize(found.size() - suffix.size());
    }
    names.insert(found);
  }
  return names;
}

TEST(Monitoring, EveryMetricTheRulesAndDashboardUseIsExported) {
  TestServer server;
  const auto exported = http_get(server.metrics_url()).body;
  // Only a node of a cluster (--backend nats) has these; the cluster tests scrape them.
  const std::set<std::string> cluster_only = {"circle_nats_connected", "circle_room_log_following"};
  std::size_t checked = 0;
  for (const char* file : {"circle-alerts.yml", "circle-dashboard.json"}) {
    const auto names = metric_names_in(std::string(CIRCLE_SOURCE_DIR) + "/docs/monitoring/" + file);
    EXPECT_GT(names.size(), 5u) << file;
    for (const auto& name : names) {
      if (cluster_only.contains(name)) continue;
      ++checked;
      EXPECT_NE(exported.find("# TYPE " + name + " "), std::string::npos)
          << file << " uses " << name << ", which /metrics does not export";
    }
  }
  EXPECT_GT(checked, 10u);
}

}  // namespace

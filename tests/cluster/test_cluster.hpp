// The test NATS cluster the nats_cluster ctest fixture starts (scripts/cluster
// on this preset's ports), for the cluster tests.
#pragma once

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace circle::test {

// nats://127.0.0.1:PORT of each of the three nodes.
inline std::vector<std::string> test_cluster_urls() {
  std::vector<std::string> urls;
  const int base = std::stoi(CIRCLE_TEST_NATS_PORT);
  for (int n = 0; n < 3; ++n) urls.push_back("nats://127.0.0.1:" + std::to_string(base + n));
  return urls;
}

// A room id no other test (or earlier run on this cluster) used.
inline std::string fresh_room() {
  static std::mt19937_64 random(std::random_device{}());
  return "room-" + std::to_string(random());
}

// scripts/cluster `command` on the test cluster (kill N, restart N, ...).
inline int run_cluster_script(const std::string& command) {
  const std::string line = std::string("CIRCLE_CLUSTER_DIR=") + CIRCLE_TEST_NATS_DIR +
                           " CIRCLE_NATS_PORT=" + CIRCLE_TEST_NATS_PORT + " bash " +
                           CIRCLE_CLUSTER_SCRIPT + " " + command + " >/dev/null";
  return std::system(line.c_str());
}

}  // namespace circle::test

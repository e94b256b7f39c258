// libFuzzer: any --config file (TOML/INI, read by CLI11) gives a Config or
// a clear refusal, never a crash.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/tmp/circle-fuzz-config-" + std::to_string(::getpid()) + ".toml";
  {
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  std::string arg0 = "circled", arg1 = "--config", arg2 = path;
  char* argv[] = {arg0.data(), arg1.data(), arg2.data(), nullptr};
  int exit_code = 0;
  (void)circle::server::parse_config(3, argv, &exit_code);
  return 0;
}

// Runs a program the way a user would (circled, circle chat) and talks to it
// through pipes, with a deadline on every wait. Linux only (pidfd).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace circle::test {

class ChildProcess {
 public:
  struct Options {
    bool pipe_stdin = false;
    bool capture_stdout = true;
    bool capture_stderr = false;  // otherwise inherited, so ctest shows it
  };

  ChildProcess(const std::vector<std::string>& argv, Options options);
  ~ChildProcess();  // SIGKILLs a child still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // Next line of stdout (without '\n'); nullopt at end of output or deadline.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  // Reads lines until one contains `needle`; returns it, or nullopt.
  std::optional<std::string> wait_for_line(const std::string& needle,
                                           std::chrono::milliseconds timeout);
  // Everything read from stdout so far, and everything until exit.
  std::string read_all(std::chrono::milliseconds timeout);
  // Everything captured from stderr (capture_stderr) until it closes.
  std::string read_stderr(std::chrono::milliseconds timeout);
  const std::string& transcript() const { return transcript_; }

  void write_stdin(const std::string& text);
  void close_stdin();

  void signal(int signal_number);
  // Stops the child (SIGSTOP) and returns once it has stopped; SIGCONT goes on.
  bool stop();
  // Exit status (or 128 + signal); nullopt if still running at the deadline.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);

 private:
  bool fill(int fd, std::string& buffer, std::chrono::steady_clock::time_point deadline);

  pid_t pid_ = -1;
  int pidfd_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  std::string stdout_buffer_;
  std::string stderr_buffer_;
  std::string transcript_;
  std::optional<int> exit_status_;
};

}  // namespace circle::test

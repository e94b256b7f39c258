#include "child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace circle::test {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

void make_pipe(int fds[2]) {
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv, Options options) {
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  if (options.pipe_stdin) make_pipe(in);
  if (options.capture_stdout) make_pipe(out);
  if (options.capture_stderr) make_pipe(err);
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    if (options.pipe_stdin) ::dup2(in[0], STDIN_FILENO);
    if (options.capture_stdout) ::dup2(out[1], STDOUT_FILENO);
    if (options.capture_stderr) ::dup2(err[1], STDERR_FILENO);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  if (options.pipe_stdin) {
    ::close(in[0]);
    stdin_fd_ = in[1];
  }
  if (options.capture_stdout) {
    ::close(out[1]);
    stdout_fd_ = out[0];
  }
  if (options.capture_stderr) {
    ::close(err[1]);
    stderr_fd_ = err[0];
  }
}

ChildProcess::~ChildProcess() {
  if (!exit_status_) {
    ::kill(pid_, SIGKILL);
    wait_exit(std::chrono::seconds(10));
  }
  for (int fd : {pidfd_, stdin_fd_, stdout_fd_, stderr_fd_}) {
    if (fd >= 0) ::close(fd);
  }
}

bool ChildProcess::fill(int fd, std::string& buffer, Clock::time_point deadline) {
  if (fd < 0) return false;
  pollfd pfd{fd, POLLIN, 0};
  int ready;
  do {
    ready = ::poll(&pfd, 1, remaining_ms(deadline));
  } while (ready < 0 && errno == EINTR);
  if (ready <= 0) return false;
  char chunk[4096];
  const ssize_t n = ::read(fd, chunk, sizeof chunk);
  if (n <= 0) return false;
  buffer.append(chunk, static_cast<std::size_t>(n));
  return true;
}

std::optional<std::string> ChildProcess::read_line(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    const auto newline = stdout_buffer_.find('\n');
    if (newline != std::string::npos) {
      std::string line = stdout_buffer_.substr(0, newline);
      stdout_buffer_.erase(0, newline + 1);
      transcript_ += line + "\n";
      return line;
    }
    if (!fill(stdout_fd_, stdout_buffer_, deadline)) return std::nullopt;
  }
}

std::optional<std::string> ChildProcess::wait_for_line(const std::string& needle,
                                                       std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (auto line = read_line(std::chrono::milliseconds(remaining_ms(deadline)))) {
    if (line->find(needle) != std::string::npos) return line;
  }
  return std::nullopt;
}

std::string ChildProcess::read_all(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (read_line(std::chrono::milliseconds(remaining_ms(deadline)))) {
  }
  transcript_ += stdout_buffer_;
  stdout_buffer_.clear();
  return transcript_;
}

std::string ChildProcess::read_stderr(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (fill(stderr_fd_, stderr_buffer_, deadline)) {
  }
  return stderr_buffer_;
}

void ChildProcess::write_stdin(const std::string& text) {
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(stdin_fd_, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("write to child stdin failed");
    written += static_cast<std::size_t>(n);
  }
}

void ChildProcess::close_stdin() {
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  stdin_fd_ = -1;
}

void ChildProcess::signal(int signal_number) {
  ::kill(pid_, signal_number);
}

bool ChildProcess::stop() {
  ::kill(pid_, SIGSTOP);
  // kill() only sends it: the child may still be running on another core.
  // waitpid reports the stop itself (and leaves the child to be continued).
  int status = 0;
  return ::waitpid(pid_, &status, WUNTRACED) == pid_ && WIFSTOPPED(status);
}

std::optional<int> ChildProcess::wait_exit(std::chrono::milliseconds timeout) {
  if (exit_status_) return exit_status_;
  pollfd pfd{pidfd_, POLLIN, 0};
  const auto deadline = Clock::now() + timeout;
  int ready;
  do {
    ready = ::poll(&pfd, 1, remaining_ms(deadline));
  } while (ready < 0 && errno == EINTR);
  if (ready <= 0) return std::nullopt;
  int status = 0;
  if (::waitpid(pid_, &status, 0) != pid_) return std::nullopt;
  exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return exit_status_;
}

}  // namespace circle::test

// Mounts: see mounts.h.
#include "storage/mounts.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

extern char** environ;

namespace vdisk::storage {
namespace {

constexpr size_t kMaxToolOutput = 64 * 1024;

// An executable named `tool` in PATH, then in the sbin directories a non-login PATH may lack.
std::string FindTool(const std::string& tool) {
  std::string dirs = getenv("PATH") ? getenv("PATH") : "";
  dirs += ":/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin";
  std::stringstream stream(dirs);
  for (std::string dir; std::getline(stream, dir, ':');) {
    if (dir.empty() || dir[0] != '/') continue;
    std::string candidate = dir + "/" + tool;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

Status RequireAbsolute(const std::string& path, const char* what) {
  if (path.empty() || path[0] != '/') {
    return Invalid(std::string(what) + " \"" + path + "\" must be an absolute path");
  }
  return Status::Ok();
}

// /proc/self/mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      int value = 0;
      bool octal = true;
      for (size_t j = 1; j <= 3; ++j) {
        char c = field[i + j];
        if (c < '0' || c > '7') octal = false;
        value = value * 8 + (c - '0');
      }
      if (octal) {
        out += static_cast<char>(value);
        i += 3;
        continue;
      }
    }
    out += field[i];
  }
  return out;
}

std::string ToolFailure(const std::vector<std::string>& argv, const ToolResult& result) {
  std::string command;
  for (const auto& arg : argv) command += (command.empty() ? "" : " ") + arg;
  std::string output = result.output;
  while (!output.empty() && (output.back() == '\n' || output.back() == ' ')) output.pop_back();
  return command + " exited with status " + std::to_string(result.exit_code) +
         (output.empty() ? "" : ": " + output);
}

}  // namespace

Result<ToolResult> RunTool(const std::vector<std::string>& argv, std::chrono::seconds limit) {
  if (argv.empty()) return InvalidArgument("no command");
  std::string path = FindTool(argv[0]);
  if (path.empty()) return Unavailable(argv[0] + " is not installed on this node");
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return Internal(std::string("pipe: ") + strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int spawned = posix_spawn(&pid, path.c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (spawned != 0) {
    ::close(pipe_fds[0]);
    return Internal("running " + path + ": " + strerror(spawned));
  }
  ToolResult result;
  auto deadline = std::chrono::steady_clock::now() + limit;
  bool timed_out = false;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd{pipe_fds[0], POLLIN, 0};
    int ready = ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the tool (and anything it started) closed its output
    size_t room = kMaxToolOutput - std::min(kMaxToolOutput, result.output.size());
    result.output.append(buf, std::min<size_t>(room, static_cast<size_t>(n)));
  }
  ::close(pipe_fds[0]);
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return Unavailable(argv[0] + " did not finish within " + std::to_string(limit.count()) + " s");
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

Result<std::string> FilesystemOn(const std::string& device) {
  VDISK_RETURN_IF_ERROR(RequireAbsolute(device, "device"));
  std::vector<std::string> argv = {"blkid", "-p", "-o", "export", device};
  VDISK_ASSIGN_OR_RETURN(ToolResult probe, RunTool(argv));
  if (probe.exit_code == 2) return std::string();  // no signature: a blank device
  if (probe.exit_code != 0) return Internal(ToolFailure(argv, probe));
  std::string type, usage, partition_table;
  std::stringstream lines(probe.output);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("TYPE=", 0) == 0) type = line.substr(5);
    if (line.rfind("USAGE=", 0) == 0) usage = line.substr(6);
    if (line.rfind("PTTYPE=", 0) == 0) partition_table = line.substr(7);
  }
  if (!partition_table.empty()) {
    return Invalid(device + " holds a " + partition_table +
                   " partition table; a storage pool needs a whole, unpartitioned device");
  }
  if (type.empty() || (!usage.empty() && usage != "filesystem")) {
    return Invalid(device + " holds a " + (type.empty() ? usage : type) +
                   " signature, not a file system; it is left alone");
  }
  return type;
}

Status MakeXfs(const std::string& device) {
  VDISK_RETURN_IF_ERROR(RequireAbsolute(device, "device"));
  std::vector<std::string> argv = {"mkfs.xfs", "-q", device};
  VDISK_ASSIGN_OR_RETURN(ToolResult made, RunTool(argv, std::chrono::seconds(600)));
  if (made.exit_code != 0) return Internal(ToolFailure(argv, made));
  return Status::Ok();
}

std::optional<MountEntry> MountedAt(const std::string& path) {
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::optional<MountEntry> found;
  for (std::string line; std::getline(mountinfo, line);) {
    // id parent major:minor root mount-point options [optional...] - type source super-options
    std::istringstream fields(line);
    std::string id, parent, device, root, mount_point;
    fields >> id >> parent >> device >> root >> mount_point;
    if (Unescape(mount_point) != path) continue;
    std::string field;
    while (fields >> field && field != "-") {
    }
    MountEntry entry;
    entry.mount_point = path;
    fields >> entry.fs_type >> entry.source;
    entry.source = Unescape(entry.source);
    found = entry;  // later lines are mounted on top of earlier ones
  }
  return found;
}

Status MountVolume(const std::string& device, const std::string& path, const std::string& fs_type) {
  VDISK_RETURN_IF_ERROR(RequireAbsolute(device, "device"));
  VDISK_RETURN_IF_ERROR(RequireAbsolute(path, "mount point"));
  if (fs_type.empty() || fs_type[0] == '-') return Invalid("no file system type to mount");
  std::vector<std::string> argv = {"mount", "-t", fs_type, device, path};
  VDISK_ASSIGN_OR_RETURN(ToolResult mounted, RunTool(argv));
  if (mounted.exit_code != 0) return Internal(ToolFailure(argv, mounted));
  return Status::Ok();
}

Status UnmountVolume(const std::string& path) {
  VDISK_RETURN_IF_ERROR(RequireAbsolute(path, "mount point"));
  if (!MountedAt(path)) return Status::Ok();
  std::vector<std::string> argv = {"umount", path};
  VDISK_ASSIGN_OR_RETURN(ToolResult unmounted, RunTool(argv));
  if (unmounted.exit_code != 0) return Internal(ToolFailure(argv, unmounted));
  return Status::Ok();
}

bool OnSameFilesystem(const std::string& a, const std::string& b) {
  struct stat sa {
  }, sb{};
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev;
}

std::string DescribePath(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "missing";
  if (S_ISBLK(st.st_mode)) return "a block device";
  if (S_ISREG(st.st_mode)) return "a regular file";
  if (S_ISDIR(st.st_mode)) return "a directory";
  if (S_ISCHR(st.st_mode)) return "a character device";
  return "a special file";
}

}  // namespace vdisk::storage

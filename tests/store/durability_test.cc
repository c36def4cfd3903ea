// Acknowledged means durable, kill -9 included: a child process writes through the store
// and reports each acknowledged write over a pipe; the parent kills it mid-stream and
// checks that every acknowledged write is in the reopened store.
#include <cerrno>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "agentmesh/store/embedded_store.h"

#include "store_test_support.h"
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

namespace agentmesh::store {
namespace {

constexpr int kAcksBeforeKill = 300;
constexpr int kMaxChildWrites = 100'000;
constexpr int kWritesPerFlush = 64;

// Runs in the forked child; never returns.
[[noreturn]] void WriteUntilKilled(const std::string& data_dir, int ack_fd) {
  auto store = EmbeddedStore::Open({.data_dir = data_dir});
  if (!store) {
    _exit(2);
  }
  for (int i = 0; i < kMaxChildWrites; ++i) {
    std::string id = "agent-" + std::to_string(i);
    (*store)->membership().Put(
        testing::MakeInstance(id), [ack_fd, line = id + "\n"](core::Status s) {
          // One short write(2) to a pipe is atomic; the bytes outlive this process.
          if (s.ok() &&
              ::write(ack_fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
            _exit(3);
          }
        });
    if (i % kWritesPerFlush == kWritesPerFlush - 1) {
      (*store)->Flush();
    }
  }
  _exit(0);
}

// Reads newline-separated ids from `fd` into `ids` until `want` ids or end of file.
void ReadAcks(int fd, std::string* pending, std::set<std::string>* ids, std::size_t want) {
  char buf[4096];
  while (ids->size() < want) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return;
    }
    pending->append(buf, static_cast<std::size_t>(n));
    for (std::size_t end; (end = pending->find('\n')) != std::string::npos;) {
      ids->insert(pending->substr(0, end));
      pending->erase(0, end + 1);
    }
  }
}

TEST(EmbeddedStoreDurabilityTest, AcknowledgedWritesSurviveKill9) {
  testing::TempDir dir;
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    WriteUntilKilled(dir.str(), fds[1]);
  }
  ::close(fds[1]);

  std::string pending;
  std::set<std::string> acked;
  ReadAcks(fds[0], &pending, &acked, kAcksBeforeKill);
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int wait_status = 0;
  ASSERT_EQ(::waitpid(child, &wait_status, 0), child);
  // Acks written before the kill are still in the pipe.
  ReadAcks(fds[0], &pending, &acked, static_cast<std::size_t>(kMaxChildWrites) + 1);
  ::close(fds[0]);
  ASSERT_TRUE(WIFSIGNALED(wait_status))
      << "the child exited early with status " << WEXITSTATUS(wait_status);
  ASSERT_GE(acked.size(), static_cast<std::size_t>(kAcksBeforeKill));

  auto store = EmbeddedStore::Open({.data_dir = dir.str()});
  ASSERT_TRUE(store.has_value()) << store.error().ToString();
  auto loaded = (*store)->membership().LoadAll();
  ASSERT_TRUE(loaded.has_value()) << loaded.error().ToString();
  std::set<std::string> present;
  for (const auto& instance : *loaded) {
    present.insert(instance.spec.id);
  }
  for (const std::string& id : acked) {
    ASSERT_TRUE(present.contains(id)) << "acknowledged write " << id << " was lost";
  }
}

}  // namespace
}  // namespace agentmesh::store

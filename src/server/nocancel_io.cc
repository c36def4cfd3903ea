#include "server/nocancel_io.h"

#include <cerrno>
#include <cstring>

#include <boost/asio/error.hpp>

#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

extern "C" ssize_t agentmesh_recvmsg(int fd, msghdr* msg, int flags) {
  return static_cast<ssize_t>(::syscall(SYS_recvmsg, fd, msg, flags));
}

extern "C" ssize_t agentmesh_sendmsg(int fd, const msghdr* msg, int flags) {
  return static_cast<ssize_t>(::syscall(SYS_sendmsg, fd, msg, flags));
}

namespace agentmesh::server::internal {

namespace {

// Up to this many bytes, SendNow copies the head and the body into one buffer and sends it
// with send(), which takes no message header and no iovec array from user memory: the
// kernel's copies and checks of those cost more than copying a small message here.
constexpr std::size_t kGatherLimit = 2048;

ssize_t SendOne(int fd, const void* data, std::size_t size) {
  return static_cast<ssize_t>(::syscall(SYS_sendto, fd, data, size, MSG_NOSIGNAL, nullptr, 0));
}

}  // namespace

std::size_t SendNow(int fd, std::string_view head, std::string_view body,
                    boost::system::error_code& ec) {
  ec.clear();
  const std::size_t total = head.size() + body.size();
  if (total == 0) {
    return 0;
  }
  char gathered[kGatherLimit];
  const void* one = nullptr;  // the single buffer to send, if there is one
  if (body.empty() || head.empty()) {
    one = body.empty() ? head.data() : body.data();
  } else if (total <= kGatherLimit) {
    std::memcpy(gathered, head.data(), head.size());
    std::memcpy(gathered + head.size(), body.data(), body.size());
    one = gathered;
  }
  iovec iov[2] = {{const_cast<char*>(head.data()), head.size()},
                  {const_cast<char*>(body.data()), body.size()}};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  for (;;) {
    const ssize_t n =
        one != nullptr ? SendOne(fd, one, total) : agentmesh_sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n >= 0) {
      return static_cast<std::size_t>(n);
    }
    const int error = errno;
    if (error == EINTR) {
      continue;
    }
    if (error != EAGAIN && error != EWOULDBLOCK) {
      ec = boost::system::error_code(error, boost::asio::error::get_system_category());
    }
    return 0;
  }
}

}  // namespace agentmesh::server::internal

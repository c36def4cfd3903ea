#include "server/nocancel_io.h"

#include <cerrno>

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

std::size_t SendNow(int fd, std::string_view head, std::string_view body,
                    boost::system::error_code& ec) {
  iovec iov[2];
  int count = 0;
  for (const std::string_view part : {head, body}) {
    if (!part.empty()) {
      iov[count++] = iovec{const_cast<char*>(part.data()), part.size()};
    }
  }
  ec.clear();
  if (count == 0) {
    return 0;
  }
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = static_cast<std::size_t>(count);
  for (;;) {
    const ssize_t n = agentmesh_sendmsg(fd, &msg, MSG_NOSIGNAL);
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

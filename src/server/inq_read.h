// Socket reads that tell Asio when they emptied the socket, so that the next read waits
// for readiness instead of first trying a recv() that cannot succeed. Not a public API.
//
// Asio starts every read by trying recv() at once (speculatively), and waits for
// readiness only when that fails. On a connection that alternates requests and replies
// the try mostly fails: the next request, or the reply to a request just sent, has not
// arrived yet. That is one wasted system call per exchange on each side of the gateway.
//
// Asio already skips the try after a read that reported the socket "exhausted", until the
// reactor sees the socket become readable again; it only reports that at end of stream.
// An InqBuffer read also reports it when it left the socket empty. It learns that from
// TCP_INQ, in the same recvmsg() call: the bytes still queued, or 1 when a FIN is
// pending. So the report is exact: data or a FIN that arrives later is a readiness event,
// which makes Asio try again. This is what nginx does with its `ready` flag and
// EPOLLRDHUP. On a socket without EnableInq the reads behave as plain reads.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstring>

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
// After the socket headers, which it needs and does not include.
#include <boost/asio/detail/reactive_socket_recv_op.hpp>

#include "server/nocancel_io.h"

namespace agentmesh::server::internal {

// Asks the kernel to report, with each read of `socket`, what is left to read. Reads with
// InqBuffer then spare the try (see above); without it they behave as plain reads.
inline void EnableInq(boost::asio::ip::tcp::socket& socket) {
  const int on = 1;
  ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_INQ, &on, sizeof(on));
}

// A one-buffer sequence for async_read_some whose reads report an emptied socket.
struct InqBuffer {
  using value_type = boost::asio::mutable_buffer;
  using const_iterator = const boost::asio::mutable_buffer*;
  boost::asio::mutable_buffer space;
  const_iterator begin() const { return &space; }
  const_iterator end() const { return &space + 1; }
};

// What TCP_INQ reported in `msg`: the bytes left (1 at a pending FIN), or -1 when absent.
inline int InqOf(msghdr& msg) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == IPPROTO_TCP && c->cmsg_type == TCP_CM_INQ) {
      int inq = 0;
      std::memcpy(&inq, CMSG_DATA(c), sizeof(inq));
      return inq;
    }
  }
  return -1;
}

}  // namespace agentmesh::server::internal

namespace boost::asio::detail {

// The receive operation for an InqBuffer: Asio's own (reactive_socket_recv_op.hpp), with
// recvmsg() instead of recv() (without glibc's cancellation point: nocancel_io.h), and
// "done and exhausted" also when nothing is left.
template <>
class reactive_socket_recv_op_base<agentmesh::server::internal::InqBuffer> : public reactor_op {
 public:
  reactive_socket_recv_op_base(const boost::system::error_code& success_ec, socket_type socket,
                               socket_ops::state_type /*state*/,
                               const agentmesh::server::internal::InqBuffer& buffers,
                               socket_base::message_flags flags, func_type complete_func)
      : reactor_op(success_ec, &reactive_socket_recv_op_base::do_perform, complete_func),
        socket_(socket),
        space_(buffers.space),
        flags_(flags) {}

  static status do_perform(reactor_op* base) {
    auto* o = static_cast<reactive_socket_recv_op_base*>(base);
    iovec iov{o->space_.data(), o->space_.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    for (;;) {
      msg.msg_control = control;
      msg.msg_controllen = sizeof(control);
      const ssize_t n = agentmesh_recvmsg(o->socket_, &msg, o->flags_);
      if (n > 0) {
        o->ec_ = boost::system::error_code();
        o->bytes_transferred_ = static_cast<std::size_t>(n);
        return agentmesh::server::internal::InqOf(msg) == 0 ? done_and_exhausted : done;
      }
      if (n == 0) {  // a TCP socket: the end of the stream, as Asio reports it
        o->ec_ = boost::asio::error::eof;
        o->bytes_transferred_ = 0;
        return done_and_exhausted;
      }
      const int error = errno;
      if (error == EINTR) {
        continue;
      }
      if (error == EAGAIN || error == EWOULDBLOCK) {
        return not_done;
      }
      o->ec_ = boost::system::error_code(error, boost::asio::error::get_system_category());
      o->bytes_transferred_ = 0;
      return done;
    }
  }

 private:
  socket_type socket_;
  boost::asio::mutable_buffer space_;
  socket_base::message_flags flags_;
};

}  // namespace boost::asio::detail

// Reading the reply to a request just sent, without first trying a recv() that cannot
// succeed. Not a public API.
//
// Asio starts every read by trying recv() at once, and waits for readiness only when that
// fails. Right after a request went out, its reply cannot have arrived yet: that first
// recv() fails with EAGAIN, one wasted system call per exchange. AsyncReadReply skips
// the try and waits for the socket to become readable, as nginx does after it sends.
//
// The skip is safe only where nothing can be waiting on the socket that readiness will
// not announce again. Use it for the first read after a request that went out whole with
// no suspension between the send and this read (so the thread's reactor has not taken a
// readiness event for the socket since), on a connection whose earlier replies were read
// to their end. A close by the peer that the pool has not noticed is still seen: the
// request written to a closed peer draws a reset, and the reset is a readiness event.
#pragma once

#include <cstddef>
#include <utility>

#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/detail/reactive_socket_recv_op.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

namespace agentmesh::server::internal {

// A one-buffer sequence whose read skips Asio's first, speculative recv() when
// AsyncReadReply asks for that.
struct ReplyBuffer {
  using value_type = boost::asio::mutable_buffer;
  using const_iterator = const boost::asio::mutable_buffer*;
  boost::asio::mutable_buffer space;
  const_iterator begin() const { return &space; }
  const_iterator end() const { return &space + 1; }
};

// Set on this thread while AsyncReadReply starts a read that is to skip the try: an
// attempt Asio makes then is the speculative one. Later attempts answer readiness
// events and do read.
inline thread_local bool t_starting_reply_read = false;

// Reads some bytes into `space`, like async_read_some. With `reply_expected`, the read
// waits for readiness without trying recv() first (see above for when that is safe).
template <typename CompletionToken>
auto AsyncReadReply(boost::asio::ip::tcp::socket& socket, boost::asio::mutable_buffer space,
                    bool reply_expected, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code, std::size_t)>(
      [](auto handler, boost::asio::ip::tcp::socket* s, boost::asio::mutable_buffer b,
         bool skip_try) {
        struct Starting {  // cleared however async_read_some returns
          explicit Starting(bool on) { t_starting_reply_read = on; }
          ~Starting() { t_starting_reply_read = false; }
        } starting(skip_try);
        s->async_read_some(ReplyBuffer{b}, std::move(handler));
      },
      token, &socket, space, reply_expected);
}

}  // namespace agentmesh::server::internal

namespace boost::asio::detail {

// The receive operation for a ReplyBuffer: Asio's own (reactive_socket_recv_op.hpp), but
// the attempt made while the read starts reports "not done" without calling recv().
template <>
class reactive_socket_recv_op_base<agentmesh::server::internal::ReplyBuffer> : public reactor_op {
 public:
  reactive_socket_recv_op_base(const boost::system::error_code& success_ec, socket_type socket,
                               socket_ops::state_type state,
                               const agentmesh::server::internal::ReplyBuffer& buffers,
                               socket_base::message_flags flags, func_type complete_func)
      : reactor_op(success_ec, &reactive_socket_recv_op_base::do_perform, complete_func),
        socket_(socket),
        state_(state),
        space_(buffers.space),
        flags_(flags) {}

  static status do_perform(reactor_op* base) {
    auto* o = static_cast<reactive_socket_recv_op_base*>(base);
    if (agentmesh::server::internal::t_starting_reply_read) {
      return not_done;  // wait for readiness
    }
    status result =
        socket_ops::non_blocking_recv1(o->socket_, o->space_.data(), o->space_.size(), o->flags_,
                                       (o->state_ & socket_ops::stream_oriented) != 0, o->ec_,
                                       o->bytes_transferred_)
            ? done
            : not_done;
    if (result == done && (o->state_ & socket_ops::stream_oriented) != 0 &&
        o->bytes_transferred_ == 0) {
      result = done_and_exhausted;
    }
    return result;
  }

 private:
  socket_type socket_;
  socket_ops::state_type state_;
  boost::asio::mutable_buffer space_;
  socket_base::message_flags flags_;
};

}  // namespace boost::asio::detail

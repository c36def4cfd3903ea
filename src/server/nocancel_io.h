// The server's per-request socket system calls (the gateway's reads and sends, every
// response's first send), made without glibc's cancellation points. Not a public API.
//
// glibc's recvmsg() and sendmsg() are thread cancellation points: in a process with more
// than one thread each call switches the thread to asynchronous cancellation and back,
// two atomic read-modify-writes around the system call. The node never cancels a thread,
// so that is pure cost, and on the gateway's path (two receives and two sends per call)
// it was 1.2 % of the node's CPU time under load. These make the same system calls
// directly. They have C linkage so that a test can count them (ld --wrap).
#pragma once

#include <cstddef>
#include <string_view>

#include <boost/system/error_code.hpp>

#include <sys/socket.h>
#include <sys/types.h>

extern "C" {

// recvmsg(2), returning -1 and setting errno on failure.
ssize_t agentmesh_recvmsg(int fd, msghdr* msg, int flags);

// sendmsg(2), returning -1 and setting errno on failure.
ssize_t agentmesh_sendmsg(int fd, const msghdr* msg, int flags);

}  // extern "C"

namespace agentmesh::server::internal {

// Sends `head` and then `body` on the non-blocking socket `fd` in one system call, as much
// as the socket takes now, without SIGPIPE: send() when they fit one small buffer, else
// sendmsg(). Returns the bytes sent: fewer than both hold (maybe 0) when the socket's
// buffer is full. Sets `ec` on any other failure.
std::size_t SendNow(int fd, std::string_view head, std::string_view body,
                    boost::system::error_code& ec);

}  // namespace agentmesh::server::internal

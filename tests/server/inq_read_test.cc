// Reads with InqBuffer: the same data, end of stream and errors as plain reads, and no
// recv() tried after a read that emptied the socket until something arrives.
#include "server/inq_read.h"

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <sys/socket.h>

namespace {

// recvmsg() calls on the socket under test; the test binary links with
// --wrap=agentmesh_recvmsg, so every call InqBuffer reads make comes here first.
std::atomic<int> g_watched_fd{-1};
std::atomic<int> g_recvmsg_calls{0};

}  // namespace

extern "C" ssize_t __real_agentmesh_recvmsg(int fd, msghdr* msg, int flags);
extern "C" ssize_t __wrap_agentmesh_recvmsg(int fd, msghdr* msg, int flags) {
  if (fd == g_watched_fd.load()) {
    ++g_recvmsg_calls;
  }
  return __real_agentmesh_recvmsg(fd, msg, flags);
}

namespace agentmesh::server::internal {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

struct Read {
  bool done = false;
  boost::system::error_code ec;
  std::string data;
};

class InqReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    client_.connect(acceptor.local_endpoint());
    client_.set_option(tcp::no_delay(true));
    acceptor.accept(server_);
    server_.non_blocking(true);
    g_watched_fd = server_.native_handle();
    g_recvmsg_calls = 0;
  }
  void TearDown() override { g_watched_fd = -1; }

  void Send(std::string_view bytes) { asio::write(client_, asio::buffer(bytes)); }

  // Waits until the server's socket holds something to read (or a FIN), as seen without
  // reading it, and lets the reactor take the readiness event.
  void AwaitArrival() {
    char c;
    for (int i = 0; i < 100000; ++i) {
      if (::recv(server_.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT) >= 0) {
        io_.restart();
        io_.poll();
        return;
      }
      std::this_thread::yield();
    }
    FAIL() << "nothing arrived";
  }

  // Starts a read of at most `space` bytes into `r`; runs what is ready, no more.
  void StartRead(Read& r, std::size_t space = sizeof(buffer_)) {
    r = Read();
    server_.async_read_some(InqBuffer{asio::buffer(buffer_, space)},
                            [this, &r](boost::system::error_code ec, std::size_t n) {
                              r.done = true;
                              r.ec = ec;
                              r.data.assign(buffer_, n);
                            });
    io_.restart();
    io_.poll();
  }

  // Waits for bytes sent to the server's socket and reads them into `r`.
  void ReadWhatArrived(Read& r) {
    AwaitArrival();
    StartRead(r);
    Finish(r);
  }

  // Sends a byte, reads it (emptying the socket) and starts the next read into `next`.
  void StartReadAfterAnEmptyingRead(Read& next) {
    Send("x");
    Read first;
    ReadWhatArrived(first);
    StartRead(next);
  }

  // Runs the io_context until `r` completes, for at most 5 s.
  void Finish(Read& r) {
    const auto give_up = std::chrono::steady_clock::now() + 5s;
    while (!r.done && std::chrono::steady_clock::now() < give_up) {
      io_.restart();
      io_.run_one_for(100ms);
    }
    ASSERT_TRUE(r.done) << "the read never completed";
  }

  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  tcp::socket server_{io_};
  tcp::socket client_{io_};
  char buffer_[64];
};

TEST_F(InqReadTest, AReadThatEmptiesTheSocketSparesTheNextTry) {
  EnableInq(server_);
  Send("GET / HTTP/1.1\r\n\r\n");
  Read first;
  ReadWhatArrived(first);
  EXPECT_EQ(first.ec, boost::system::error_code());
  EXPECT_EQ(first.data, "GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(g_recvmsg_calls, 1);

  Read second;
  StartRead(second);
  EXPECT_FALSE(second.done);
  EXPECT_EQ(g_recvmsg_calls, 1) << "a recv() was tried on an empty socket";
  Send("next");
  Finish(second);
  EXPECT_EQ(second.data, "next");
  EXPECT_EQ(g_recvmsg_calls, 2);
}

TEST_F(InqReadTest, WithoutInqTheNextReadTriesFirstAsAPlainReadDoes) {
  Send("GET");
  Read first;
  ReadWhatArrived(first);
  EXPECT_EQ(first.data, "GET");

  Read second;
  StartRead(second);
  EXPECT_FALSE(second.done);
  EXPECT_EQ(g_recvmsg_calls, 2);
  Send("next");
  Finish(second);
  EXPECT_EQ(second.data, "next");
}

TEST_F(InqReadTest, BytesThatArriveWhileNoReadIsPendingAreReadAtOnce) {
  EnableInq(server_);
  Send("a");
  Read first;
  ReadWhatArrived(first);
  EXPECT_EQ(first.data, "a");

  Send("b");
  AwaitArrival();  // the reactor takes the readiness event with no read pending
  Read second;
  StartRead(second);
  EXPECT_TRUE(second.done);
  EXPECT_EQ(second.data, "b");
}

TEST_F(InqReadTest, AReadIntoTooSmallASpaceLeavesTheRestToBeReadAtOnce) {
  EnableInq(server_);
  Send("0123456789");
  AwaitArrival();
  std::string got;
  for (const std::string_view want : {"0123", "4567", "89"}) {
    Read r;
    StartRead(r, 4);
    Finish(r);
    EXPECT_EQ(r.data, want);
    got += r.data;
  }
  EXPECT_EQ(got, "0123456789");
  EXPECT_EQ(g_recvmsg_calls, 3);
}

TEST_F(InqReadTest, AFinThatCameWithTheLastBytesEndsTheStream) {
  EnableInq(server_);
  Send("last");
  client_.shutdown(tcp::socket::shutdown_send);
  Read first;
  ReadWhatArrived(first);
  EXPECT_EQ(first.data, "last");

  Read second;
  StartRead(second);
  Finish(second);
  EXPECT_EQ(second.ec, asio::error::eof);
}

TEST_F(InqReadTest, AFinAfterAnEmptyingReadEndsTheStream) {
  EnableInq(server_);
  Read second;
  StartReadAfterAnEmptyingRead(second);
  EXPECT_FALSE(second.done);
  client_.shutdown(tcp::socket::shutdown_send);
  Finish(second);
  EXPECT_EQ(second.ec, asio::error::eof);
  EXPECT_TRUE(second.data.empty());
}

TEST_F(InqReadTest, AResetAfterAnEmptyingReadIsReported) {
  EnableInq(server_);
  Read second;
  StartReadAfterAnEmptyingRead(second);
  client_.set_option(asio::socket_base::linger(true, 0));
  client_.close();
  Finish(second);
  EXPECT_EQ(second.ec, asio::error::connection_reset);
}

}  // namespace
}  // namespace agentmesh::server::internal

// SendNow: one non-blocking send of a head and a body, partial when the socket is full,
// and an error (not SIGPIPE) when the peer is gone.
#include "server/nocancel_io.h"

#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <gtest/gtest.h>

namespace agentmesh::server::internal {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

class SendNowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    client_.connect(acceptor.local_endpoint());
    acceptor.accept(server_);
    client_.non_blocking(true);
  }
  std::string ReadExactly(std::size_t n) {
    std::string got(n, '\0');
    asio::read(server_, asio::buffer(got));
    return got;
  }
  asio::io_context io_;
  tcp::socket client_{io_};
  tcp::socket server_{io_};
};

TEST_F(SendNowTest, SendsTheHeadThenTheBody) {
  boost::system::error_code ec;
  EXPECT_EQ(SendNow(client_.native_handle(), "HTTP/1.1 200 OK\r\n\r\n", "ok\n", ec), 22u);
  EXPECT_FALSE(ec);
  EXPECT_EQ(ReadExactly(22), "HTTP/1.1 200 OK\r\n\r\nok\n");
  EXPECT_EQ(SendNow(client_.native_handle(), "head only", "", ec), 9u);
  EXPECT_EQ(SendNow(client_.native_handle(), "", "body only", ec), 9u);
  EXPECT_FALSE(ec);
  EXPECT_EQ(ReadExactly(18), "head onlybody only");
}

TEST_F(SendNowTest, AFullSocketTakesPartAndThenNothingWithoutAnError) {
  const std::string chunk(1 << 20, 'x');
  boost::system::error_code ec;
  std::size_t total = 0;
  std::size_t n = 0;
  do {  // nobody reads, so the buffers fill up
    n = SendNow(client_.native_handle(), chunk, chunk, ec);
    ASSERT_FALSE(ec) << ec.message();
    total += n;
  } while (n == 2 * chunk.size());
  EXPECT_GT(total, 0u);
  EXPECT_EQ(SendNow(client_.native_handle(), chunk, "", ec), 0u);
  EXPECT_FALSE(ec) << "a full socket is no error";
}

TEST_F(SendNowTest, APeerThatIsGoneIsAnErrorNotASignal) {
  server_.close();
  boost::system::error_code ec;
  // The first send may still be taken (the reset arrives in answer to it).
  for (int i = 0; i < 100 && !ec; ++i) {
    SendNow(client_.native_handle(), "ping", "", ec);
  }
  EXPECT_TRUE(ec == asio::error::broken_pipe || ec == asio::error::connection_reset)
      << ec.message();
}

}  // namespace
}  // namespace agentmesh::server::internal

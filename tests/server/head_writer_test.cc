// HeadWriter: pieces land in order, numbers are written in decimal, the storage grows when
// a head outgrows it and is reused as it is by the next head.
#include "server/head_writer.h"

#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "server/response_head.h"

namespace agentmesh::server::internal {
namespace {

using namespace std::string_view_literals;

TEST(HeadWriterTest, WritesPiecesNumbersAndClaimedBytesInOrder) {
  std::string storage;
  HeadWriter w(storage);
  w.Put("GET "sv);
  w.Put('/');
  w.PutNumber(0);
  w.Put(' ');
  w.PutNumber(18446744073709551615u);
  std::memcpy(w.Claim(3), "abc", 3);
  AppendField(w, "X-A", "1");
  EXPECT_EQ(w.view(), "GET /0 18446744073709551615abcX-A: 1\r\n");
}

TEST(HeadWriterTest, GrowsForAHeadLargerThanItsRoomAndKeepsWhatWasWritten) {
  std::string storage;
  std::string expected;
  {
    HeadWriter w(storage);
    for (int i = 0; i < 2000; ++i) {
      w.Put("X-Field: "sv);
      w.PutNumber(static_cast<std::uint64_t>(i));
      w.Put("\r\n"sv);
      expected += "X-Field: " + std::to_string(i) + "\r\n";
    }
    const std::string big(100000, 'b');
    w.Put(big);
    expected += big;
    EXPECT_EQ(w.view(), expected);
  }
  const std::size_t grown = storage.size();
  EXPECT_GE(grown, expected.size());
  // The next head starts from the beginning of the same storage, which is not shrunk.
  HeadWriter next(storage);
  next.Put("HTTP/1.1 200 OK\r\n"sv);
  EXPECT_EQ(next.view(), "HTTP/1.1 200 OK\r\n");
  EXPECT_EQ(storage.size(), grown);
  EXPECT_EQ(next.view().data(), storage.data());
}

}  // namespace
}  // namespace agentmesh::server::internal

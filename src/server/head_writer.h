// HeadWriter: builds an HTTP head piece by piece in storage kept between heads. Not a
// public API.
//
// std::string::append is an out-of-line call into libstdc++ for every piece, and a head
// has dozens of pieces. Here a piece is a room check and a memcpy, of constant size for
// literals, which the compiler inlines.
#pragma once

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace agentmesh::server::internal {

class HeadWriter {
 public:
  // Writes from the start of `storage`, whose size is the room there is: it is resized
  // only to grow, so that the same storage serves head after head without a fill.
  explicit HeadWriter(std::string& storage) : storage_(storage) {
    if (storage_.size() < kInitialRoom) {
      storage_.resize(kInitialRoom);
    }
    begin_ = storage_.data();
    p_ = begin_;
    end_ = begin_ + storage_.size();
  }

  HeadWriter(const HeadWriter&) = delete;
  HeadWriter& operator=(const HeadWriter&) = delete;

  // Inlined so that a literal's copy is a few moves (GCC would call out for each piece).
  [[gnu::always_inline]] void Put(std::string_view s) {
    Room(s.size());
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  [[gnu::always_inline]] void Put(char c) {
    Room(1);
    *p_++ = c;
  }
  void PutNumber(std::uint64_t n) {
    constexpr std::size_t kMaxDigits = 20;
    Room(kMaxDigits);
    p_ = std::to_chars(p_, p_ + kMaxDigits, n).ptr;
  }
  // The next `n` bytes, for the caller to fill.
  char* Claim(std::size_t n) {
    Room(n);
    char* at = p_;
    p_ += n;
    return at;
  }
  // As std::string's, so that code written for strings (AppendField) writes here too.
  void append(std::string_view s) { Put(s); }
  void append(const char* s, std::size_t n) { Put(std::string_view(s, n)); }

  // What was written; valid until the storage is written again.
  std::string_view view() const { return {begin_, static_cast<std::size_t>(p_ - begin_)}; }

 private:
  static constexpr std::size_t kInitialRoom = 4096;

  [[gnu::always_inline]] void Room(std::size_t n) {
    if (n > static_cast<std::size_t>(end_ - p_)) [[unlikely]] {
      Grow(n);
    }
  }
  [[gnu::noinline]] void Grow(std::size_t n) {
    const std::size_t used = static_cast<std::size_t>(p_ - begin_);
    storage_.resize(std::max(2 * storage_.size(), used + n));
    begin_ = storage_.data();
    p_ = begin_ + used;
    end_ = begin_ + storage_.size();
  }

  std::string& storage_;
  char* begin_;
  char* p_;
  char* end_;
};

}  // namespace agentmesh::server::internal

#include "agentmesh/core/ids.h"

#include <random>

namespace agentmesh::core {

Status ValidateId(std::string_view id, std::string_view what) {
  auto fail = [&](std::string why) {
    return InvalidArgument("invalid_" + std::string(what),
                           std::string(what) + " '" + std::string(id.substr(0, 64)) + "' " + why +
                               "; use 1-128 characters of letters, digits, '.', '_' or '-', "
                               "starting with a letter or digit");
  };
  if (id.empty()) {
    return InvalidArgument("invalid_" + std::string(what), std::string(what) + " must not be empty");
  }
  if (id.size() > kMaxIdLength) {
    return fail("is too long");
  }
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(id.front())) {
    return fail("must start with a letter or digit");
  }
  for (char c : id) {
    if (!alnum(c) && c != '.' && c != '_' && c != '-') {
      return fail("contains a character that is not allowed");
    }
  }
  return OkStatus();
}

std::string NewRandomId() {
  std::random_device rd;
  std::uniform_int_distribution<int> hex(0, 15);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (char& c : out) {
    c = kDigits[hex(rd)];
  }
  return out;
}

}  // namespace agentmesh::core

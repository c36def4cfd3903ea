#include <string>
#include <vector>

#include <fmt/format.h>

#include "agentmesh/config/policy.h"
#include "agentmesh/core/duration.h"

#include "config/enum_names_internal.h"
#include "config/policy_schema_internal.h"
#include "config/units_internal.h"

namespace agentmesh::config {
namespace {

using internal::Unconstrained;

// Writes one YAML value the way the parser reads it back.
std::string Format(int value) { return std::to_string(value); }
std::string Format(double value) { return internal::FormatNumber(value); }
std::string Format(bool value) { return value ? "true" : "false"; }
std::string Format(core::Duration value) { return core::FormatDuration(value); }
std::string Format(std::uint64_t value) { return internal::FormatBytes(value); }
std::string Format(TimeOfDay value) { return "\"" + internal::FormatTimeOfDay(value) + "\""; }
std::string Format(const std::vector<int>& values) {
  return fmt::format("[{}]", fmt::join(values, ", "));
}
std::string Format(const std::string& value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}
std::string Format(const std::vector<std::string>& values) {
  std::vector<std::string> quoted;
  quoted.reserve(values.size());
  for (const auto& v : values) {
    quoted.push_back(Format(v));
  }
  return fmt::format("[{}]", fmt::join(quoted, ", "));
}
template <typename E>
  requires std::is_enum_v<E>
std::string Format(E value) {
  return std::string(internal::NameOf(value));
}

// Appends "key: value" lines, indenting two spaces per group.
class DumpVisitor {
 public:
  template <typename T, typename C = Unconstrained>
  void Field(std::string_view key, T& value, C = {}) {
    out_ += fmt::format("{:{}}{}: {}\n", "", depth_ * 2, key, Format(value));
  }

  template <typename F>
  void Group(std::string_view key, F body) {
    out_ += fmt::format("{:{}}{}:\n", "", depth_ * 2, key);
    ++depth_;
    body();
    --depth_;
  }

  std::string Take() { return std::move(out_); }

 private:
  std::string out_ =
      "# agentmesh policy: every key with its effective value. Durations like \"30s\",\n"
      "# sizes like \"256MiB\"; see policies/sutazai.yaml for the rule behind each key.\n";
  int depth_ = 0;
};

}  // namespace

std::string DumpPolicy(const Policy& policy) {
  Policy copy = policy;
  DumpVisitor visitor;
  internal::VisitPolicy(copy, visitor);
  return visitor.Take();
}

std::string_view EnumName(ConsistencyLevel value) { return internal::NameOf(value); }
std::string_view EnumName(StorageBackend value) { return internal::NameOf(value); }
std::string_view EnumName(CoordinationBackend value) { return internal::NameOf(value); }
std::string_view EnumName(ConflictStrategy value) { return internal::NameOf(value); }
std::string_view EnumName(DeliveryGuarantee value) { return internal::NameOf(value); }
std::string_view EnumName(Backoff value) { return internal::NameOf(value); }
std::string_view EnumName(LoadBalancingAlgorithm value) { return internal::NameOf(value); }
std::string_view EnumName(InvalidationStrategy value) { return internal::NameOf(value); }

}  // namespace agentmesh::config

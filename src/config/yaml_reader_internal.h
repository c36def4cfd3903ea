// Reading YAML into typed values with "FILE:LINE:COLUMN: key.path: message"
// diagnostics; shared by the policy and fleet parsers. Not thread-safe; one reader
// per parse.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "agentmesh/config/policy_values.h"
#include "agentmesh/core/clock.h"
#include "agentmesh/core/status.h"

#include "config/enum_names_internal.h"

namespace agentmesh::config::internal {

// Inclusive bounds of a numeric value.
template <typename T>
struct Range {
  T min;
  T max;
};

constexpr Range<int> Between(int min, int max) { return {min, max}; }
constexpr Range<double> Between(double min, double max) { return {min, max}; }
constexpr Range<core::Duration> Between(core::Duration min, core::Duration max) {
  return {min, max};
}
constexpr Range<std::uint64_t> Sizes(std::uint64_t min, std::uint64_t max) { return {min, max}; }

// What a string value must look like.
enum class Text {
  kNonEmpty,
  kId,
  kIdOrEmpty,
  kHostPort,
  kLogLevel,
  kSemver,
  kPathPrefix,      // starts with '/'
  kHttpUrlOrEmpty,  // http://host:port/path, or empty
  kHttpUrl,         // http://host:port/path
  kHeaderName,      // an HTTP header name (RFC 9110 token)
  kLockName,        // a lock name or prefix: 1-200 of [A-Za-z0-9._:/-]
};

// A list of strings that may be empty (most lists must not be), each item checked by `text`.
struct PossiblyEmpty {
  Text text;
};

// The constraint of a value that needs none (bools, enums, times of day).
struct Unconstrained {};

// Collects one "FILE:LINE:COLUMN: path: message" line per mistake.
class Diagnostics {
 public:
  explicit Diagnostics(std::string_view filename) : filename_(filename) {}

  // Records a mistake at `mark` (0-based, as yaml-cpp gives it; a null mark reads 1:1).
  void Report(const YAML::Mark& mark, std::string_view path, std::string_view message);
  bool ok() const { return lines_.empty(); }
  // Returns kInvalidArgument with `reason` and every line, oldest first.
  core::Status ToStatus(std::string reason) const;

 private:
  std::string filename_;
  std::vector<std::string> lines_;
};

// Reads the file at `path`. Errors: kNotFound with `reason`.
core::Result<std::string> ReadTextFile(const std::string& path, std::string reason);

// Parses `text` as one YAML document; reports a syntax error and returns nullopt.
std::optional<YAML::Node> LoadYaml(std::string_view text, Diagnostics& diag);

// A YAML mapping whose entries are taken one key at a time; whatever is not taken
// is an unknown key. A null node reads as an empty mapping.
class MapCursor {
 public:
  // Reports `node` when it is not a mapping, and duplicate or non-string keys.
  MapCursor(const YAML::Node& node, std::string path, Diagnostics* diag);

  bool valid() const { return valid_; }
  const std::string& path() const { return path_; }
  YAML::Mark mark() const { return mark_; }
  // Changes the prefix of later paths (e.g. once an agent's name is known).
  void Rename(std::string path) { path_ = std::move(path); }
  // Returns "path.key", or "key" at the top level.
  std::string PathOf(std::string_view key) const;
  // Returns the value under `key`, if present, and records `key` as known.
  std::optional<YAML::Node> Take(std::string_view key);
  // Reports every entry that no Take() asked for, with a near known key if any.
  void ReportUnknown();

 private:
  struct Entry {
    std::string key;
    YAML::Mark key_mark;
    YAML::Node value;
    bool taken = false;
  };

  std::string path_;
  Diagnostics* diag_;
  YAML::Mark mark_;
  bool valid_ = true;
  std::vector<Entry> entries_;
  std::vector<std::string> known_;
};

// Value readers: each converts `node` into `out` and checks the constraint, or
// reports the mistake under `path` and leaves `out` unchanged. True on success.
bool ReadValue(const YAML::Node& node, const std::string& path, Diagnostics& diag, int& out,
               Range<int> range);
bool ReadValue(const YAML::Node& node, const std::string& path, Diagnostics& diag, double& out,
               Range<double> range);
bool ReadValue(const YAML::Node& node, const std::string& path, Diagnostics& diag,
               core::Duration& out, Range<core::Duration> range);
bool ReadValue(const YAML::Node& node, const std::string& path, Diagnostics& diag,
               std::uint64_t& out, Range<std::uint64_t> range);
bool ReadValue(const YAML::Node& node, const std::string& path, Diagnostics& diag, bool& out,
               Unconstrained);
bool ReadValue(const YAML::Node& node, const std::string& path, Diagnostics& diag, std::string& out,
               Text text);
bool ReadValue(const YAML::Node& node, const std::string& path, Diagnostics& diag, TimeOfDay& out,
               Unconstrained);
// A list whose elements each satisfy `range`.
bool ReadValue(const YAML::Node& node, const std::string& path, Diagnostics& diag,
               std::vector<int>& out, Range<int> range);
// A non-empty list of distinct strings, each satisfying `text`.
bool ReadValue(const YAML::Node& node, const std::string& path, Diagnostics& diag,
               std::vector<std::string>& out, Text text);
bool ReadValue(const YAML::Node& node, const std::string& path, Diagnostics& diag,
               std::vector<std::string>& out, PossiblyEmpty rule);

// Reads a scalar that must be one of `names`; stores its index.
bool ReadChoice(const YAML::Node& node, const std::string& path, Diagnostics& diag,
                const std::vector<std::string_view>& names, std::size_t& index);

template <typename E>
  requires std::is_enum_v<E> bool
ReadValue(const YAML::Node& node, const std::string& path, Diagnostics& diag, E& out,
          Unconstrained) {
  std::vector<std::string_view> names;
  for (const auto& entry : EnumTable<E>::kEntries) {
    names.push_back(entry.second);
  }
  std::size_t index = 0;
  if (!ReadChoice(node, path, diag, names, index)) {
    return false;
  }
  out = EnumTable<E>::kEntries[index].first;
  return true;
}

}  // namespace agentmesh::config::internal

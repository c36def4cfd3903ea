#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include <fmt/format.h>

#include "agentmesh/core/duration.h"
#include "agentmesh/core/ids.h"

#include "config/units_internal.h"
#include "config/yaml_reader_internal.h"

namespace agentmesh::config::internal {
namespace {

constexpr std::size_t kMaxSuggestionDistance = 2;
constexpr std::string_view kLogLevels[] = {"trace", "debug", "info", "warn", "error", "off"};

std::string_view KindName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a scalar";
    default:
      return "nothing";
  }
}

// Returns the scalar text of `node`, or reports that it is not `expected`.
std::optional<std::string> Scalar(const YAML::Node& node, const std::string& path,
                                  Diagnostics& diag, std::string_view expected) {
  if (!node.IsScalar()) {
    diag.Report(node.Mark(), path, fmt::format("must be {}, got {}", expected, KindName(node)));
    return std::nullopt;
  }
  return node.Scalar();
}

std::size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Shows a bound in the unit the user writes.
std::string Show(int value) { return std::to_string(value); }
std::string Show(double value) { return FormatNumber(value); }
std::string Show(core::Duration value) { return core::FormatDuration(value); }
std::string Show(std::uint64_t value) { return FormatBytes(value); }

template <typename T>
bool CheckRange(const YAML::Node& node, const std::string& path, Diagnostics& diag, T value,
                Range<T> range) {
  if (value < range.min || value > range.max) {
    diag.Report(node.Mark(), path,
                fmt::format("must be between {} and {}, got {}", Show(range.min), Show(range.max),
                            node.Scalar()));
    return false;
  }
  return true;
}

// Converts one scalar with `parse`, then range-checks it.
template <typename T, typename Parse>
bool ReadNumeric(const YAML::Node& node, const std::string& path, Diagnostics& diag, T& out,
                 Range<T> range, std::string_view expected, Parse parse) {
  std::optional<std::string> text = Scalar(node, path, diag, expected);
  if (!text) {
    return false;
  }
  std::optional<T> value = parse(*text);
  if (!value) {
    diag.Report(node.Mark(), path, fmt::format("must be {}, got '{}'", expected, *text));
    return false;
  }
  if (!CheckRange(node, path, diag, *value, range)) {
    return false;
  }
  out = *value;
  return true;
}

bool ValidHostPort(std::string_view text) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return false;
  }
  std::optional<long long> port = ParseInteger(text.substr(colon + 1));
  return port && *port >= 0 && *port <= 65535;
}

bool ValidSemver(std::string_view text) {
  int parts = 0;
  for (std::size_t start = 0; start <= text.size(); ++parts) {
    std::size_t dot = std::min(text.find('.', start), text.size());
    std::optional<long long> number = ParseInteger(text.substr(start, dot - start));
    if (!number || *number < 0) {
      return false;
    }
    start = dot + 1;
  }
  return parts == 3;
}

// Returns why `text` breaks `rule`, or nullopt when it is fine.
std::optional<std::string> CheckText(std::string_view text, Text rule) {
  switch (rule) {
    case Text::kNonEmpty:
      return text.empty() ? std::optional<std::string>("must not be empty") : std::nullopt;
    case Text::kIdOrEmpty:
      if (text.empty()) {
        return std::nullopt;
      }
      [[fallthrough]];
    case Text::kId:
      if (core::Status s = core::ValidateId(text, "id"); !s.ok()) {
        return s.message();
      }
      return std::nullopt;
    case Text::kHostPort:
      return ValidHostPort(text) ? std::nullopt
                                 : std::optional<std::string>(fmt::format(
                                       "must be host:port with a port 0-65535, got '{}'", text));
    case Text::kLogLevel:
      return std::ranges::find(kLogLevels, text) != std::end(kLogLevels)
                 ? std::nullopt
                 : std::optional<std::string>(fmt::format("must be one of {}, got '{}'",
                                                          fmt::join(kLogLevels, ", "), text));
    case Text::kSemver:
      return ValidSemver(text) ? std::nullopt
                               : std::optional<std::string>(
                                     fmt::format("must be a version like 1.0.0, got '{}'", text));
    case Text::kPathPrefix:
      return text.starts_with('/') && text.find_first_of(" \t\r\n?#") == std::string_view::npos
                 ? std::nullopt
                 : std::optional<std::string>(
                       fmt::format("must be a path starting with '/', got '{}'", text));
    case Text::kHttpUrl:
    case Text::kHttpUrlOrEmpty:
      return (text.empty() && rule == Text::kHttpUrlOrEmpty) ||
                     (text.starts_with("http://") && text.size() > 7 &&
                      text.find_first_of(" \t\r\n") == std::string_view::npos)
                 ? std::nullopt
                 : std::optional<std::string>(
                       fmt::format("must be an http:// URL such as http://127.0.0.1:{}, got '{}'",
                                   rule == Text::kHttpUrl ? "2379" : "4318/v1/traces", text));
    case Text::kHeaderName:
      return !text.empty() && text.find_first_not_of(
                                  "abcdefghijklmnopqrstuvwxyz"
                                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                  "!#$%&'*+-.^_`|~") == std::string_view::npos
                 ? std::nullopt
                 : std::optional<std::string>(
                       fmt::format("must be an HTTP header name, got '{}'", text));
    case Text::kLockName:
      return !text.empty() && text.size() <= 200 &&
                     text.find_first_not_of(
                         "abcdefghijklmnopqrstuvwxyz"
                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:/-") == std::string_view::npos
                 ? std::nullopt
                 : std::optional<std::string>(
                       fmt::format("must be 1-200 letters, digits or . _ : / -, got '{}'", text));
  }
  return std::nullopt;
}

}  // namespace

void Diagnostics::Report(const YAML::Mark& mark, std::string_view path, std::string_view message) {
  int line = mark.line < 0 ? 1 : mark.line + 1;
  int column = mark.column < 0 ? 1 : mark.column + 1;
  std::string where = fmt::format("{}:{}:{}: ", filename_, line, column);
  lines_.push_back(path.empty() ? where + std::string(message)
                                : fmt::format("{}{}: {}", where, path, message));
}

core::Status Diagnostics::ToStatus(std::string reason) const {
  return core::InvalidArgument(std::move(reason), fmt::format("{}", fmt::join(lines_, "\n")));
}

core::Result<std::string> ReadTextFile(const std::string& path, std::string reason) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    std::string why = ec ? ec.message() : "not a regular file";
    return core::Err(
        core::NotFound(std::move(reason), fmt::format("cannot read '{}': {}", path, why)));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return core::Err(core::NotFound(
        std::move(reason), fmt::format("cannot read '{}': {}", path, std::strerror(errno))));
  }
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::optional<YAML::Node> LoadYaml(std::string_view text, Diagnostics& diag) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    diag.Report(e.mark, "", "YAML syntax error: " + e.msg);
    return std::nullopt;
  }
}

MapCursor::MapCursor(const YAML::Node& node, std::string path, Diagnostics* diag)
    : path_(std::move(path)), diag_(diag), mark_(node.Mark()) {
  if (node.IsNull()) {
    return;
  }
  if (!node.IsMap()) {
    valid_ = false;
    diag_->Report(mark_, path_, fmt::format("must be a mapping, got {}", KindName(node)));
    return;
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    YAML::Node key = it->first;
    if (!key.IsScalar()) {
      diag_->Report(key.Mark(), path_, "keys must be plain names");
      continue;
    }
    auto same = [&](const Entry& e) { return e.key == key.Scalar(); };
    if (std::ranges::any_of(entries_, same)) {
      diag_->Report(key.Mark(), PathOf(key.Scalar()), "duplicate key");
      continue;
    }
    entries_.push_back({key.Scalar(), key.Mark(), it->second});
  }
}

std::string MapCursor::PathOf(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

std::optional<YAML::Node> MapCursor::Take(std::string_view key) {
  known_.emplace_back(key);
  for (Entry& e : entries_) {
    if (e.key == key) {
      e.taken = true;
      return e.value;
    }
  }
  return std::nullopt;
}

void MapCursor::ReportUnknown() {
  for (const Entry& e : entries_) {
    if (e.taken) {
      continue;
    }
    std::string message = "unknown key";
    auto closer = [&](const std::string& a, const std::string& b) {
      return EditDistance(a, e.key) < EditDistance(b, e.key);
    };
    auto best = std::ranges::min_element(known_, closer);
    if (best != known_.end() && EditDistance(*best, e.key) <= kMaxSuggestionDistance) {
      message += fmt::format(" (did you mean '{}'?)", *best);
    }
    diag_->Report(e.key_mark, PathOf(e.key), message);
  }
}

bool ReadValue(const YAML::Node& node, const std::string& path, Diagnostics& diag, int& out,
               Range<int> range) {
  return ReadNumeric(node, path, diag, out, range, "an integer",
                     [](std::string_view t) -> std::optional<int> {
                       std::optional<long long> v = ParseInteger(t);
                       if (!v || *v < INT32_MIN || *v > INT32_MAX) {
                         return std::nullopt;
                       }
                       return static_cast<int>(*v);
                     });
}

bool ReadValue(const YAML::Node& node, const std::string& path, Diagnostics& diag, double& out,
               Range<double> range) {
  return ReadNumeric(node, path, diag, out, range, "a number", ParseNumber);
}

bool ReadValue(const YAML::Node& node, const std::string& path, Diagnostics& diag,
               core::Duration& out, Range<core::Duration> range) {
  return ReadNumeric(node, path, diag, out, range, "a duration like \"30s\" or \"250ms\"",
                     [](std::string_view t) -> std::optional<core::Duration> {
                       core::Result<core::Duration> d = core::ParseDuration(t);
                       return d ? std::optional<core::Duration>(*d) : std::nullopt;
                     });
}

bool ReadValue(const YAML::Node& node, const std::string& path, Diagnostics& diag,
               std::uint64_t& out, Range<std::uint64_t> range) {
  return ReadNumeric(node, path, diag, out, range, "a size like \"256MiB\" or a byte count",
                     ParseBytes);
}

bool ReadValue(const YAML::Node& node, const std::string& path, Diagnostics& diag, bool& out,
               Unconstrained) {
  std::size_t index = 0;
  if (!ReadChoice(node, path, diag, {"false", "true"}, index)) {
    return false;
  }
  out = index == 1;
  return true;
}

bool ReadValue(const YAML::Node& node, const std::string& path, Diagnostics& diag, std::string& out,
               Text text) {
  std::optional<std::string> value = Scalar(node, path, diag, "a string");
  if (!value) {
    return false;
  }
  if (std::optional<std::string> why = CheckText(*value, text)) {
    diag.Report(node.Mark(), path, *why);
    return false;
  }
  out = *value;
  return true;
}

bool ReadValue(const YAML::Node& node, const std::string& path, Diagnostics& diag, TimeOfDay& out,
               Unconstrained) {
  std::optional<std::string> text = Scalar(node, path, diag, "a time of day \"HH:MM\"");
  if (!text) {
    return false;
  }
  std::optional<TimeOfDay> time = ParseTimeOfDay(*text);
  if (!time) {
    diag.Report(node.Mark(), path, fmt::format("must be a time of day \"HH:MM\", got '{}'", *text));
    return false;
  }
  out = *time;
  return true;
}

bool ReadValue(const YAML::Node& node, const std::string& path, Diagnostics& diag,
               std::vector<int>& out, Range<int> range) {
  if (!node.IsSequence()) {
    diag.Report(node.Mark(), path,
                fmt::format("must be a list of integers, got {}", KindName(node)));
    return false;
  }
  std::vector<int> values(node.size());
  bool ok = true;
  for (std::size_t i = 0; i < node.size(); ++i) {
    ok = ReadValue(node[i], fmt::format("{}[{}]", path, i), diag, values[i], range) && ok;
  }
  if (ok) {
    out = std::move(values);
  }
  return ok;
}

bool ReadValue(const YAML::Node& node, const std::string& path, Diagnostics& diag,
               std::vector<std::string>& out, Text text) {
  if (!node.IsSequence() || node.size() == 0) {
    diag.Report(node.Mark(), path,
                fmt::format("must be a non-empty list, got {}",
                            node.IsSequence() ? "an empty list" : KindName(node)));
    return false;
  }
  std::vector<std::string> values(node.size());
  std::set<std::string> seen;
  bool ok = true;
  for (std::size_t i = 0; i < node.size(); ++i) {
    std::string item_path = fmt::format("{}[{}]", path, i);
    if (!ReadValue(node[i], item_path, diag, values[i], text)) {
      ok = false;
    } else if (!seen.insert(values[i]).second) {
      diag.Report(node[i].Mark(), item_path, fmt::format("'{}' is listed twice", values[i]));
      ok = false;
    }
  }
  if (ok) {
    out = std::move(values);
  }
  return ok;
}

bool ReadValue(const YAML::Node& node, const std::string& path, Diagnostics& diag,
               std::vector<std::string>& out, PossiblyEmpty rule) {
  if (node.IsSequence() && node.size() == 0) {
    out.clear();
    return true;
  }
  return ReadValue(node, path, diag, out, rule.text);
}

bool ReadChoice(const YAML::Node& node, const std::string& path, Diagnostics& diag,
                const std::vector<std::string_view>& names, std::size_t& index) {
  std::string expected = fmt::format("one of {}", fmt::join(names, ", "));
  std::optional<std::string> text = Scalar(node, path, diag, expected);
  if (!text) {
    return false;
  }
  auto found = std::ranges::find(names, *text);
  if (found == names.end()) {
    diag.Report(node.Mark(), path, fmt::format("must be {}, got '{}'", expected, *text));
    return false;
  }
  index = static_cast<std::size_t>(found - names.begin());
  return true;
}

}  // namespace agentmesh::config::internal

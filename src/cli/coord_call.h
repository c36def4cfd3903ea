// What every coordination command of the CLI (`sessions`, `elections`, `locks`,
// `barriers`, `proposals`, `coordinators`) shares: the --node/--json/--timeout flags,
// usage checks that exit 2, one API call that exits 1 on an API error, and readable
// output. Part of the cli module; used from the main thread only.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/json/object.hpp>

#include "agentmesh/core/clock.h"

namespace agentmesh::cli {

inline constexpr int kExitApiError = 1;  // transport failure or an error answer
inline constexpr int kExitUsage = 2;     // bad or missing arguments

// Flags every coordination command takes.
struct NodeFlags {
  std::string node = "http://127.0.0.1:7700";  // base URL of the node
  bool json = false;                           // print the raw JSON answer
  std::string timeout = "10s";                 // request deadline on top of any --wait
};

// Adds --node, --json and --timeout to `cmd` and lets it collect unknown arguments,
// which CheckUsage turns into a usage error (exit 2) instead of CLI11's own codes.
void AddNodeFlags(CLI::App& cmd, NodeFlags& flags);

// Adds a command group such as `locks`; running it without one of its subcommands is a
// usage error.
CLI::App* AddCommandGroup(CLI::App& app, const std::string& name, const std::string& about);

// Prints "agentmesh <command>: <message>" and a pointer to --help to stderr, then
// throws CLI::RuntimeError(kExitUsage).
[[noreturn]] void ThrowUsage(const CLI::App& cmd, const std::string& message);

// Rejects leftover arguments of `cmd` as a usage error.
void CheckUsage(const CLI::App& cmd);

// Rejects an empty `value` of the required `what` (a flag or an argument name).
void Require(const CLI::App& cmd, const std::string& value, std::string_view what);

// Parses the duration `text` of `flag`; a usage error when it is not a duration, or is
// zero and `allow_zero` is false.
core::Duration DurationFlag(const CLI::App& cmd, std::string_view flag, const std::string& text,
                            bool allow_zero);

// Returns `raw` as one URL path segment: every byte outside [A-Za-z0-9._~-] as %XX,
// so that a '/' inside a coordination name travels as %2F.
std::string PathSegment(std::string_view raw);

// One request of the coordination API.
struct ApiCall {
  std::string method = "GET";
  std::string target;        // path, e.g. "/v1/locks/x/acquire"
  bool has_body = false;     // send `body` as JSON
  boost::json::object body;  // the request body
  core::Duration wait{};     // server-side wait, added to the deadline
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

// Sends `call` to the node of `flags`. On success prints the raw answer (--json) or
// hands the parsed object to `print`; on a transport failure or an error answer prints
// "agentmesh <command>: <code>: <message>" to stderr and throws
// CLI::RuntimeError(kExitApiError).
void RunCall(const CLI::App& cmd, const NodeFlags& flags, const ApiCall& call,
             const std::function<void(const boost::json::object&)>& print);

// Returns obj[key] as text: strings as they are, other values as JSON, "-" when
// missing or null.
std::string Text(const boost::json::object& obj, std::string_view key);

// Returns the milliseconds in obj[key] as seconds, e.g. "29.8s", or "-".
std::string Seconds(const boost::json::object& obj, std::string_view key);

// Returns the strings of the array obj[key] joined by ", ", or "-" when empty.
std::string Joined(const boost::json::object& obj, std::string_view key);

// Returns obj[key] when it is an object, else an empty object.
const boost::json::object& Child(const boost::json::object& obj, std::string_view key);

// Prints one "label  value" line per field, labels aligned.
void PrintFields(const std::vector<std::pair<std::string, std::string>>& fields);

// Prints rows (the first one the header) as columns separated by two spaces.
void PrintTable(const std::vector<std::vector<std::string>>& rows);

}  // namespace agentmesh::cli

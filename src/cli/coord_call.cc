// Flags, usage checks, the API call and the readable output of the coordination
// commands (see coord_call.h).
#include "cli/coord_call.h"

#include <algorithm>
#include <cctype>
#include <iostream>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "agentmesh/client/api_status.h"
#include "agentmesh/client/http_client.h"
#include "agentmesh/core/duration.h"

namespace agentmesh::cli {
namespace {

namespace json = boost::json;

// "agentmesh locks acquire": the command path a user typed, for messages.
std::string CommandPath(const CLI::App& cmd) {
  std::string path;
  for (const CLI::App* app = &cmd; app != nullptr && app->get_parent() != nullptr;
       app = app->get_parent()) {
    path = path.empty() ? app->get_name() : app->get_name() + " " + path;
  }
  return "agentmesh " + path;
}

[[noreturn]] void ThrowApiError(const CLI::App& cmd, const std::string& code,
                                const std::string& message) {
  std::cerr << CommandPath(cmd) << ": " << code << ": " << message << std::endl;
  throw CLI::RuntimeError(kExitApiError);
}

}  // namespace

void AddNodeFlags(CLI::App& cmd, NodeFlags& flags) {
  cmd.add_option("--node", flags.node, "Base URL of the node")->capture_default_str();
  cmd.add_flag("--json", flags.json, "Print the raw JSON answer");
  cmd.add_option("--timeout", flags.timeout, "Request deadline, on top of any --wait")
      ->capture_default_str();
  cmd.allow_extras();
}

CLI::App* AddCommandGroup(CLI::App& app, const std::string& name, const std::string& about) {
  CLI::App* group = app.add_subcommand(name, about);
  group->allow_extras();
  group->callback([group] {
    if (group->get_subcommands().empty()) {
      ThrowUsage(*group, "name one of its commands");
    }
    CheckUsage(*group);
  });
  return group;
}

void ThrowUsage(const CLI::App& cmd, const std::string& message) {
  std::cerr << CommandPath(cmd) << ": " << message << "\nRun '" << CommandPath(cmd)
            << " --help' for its arguments." << std::endl;
  throw CLI::RuntimeError(kExitUsage);
}

void CheckUsage(const CLI::App& cmd) {
  const std::vector<std::string> extra = cmd.remaining();
  if (!extra.empty()) {
    ThrowUsage(cmd, "unexpected argument '" + extra.front() + "'");
  }
}

void Require(const CLI::App& cmd, const std::string& value, std::string_view what) {
  if (value.empty()) {
    ThrowUsage(cmd, std::string(what) + " is required");
  }
}

core::Duration DurationFlag(const CLI::App& cmd, std::string_view flag, const std::string& text,
                            bool allow_zero) {
  auto d = core::ParseDuration(text);
  if (!d || (!allow_zero && *d == core::Duration::zero())) {
    ThrowUsage(cmd, fmt::format("{} takes a {}duration like 30s or 250ms, not '{}'", flag,
                                allow_zero ? "" : "positive ", text));
  }
  return *d;
}

std::string PathSegment(std::string_view raw) {
  std::string out;
  for (const char c : raw) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '.' || c == '_' || c == '~' || c == '-') {
      out += c;
    } else {
      out += fmt::format("%{:02X}", u);
    }
  }
  return out;
}

void RunCall(const CLI::App& cmd, const NodeFlags& flags, const ApiCall& call,
             const std::function<void(const json::object&)>& print) {
  const core::Duration timeout = DurationFlag(cmd, "--timeout", flags.timeout, false);
  client::HttpRequest req(call.method, call.target,
                          call.has_body ? json::serialize(call.body) : std::string());
  req.headers = call.headers;
  auto response = client::FetchBlocking(flags.node, req, timeout + call.wait);
  if (!response) {
    ThrowApiError(cmd, response.error().reason(),
                  "cannot reach the node at " + flags.node + ": " + response.error().message());
  }
  if (core::Status status = client::StatusFromResponse(*response); !status.ok()) {
    ThrowApiError(cmd, status.reason(), status.message());
  }
  if (flags.json) {
    std::cout << response->body << std::endl;
    return;
  }
  boost::system::error_code ec;
  json::value body = json::parse(response->body, ec);
  if (ec || !body.is_object()) {
    ThrowApiError(cmd, "bad_response", "the node at " + flags.node + " did not answer with JSON");
  }
  print(body.as_object());
}

std::string Text(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  if (v == nullptr || v->is_null()) {
    return "-";
  }
  return v->is_string() ? std::string(v->as_string()) : json::serialize(*v);
}

std::string Seconds(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  if (v == nullptr || !v->is_number()) {
    return "-";
  }
  return fmt::format("{:.1f}s", v->to_number<double>() / 1000.0);
}

std::string Joined(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  if (v == nullptr || !v->is_array()) {
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : "-";
  }
  std::string out;
  for (const json::value& item : v->as_array()) {
    out += (out.empty() ? "" : ", ") +
           (item.is_string() ? std::string(item.as_string()) : json::serialize(item));
  }
  return out.empty() ? "-" : out;
}

const json::object& Child(const json::object& obj, std::string_view key) {
  static const json::object kEmpty;
  const json::value* v = obj.if_contains(key);
  return v != nullptr && v->is_object() ? v->as_object() : kEmpty;
}

void PrintFields(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::size_t width = 0;
  for (const auto& [label, value] : fields) {
    width = std::max(width, label.size());
  }
  for (const auto& [label, value] : fields) {
    std::cout << fmt::format("{:<{}}  {}", label, width, value) << "\n";
  }
  std::cout.flush();
}

void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  if (rows.empty()) {
    return;
  }
  std::vector<std::size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      line += i + 1 < row.size() ? fmt::format("{:<{}}  ", row[i], widths[i]) : row[i];
    }
    std::cout << line << "\n";
  }
  std::cout.flush();
}

}  // namespace agentmesh::cli

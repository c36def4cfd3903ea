// Following an election's Server-Sent Events (GET /v1/elections/{name}/watch) from the
// command line. Part of the cli module; blocking, runs its own io_context, so any
// thread may call it.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "agentmesh/core/clock.h"
#include "agentmesh/core/status.h"

namespace agentmesh::cli {

// Hands the data of every "leader" event (a JSON object as text) to `on_event` until
// it returns false, then returns ok. `path_name` is the election name as a URL path
// segment; `connect_timeout` bounds connecting and the response head; an idle stream
// is fine (the node sends keepalives).
// Errors: those of client::FetchBlocking (kUnavailable connect_failed/bad_response,
// kDeadlineExceeded timeout, kInvalidArgument invalid_url); an error answer or an
// "error" event as client::StatusFromResponse maps it; kUnavailable "stream_closed"
// when the node ends the stream.
core::Status WatchElection(std::string_view base_url, std::string_view path_name,
                           core::Duration connect_timeout,
                           const std::function<bool(const std::string& data)>& on_event);

}  // namespace agentmesh::cli

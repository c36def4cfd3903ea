#include "agentmesh/client/http_client.h"
#include "agentmesh/etcd/etcd_client.h"

#include "etcd/etcd_client_internal.h"

namespace agentmesh::etcd {

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  // Every byte was 0xff (or the prefix was empty): etcd reads "\0" as "no upper bound".
  return std::string(1, '\0');
}

RangeRequest RangeRequest::Prefix(std::string prefix) {
  RangeRequest r;
  r.range_end = PrefixEnd(prefix);
  r.key = std::move(prefix);
  return r;
}

Op Op::Get(std::string key, std::string range_end) {
  Op op;
  op.kind = Kind::kRange;
  op.key = std::move(key);
  op.range_end = std::move(range_end);
  return op;
}

Op Op::Put(std::string key, std::string value, std::int64_t lease) {
  Op op;
  op.kind = Kind::kPut;
  op.key = std::move(key);
  op.value = std::move(value);
  op.lease = lease;
  return op;
}

Op Op::Delete(std::string key, std::string range_end) {
  Op op;
  op.kind = Kind::kDelete;
  op.key = std::move(key);
  op.range_end = std::move(range_end);
  return op;
}

core::Status Validate(const EtcdClientOptions& options) {
  if (options.endpoints.empty()) {
    return core::InvalidArgument("invalid_etcd_endpoint",
                                 "at least one etcd endpoint (http://host:port) is required");
  }
  for (const std::string& url : options.endpoints) {
    auto base = client::ParseBaseUrl(url);
    if (!base || !base->path_prefix.empty()) {
      return core::InvalidArgument(
          "invalid_etcd_endpoint",
          "etcd endpoint '" + url + "' is not of the form http://host:port");
    }
  }
  if (options.request_timeout <= core::Duration::zero()) {
    return core::InvalidArgument("invalid_etcd_timeout", "etcd request_timeout must be positive");
  }
  return core::OkStatus();
}

namespace internal {

Endpoints::Endpoints(const EtcdClientOptions& options) : invalid(Validate(options)) {
  if (!invalid.ok()) {
    return;
  }
  for (const std::string& url : options.endpoints) {
    auto base = client::ParseBaseUrl(url);
    list.push_back(Endpoint{url, base->host, base->port});
  }
}

}  // namespace internal
}  // namespace agentmesh::etcd

// The wire format of etcd's v3 JSON gateway, shared by EtcdClient and EtcdWatch:
// base64 for bytes, int64 as JSON strings, enums by name, default values omitted in
// answers; and the mapping from etcd's error answers to core::Status.
// Internal to the etcd module. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "agentmesh/core/status.h"
#include "agentmesh/etcd/base64.h"
#include "agentmesh/etcd/etcd_client.h"

namespace agentmesh::etcd::internal {

using etcd::Base64Decode;
using etcd::Base64Encode;

// Returns obj[key] as an int64 whether etcd wrote it as a string or a number; 0 when
// absent or not a number.
std::int64_t Int64Field(const boost::json::object& obj, std::string_view key);
// Returns obj[key] when it is a bool, else false (etcd omits false).
bool BoolField(const boost::json::object& obj, std::string_view key);
// Returns obj[key] when it is a string, else "".
std::string StringField(const boost::json::object& obj, std::string_view key);
// Returns obj[key] when it is an object, else an empty object.
const boost::json::object& ObjectField(const boost::json::object& obj, std::string_view key);
// Returns header.revision of an answer.
std::int64_t HeaderRevision(const boost::json::object& answer);

// Decodes one mvccpb.KeyValue and the "kvs" array of a range answer.
core::Result<KeyValue> DecodeKeyValue(const boost::json::object& kv);
core::Result<std::vector<KeyValue>> DecodeKvs(const boost::json::object& parent);

boost::json::object EncodeRange(const RangeRequest& request);
boost::json::object EncodeTxn(const TxnRequest& request);

// Turns a gateway answer (HTTP status + body) into the message object: the body of a
// 200 answer, unwrapped from {"result": ...} for streaming endpoints, or the Status
// of an error answer.
core::Result<boost::json::object> ParseAnswer(int http_status, std::string_view body);

// Maps an etcd (gRPC) error code and message to agentmesh's codes and reasons.
core::Status StatusFromEtcdError(std::int64_t grpc_code, std::string message);

}  // namespace agentmesh::etcd::internal

// Decoding of Kubernetes protobuf request bodies (Content-Type
// application/vnd.kubernetes.protobuf).
//
// kubectl's typed clients POST protobuf (e.g. `kubectl create namespace`, `create configmap`,
// `create secret`) and do not fall back to JSON, so the REST handler turns such a body into the
// JSON object the same request would have carried and continues as for JSON.
//
// The wire format: the 4 bytes "k8s\0", then a runtime.Unknown message
//   {1: typeMeta {1: apiVersion, 2: kind}, 2: raw (the object), 3: contentEncoding, 4: contentType}
// where raw is the Go type's generated message (k8s.io/api core/v1 generated.proto,
// k8s.io/apimachinery meta/v1 generated.proto). A small hand-written table per kind maps field
// numbers to JSON names and types; fields not in the table are skipped as protobuf requires.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "common/status.h"

namespace vdisk::api {

// The kinds DecodeKubernetesProtobuf understands: core/v1 Namespace, ConfigMap, Secret,
// PersistentVolumeClaim, PersistentVolume, and DeleteOptions (v1 or meta.k8s.io/v1).
//
// The result carries apiVersion and kind and follows Go's encoding/json for the typed object:
// zero values of `omitempty` fields are left out, bytes are base64, metav1.Time is RFC 3339 in
// UTC with whole seconds (an empty Time is null, as kubectl 1.32 writes creationTimestamp).
// managedFields is dropped (the server owns it).
//
// The body is untrusted: it is bounded in size and nesting, never read out of bounds, and
// malformed input yields kInvalidArgument. A kind outside the list above, or a compressed or
// otherwise encoded object, yields kUnsupportedMedia naming it, so the client can send JSON.
Result<nlohmann::json> DecodeKubernetesProtobuf(std::string_view body);

}  // namespace vdisk::api

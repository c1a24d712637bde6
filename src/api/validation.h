// Per-kind defaulting and semantic validation: the rules kube-apiserver, the CDI webhooks, the
// snapshot webhook and the KubeVirt admitters apply beyond the OpenAPI schema.
//
// The schema layer (api/schema.h) checks types, enums it knows and unknown fields; this layer
// checks what a schema cannot say: names, quantities, "exactly one of", required-when, and which
// fields may change on update. Errors carry the upstream field path and message wording, e.g.
//   spec.source.http.url: Invalid value: "example.com": must be an http or https URL ...
//   spec.resources.requests.storage: Forbidden: field can not be less than previous value
//
// Objects are untrusted JSON of any shape (`spec: 5`, `metadata: []`): nothing here throws or
// asserts; a value of the wrong type is treated as absent (the schema layer reports its type).
// All functions are pure and thread-safe, except that Event defaults read the clock.
//
// Expected call order in the server, as upstream does it:
//   create:  ApplyDefaults(kind, obj); ValidateCreate(kind, obj)
//   update:  ApplyDefaults(kind, obj); ValidateUpdate(kind, obj, old)   (old is the stored object)
// The server generates metadata.name from generateName, sets metadata.namespace from the URL and
// keeps the stored status on main-resource updates before calling these.
#pragma once

#include "api/field_error.h"
#include "api/kinds.h"

namespace vdisk::api {

// Server-side defaults applied on create and update: PVC/PV volumeMode Filesystem, PV reclaim
// policy Retain, StorageClass reclaimPolicy Delete and volumeBindingMode Immediate, Secret type
// Opaque (with stringData folded into data), Namespace phase and name label, Event count, type
// and timestamps, PVC/PV status phase Pending, a DataVolume clone source's namespace.
// Never overwrites a value the object already has. Objects that are not JSON objects are left
// alone.
void ApplyDefaults(const Kind& kind, Json& object);

// Rules for a new object: metadata (name, labels, annotations, ownerReferences, finalizers) and the
// kind's own rules. Empty when the object is valid.
FieldErrors ValidateCreate(const Kind& kind, const Json& object);

// Rules for replacing `old_object` with `object`: everything ValidateCreate checks, plus fields
// that may not change (metadata.name/namespace/uid/creationTimestamp, StorageClass parameters,
// PVC spec except a larger storage request, PV volume source, DataVolume spec, immutable
// Secrets and ConfigMaps, ...).
FieldErrors ValidateUpdate(const Kind& kind, const Json& object, const Json& old_object);

}  // namespace vdisk::api

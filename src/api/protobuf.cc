#include "api/protobuf.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <utility>

#include "common/base64.h"
#include "common/utf8.h"

namespace vdisk::api {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kMagic("k8s\0", 4);
constexpr std::string_view kProtobufMediaType = "application/vnd.kubernetes.protobuf";
constexpr size_t kMaxBodyBytes = 3 * 1024 * 1024;  // kube-apiserver's limit for a request body
// Supported kinds nest about 8 messages deep; the bound matters for skipped unknown groups.
constexpr int kMaxDepth = 32;
constexpr uint64_t kMaxFieldNumber = (uint64_t{1} << 29) - 1;

Status Malformed(const std::string& what) {
  return InvalidArgument("invalid protobuf body: " + what);
}

Status Unsupported(const std::string& what) {
  return Status(StatusCode::kUnsupportedMedia,
                "the body of the request was in an unknown format - " + what +
                    "; accepted media types include: application/json");
}

// ---------------------------------------------------------------------------------------------
// Text conversions that keep the output valid JSON. Strings go through ValidUtf8 (common/),
// so hostile bytes become U+FFFD as in Go's encoder and json::dump never throws.

// Years 0000..9999: the range Go's time.Time.MarshalJSON accepts.
constexpr int64_t kMinUnixSeconds = -62167219200;  // 0000-01-01T00:00:00Z
constexpr int64_t kMaxUnixSeconds = 253402300799;  // 9999-12-31T23:59:59Z

// RFC 3339 in UTC with whole seconds, as metav1.Time marshals to JSON. Howard Hinnant's
// civil_from_days turns the day count into a proleptic Gregorian date.
std::string FormatRfc3339(int64_t unix_seconds) {
  int64_t days = unix_seconds / 86400;
  int64_t second_of_day = unix_seconds % 86400;
  if (second_of_day < 0) {
    second_of_day += 86400;
    --days;
  }
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t day_of_era = z - era * 146097;
  int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  int64_t shifted_month = (5 * day_of_year + 2) / 153;  // March = 0
  int64_t day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
  int64_t month = shifted_month < 10 ? shifted_month + 3 : shifted_month - 9;
  int64_t year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
  char text[128];  // roomy enough for any int64 fields, which silences -Wformat-truncation
  std::snprintf(text, sizeof(text), "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ",
                static_cast<long long>(year), static_cast<long long>(month),
                static_cast<long long>(day), static_cast<long long>(second_of_day / 3600),
                static_cast<long long>(second_of_day / 60 % 60),
                static_cast<long long>(second_of_day % 60));
  return text;
}

// ---------------------------------------------------------------------------------------------
// The protobuf wire format.

enum WireType : uint32_t {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5,
};

struct Tag {
  uint32_t number = 0;
  uint32_t wire_type = 0;
};

// Reads one message's fields; every read is checked against the end of the message.
class WireReader {
 public:
  explicit WireReader(std::string_view data) : data_(data) {}

  bool AtEnd() const { return pos_ == data_.size(); }

  Status ReadVarint(uint64_t& value) {
    value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (AtEnd()) return Malformed("truncated varint");
      auto byte = static_cast<uint8_t>(data_[pos_++]);
      value |= uint64_t{byte & 0x7Fu} << shift;
      if ((byte & 0x80) == 0) return Status::Ok();
    }
    return Malformed("varint longer than 10 bytes");
  }

  Status ReadTag(Tag& tag) {
    uint64_t key = 0;
    VDISK_RETURN_IF_ERROR(ReadVarint(key));
    uint64_t number = key >> 3;
    if (number == 0 || number > kMaxFieldNumber) {
      return Malformed("invalid field number " + std::to_string(number));
    }
    tag.number = static_cast<uint32_t>(number);
    tag.wire_type = static_cast<uint32_t>(key & 7);
    return Status::Ok();
  }

  Status ReadLengthDelimited(std::string_view& bytes) {
    uint64_t length = 0;
    VDISK_RETURN_IF_ERROR(ReadVarint(length));
    if (length > data_.size() - pos_) return Malformed("field length runs past its message");
    bytes = data_.substr(pos_, length);
    pos_ += length;
    return Status::Ok();
  }

  // Skips a field this decoder has no use for, whatever its wire type.
  Status SkipField(const Tag& tag, int depth) {
    uint64_t ignored = 0;
    std::string_view ignored_bytes;
    switch (tag.wire_type) {
      case kVarint:
        return ReadVarint(ignored);
      case kFixed64:
        return Advance(8);
      case kLengthDelimited:
        return ReadLengthDelimited(ignored_bytes);
      case kFixed32:
        return Advance(4);
      case kStartGroup:
        return SkipGroup(tag.number, depth + 1);
      case kEndGroup:
        return Malformed("end of a group that was not started");
      default:
        return Malformed("invalid wire type " + std::to_string(tag.wire_type));
    }
  }

 private:
  Status Advance(size_t n) {
    if (n > data_.size() - pos_) return Malformed("truncated fixed-width field");
    pos_ += n;
    return Status::Ok();
  }

  Status SkipGroup(uint32_t number, int depth) {
    if (depth > kMaxDepth) return Malformed("groups nested too deeply");
    for (;;) {
      if (AtEnd()) return Malformed("unterminated group");
      Tag tag;
      VDISK_RETURN_IF_ERROR(ReadTag(tag));
      if (tag.wire_type == kEndGroup) {
        return tag.number == number ? Status::Ok() : Malformed("mismatched end of group");
      }
      VDISK_RETURN_IF_ERROR(SkipField(tag, depth));
    }
  }

  std::string_view data_;
  size_t pos_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Message descriptors: what each field number means and how it appears in JSON.

enum class FieldType : uint8_t {
  kString,
  kBytes,  // base64 in JSON
  kInt64,
  kBool,
  kTime,           // metav1.Time {1: seconds, 2: nanos}
  kMessage,        // a nested JSON object
  kInlineMessage,  // a Go embedded struct: its fields belong to the enclosing JSON object
  kRepeatedString,
  kRepeatedMessage,
  kStringMap,  // map entries {1: key, 2: value}
  kBytesMap,
  kQuantityMap,  // values are resource.Quantity {1: string}
  kUnsupported,  // known but not translated: refused rather than silently dropped
};

struct MessageType;

struct FieldSpec {
  uint32_t number;
  const char* json_name;
  FieldType type;
  const MessageType* message = nullptr;
  // A Go pointer or a field without omitempty: JSON shows it even when zero ("", 0, false).
  bool keep_zero = false;
};

struct MessageType {
  const char* name;
  std::span<const FieldSpec> fields;
};

constexpr FieldSpec String(uint32_t n, const char* name) { return {n, name, FieldType::kString}; }
constexpr FieldSpec Bool(uint32_t n, const char* name) { return {n, name, FieldType::kBool}; }
constexpr FieldSpec Int64(uint32_t n, const char* name) { return {n, name, FieldType::kInt64}; }
constexpr FieldSpec Time(uint32_t n, const char* name) { return {n, name, FieldType::kTime}; }
constexpr FieldSpec Strings(uint32_t n, const char* name) {
  return {n, name, FieldType::kRepeatedString};
}
constexpr FieldSpec StringMap(uint32_t n, const char* name) {
  return {n, name, FieldType::kStringMap};
}
constexpr FieldSpec BytesMap(uint32_t n, const char* name) {
  return {n, name, FieldType::kBytesMap};
}
constexpr FieldSpec QuantityMap(uint32_t n, const char* name) {
  return {n, name, FieldType::kQuantityMap};
}
constexpr FieldSpec Message(uint32_t n, const char* name, const MessageType& type) {
  return {n, name, FieldType::kMessage, &type};
}
constexpr FieldSpec Messages(uint32_t n, const char* name, const MessageType& type) {
  return {n, name, FieldType::kRepeatedMessage, &type};
}
constexpr FieldSpec Inline(uint32_t n, const MessageType& type) {
  return {n, type.name, FieldType::kInlineMessage, &type};
}
constexpr FieldSpec Unsupported(uint32_t n, const char* name) {
  return {n, name, FieldType::kUnsupported};
}
constexpr FieldSpec KeepZero(FieldSpec field) {
  field.keep_zero = true;
  return field;
}

// k8s.io/apimachinery pkg/apis/meta/v1/generated.proto

constexpr FieldSpec kOwnerReferenceFields[] = {
    KeepZero(String(5, "apiVersion")), KeepZero(String(1, "kind")),
    KeepZero(String(3, "name")),       KeepZero(String(4, "uid")),
    KeepZero(Bool(6, "controller")),   KeepZero(Bool(7, "blockOwnerDeletion")),
};
constexpr MessageType kOwnerReference{"OwnerReference", kOwnerReferenceFields};

// managedFields (17) is left out on purpose: skipped like an unknown field.
constexpr FieldSpec kObjectMetaFields[] = {
    String(1, "name"),
    String(2, "generateName"),
    String(3, "namespace"),
    String(4, "selfLink"),
    String(5, "uid"),
    String(6, "resourceVersion"),
    Int64(7, "generation"),
    Time(8, "creationTimestamp"),
    Time(9, "deletionTimestamp"),
    KeepZero(Int64(10, "deletionGracePeriodSeconds")),
    StringMap(11, "labels"),
    StringMap(12, "annotations"),
    Messages(13, "ownerReferences", kOwnerReference),
    Strings(14, "finalizers"),
};
constexpr MessageType kObjectMeta{"ObjectMeta", kObjectMetaFields};

constexpr FieldSpec kLabelSelectorRequirementFields[] = {
    KeepZero(String(1, "key")),
    KeepZero(String(2, "operator")),
    Strings(3, "values"),
};
constexpr MessageType kLabelSelectorRequirement{"LabelSelectorRequirement",
                                                kLabelSelectorRequirementFields};

constexpr FieldSpec kLabelSelectorFields[] = {
    StringMap(1, "matchLabels"),
    Messages(2, "matchExpressions", kLabelSelectorRequirement),
};
constexpr MessageType kLabelSelector{"LabelSelector", kLabelSelectorFields};

constexpr FieldSpec kPreconditionsFields[] = {
    KeepZero(String(1, "uid")),
    KeepZero(String(2, "resourceVersion")),
};
constexpr MessageType kPreconditions{"Preconditions", kPreconditionsFields};

constexpr FieldSpec kDeleteOptionsFields[] = {
    KeepZero(Int64(1, "gracePeriodSeconds")),
    Message(2, "preconditions", kPreconditions),
    KeepZero(Bool(3, "orphanDependents")),
    KeepZero(String(4, "propagationPolicy")),
    Strings(5, "dryRun"),
    KeepZero(Bool(6, "ignoreStoreReadErrorWithClusterBreakingPotential")),
};
constexpr MessageType kDeleteOptions{"DeleteOptions", kDeleteOptionsFields};

// k8s.io/api core/v1/generated.proto: Namespace, ConfigMap, Secret

constexpr FieldSpec kNamespaceConditionFields[] = {
    KeepZero(String(1, "type")), KeepZero(String(2, "status")), Time(4, "lastTransitionTime"),
    String(5, "reason"),         String(6, "message"),
};
constexpr MessageType kNamespaceCondition{"NamespaceCondition", kNamespaceConditionFields};

constexpr FieldSpec kNamespaceSpecFields[] = {Strings(1, "finalizers")};
constexpr MessageType kNamespaceSpec{"NamespaceSpec", kNamespaceSpecFields};

constexpr FieldSpec kNamespaceStatusFields[] = {
    String(1, "phase"),
    Messages(2, "conditions", kNamespaceCondition),
};
constexpr MessageType kNamespaceStatus{"NamespaceStatus", kNamespaceStatusFields};

constexpr FieldSpec kNamespaceFields[] = {
    Message(1, "metadata", kObjectMeta),
    Message(2, "spec", kNamespaceSpec),
    Message(3, "status", kNamespaceStatus),
};
constexpr MessageType kNamespace{"Namespace", kNamespaceFields};

constexpr FieldSpec kConfigMapFields[] = {
    Message(1, "metadata", kObjectMeta),
    KeepZero(Bool(4, "immutable")),
    StringMap(2, "data"),
    BytesMap(3, "binaryData"),
};
constexpr MessageType kConfigMap{"ConfigMap", kConfigMapFields};

constexpr FieldSpec kSecretFields[] = {
    Message(1, "metadata", kObjectMeta),
    KeepZero(Bool(5, "immutable")),
    BytesMap(2, "data"),
    StringMap(4, "stringData"),
    String(3, "type"),
};
constexpr MessageType kSecret{"Secret", kSecretFields};

// core/v1: PersistentVolumeClaim

constexpr FieldSpec kTypedLocalObjectReferenceFields[] = {
    KeepZero(String(1, "apiGroup")),
    KeepZero(String(2, "kind")),
    KeepZero(String(3, "name")),
};
constexpr MessageType kTypedLocalObjectReference{"TypedLocalObjectReference",
                                                 kTypedLocalObjectReferenceFields};

constexpr FieldSpec kTypedObjectReferenceFields[] = {
    KeepZero(String(1, "apiGroup")),
    KeepZero(String(2, "kind")),
    KeepZero(String(3, "name")),
    KeepZero(String(4, "namespace")),
};
constexpr MessageType kTypedObjectReference{"TypedObjectReference", kTypedObjectReferenceFields};

constexpr FieldSpec kVolumeResourceRequirementsFields[] = {
    QuantityMap(1, "limits"),
    QuantityMap(2, "requests"),
};
constexpr MessageType kVolumeResourceRequirements{"VolumeResourceRequirements",
                                                  kVolumeResourceRequirementsFields};

constexpr FieldSpec kPersistentVolumeClaimSpecFields[] = {
    Strings(1, "accessModes"),
    Message(4, "selector", kLabelSelector),
    Message(2, "resources", kVolumeResourceRequirements),
    String(3, "volumeName"),
    KeepZero(String(5, "storageClassName")),
    KeepZero(String(6, "volumeMode")),
    Message(7, "dataSource", kTypedLocalObjectReference),
    Message(8, "dataSourceRef", kTypedObjectReference),
    KeepZero(String(9, "volumeAttributesClassName")),
};
constexpr MessageType kPersistentVolumeClaimSpec{"PersistentVolumeClaimSpec",
                                                 kPersistentVolumeClaimSpecFields};

constexpr FieldSpec kPersistentVolumeClaimConditionFields[] = {
    KeepZero(String(1, "type")),   KeepZero(String(2, "status")), Time(3, "lastProbeTime"),
    Time(4, "lastTransitionTime"), String(5, "reason"),           String(6, "message"),
};
constexpr MessageType kPersistentVolumeClaimCondition{"PersistentVolumeClaimCondition",
                                                      kPersistentVolumeClaimConditionFields};

constexpr FieldSpec kModifyVolumeStatusFields[] = {
    String(1, "targetVolumeAttributesClassName"),
    KeepZero(String(2, "status")),
};
constexpr MessageType kModifyVolumeStatus{"ModifyVolumeStatus", kModifyVolumeStatusFields};

constexpr FieldSpec kPersistentVolumeClaimStatusFields[] = {
    String(1, "phase"),
    Strings(2, "accessModes"),
    QuantityMap(3, "capacity"),
    Messages(4, "conditions", kPersistentVolumeClaimCondition),
    QuantityMap(5, "allocatedResources"),
    StringMap(7, "allocatedResourceStatuses"),
    KeepZero(String(8, "currentVolumeAttributesClassName")),
    Message(9, "modifyVolumeStatus", kModifyVolumeStatus),
};
constexpr MessageType kPersistentVolumeClaimStatus{"PersistentVolumeClaimStatus",
                                                   kPersistentVolumeClaimStatusFields};

constexpr FieldSpec kPersistentVolumeClaimFields[] = {
    Message(1, "metadata", kObjectMeta),
    Message(2, "spec", kPersistentVolumeClaimSpec),
    Message(3, "status", kPersistentVolumeClaimStatus),
};
constexpr MessageType kPersistentVolumeClaim{"PersistentVolumeClaim", kPersistentVolumeClaimFields};

// core/v1: PersistentVolume, with the volume sources a local cluster uses

constexpr FieldSpec kHostPathVolumeSourceFields[] = {
    KeepZero(String(1, "path")),
    KeepZero(String(2, "type")),
};
constexpr MessageType kHostPathVolumeSource{"HostPathVolumeSource", kHostPathVolumeSourceFields};

constexpr FieldSpec kLocalVolumeSourceFields[] = {
    KeepZero(String(1, "path")),
    KeepZero(String(2, "fsType")),
};
constexpr MessageType kLocalVolumeSource{"LocalVolumeSource", kLocalVolumeSourceFields};

constexpr FieldSpec kNfsVolumeSourceFields[] = {
    KeepZero(String(1, "server")),
    KeepZero(String(2, "path")),
    Bool(3, "readOnly"),
};
constexpr MessageType kNfsVolumeSource{"NFSVolumeSource", kNfsVolumeSourceFields};

constexpr FieldSpec kSecretReferenceFields[] = {String(1, "name"), String(2, "namespace")};
constexpr MessageType kSecretReference{"SecretReference", kSecretReferenceFields};

constexpr FieldSpec kCsiPersistentVolumeSourceFields[] = {
    KeepZero(String(1, "driver")),
    KeepZero(String(2, "volumeHandle")),
    Bool(3, "readOnly"),
    String(4, "fsType"),
    StringMap(5, "volumeAttributes"),
    Message(6, "controllerPublishSecretRef", kSecretReference),
    Message(7, "nodeStageSecretRef", kSecretReference),
    Message(8, "nodePublishSecretRef", kSecretReference),
    Message(9, "controllerExpandSecretRef", kSecretReference),
    Message(10, "nodeExpandSecretRef", kSecretReference),
};
constexpr MessageType kCsiPersistentVolumeSource{"CSIPersistentVolumeSource",
                                                 kCsiPersistentVolumeSourceFields};

constexpr FieldSpec kPersistentVolumeSourceFields[] = {
    Unsupported(1, "gcePersistentDisk"),
    Unsupported(2, "awsElasticBlockStore"),
    Message(3, "hostPath", kHostPathVolumeSource),
    Unsupported(4, "glusterfs"),
    Message(5, "nfs", kNfsVolumeSource),
    Unsupported(6, "rbd"),
    Unsupported(7, "iscsi"),
    Unsupported(8, "cinder"),
    Unsupported(9, "cephfs"),
    Unsupported(10, "fc"),
    Unsupported(11, "flocker"),
    Unsupported(12, "flexVolume"),
    Unsupported(13, "azureFile"),
    Unsupported(14, "vsphereVolume"),
    Unsupported(15, "quobyte"),
    Unsupported(16, "azureDisk"),
    Unsupported(17, "photonPersistentDisk"),
    Unsupported(18, "portworxVolume"),
    Unsupported(19, "scaleIO"),
    Message(20, "local", kLocalVolumeSource),
    Unsupported(21, "storageos"),
    Message(22, "csi", kCsiPersistentVolumeSource),
};
constexpr MessageType kPersistentVolumeSource{"PersistentVolumeSource",
                                              kPersistentVolumeSourceFields};

constexpr FieldSpec kObjectReferenceFields[] = {
    String(1, "kind"),       String(2, "namespace"),       String(3, "name"),      String(4, "uid"),
    String(5, "apiVersion"), String(6, "resourceVersion"), String(7, "fieldPath"),
};
constexpr MessageType kObjectReference{"ObjectReference", kObjectReferenceFields};

constexpr FieldSpec kNodeSelectorRequirementFields[] = {
    KeepZero(String(1, "key")),
    KeepZero(String(2, "operator")),
    Strings(3, "values"),
};
constexpr MessageType kNodeSelectorRequirement{"NodeSelectorRequirement",
                                               kNodeSelectorRequirementFields};

constexpr FieldSpec kNodeSelectorTermFields[] = {
    Messages(1, "matchExpressions", kNodeSelectorRequirement),
    Messages(2, "matchFields", kNodeSelectorRequirement),
};
constexpr MessageType kNodeSelectorTerm{"NodeSelectorTerm", kNodeSelectorTermFields};

constexpr FieldSpec kNodeSelectorFields[] = {
    Messages(1, "nodeSelectorTerms", kNodeSelectorTerm),
};
constexpr MessageType kNodeSelector{"NodeSelector", kNodeSelectorFields};

constexpr FieldSpec kVolumeNodeAffinityFields[] = {Message(1, "required", kNodeSelector)};
constexpr MessageType kVolumeNodeAffinity{"VolumeNodeAffinity", kVolumeNodeAffinityFields};

constexpr FieldSpec kPersistentVolumeSpecFields[] = {
    QuantityMap(1, "capacity"),
    Inline(2, kPersistentVolumeSource),
    Strings(3, "accessModes"),
    Message(4, "claimRef", kObjectReference),
    String(5, "persistentVolumeReclaimPolicy"),
    String(6, "storageClassName"),
    Strings(7, "mountOptions"),
    KeepZero(String(8, "volumeMode")),
    Message(9, "nodeAffinity", kVolumeNodeAffinity),
    KeepZero(String(10, "volumeAttributesClassName")),
};
constexpr MessageType kPersistentVolumeSpec{"PersistentVolumeSpec", kPersistentVolumeSpecFields};

constexpr FieldSpec kPersistentVolumeStatusFields[] = {
    String(1, "phase"),
    String(2, "message"),
    String(3, "reason"),
    Time(4, "lastPhaseTransitionTime"),
};
constexpr MessageType kPersistentVolumeStatus{"PersistentVolumeStatus",
                                              kPersistentVolumeStatusFields};

constexpr FieldSpec kPersistentVolumeFields[] = {
    Message(1, "metadata", kObjectMeta),
    Message(2, "spec", kPersistentVolumeSpec),
    Message(3, "status", kPersistentVolumeStatus),
};
constexpr MessageType kPersistentVolume{"PersistentVolume", kPersistentVolumeFields};

struct TopLevelKind {
  std::string_view api_version;
  std::string_view kind;
  const MessageType* message;
};

constexpr TopLevelKind kKinds[] = {
    {"v1", "Namespace", &kNamespace},
    {"v1", "ConfigMap", &kConfigMap},
    {"v1", "Secret", &kSecret},
    {"v1", "PersistentVolumeClaim", &kPersistentVolumeClaim},
    {"v1", "PersistentVolume", &kPersistentVolume},
    {"v1", "DeleteOptions", &kDeleteOptions},
    {"meta.k8s.io/v1", "DeleteOptions", &kDeleteOptions},
};

// ---------------------------------------------------------------------------------------------
// Decoding driven by the descriptors.

const FieldSpec* FindField(const MessageType& type, uint32_t number) {
  for (const FieldSpec& field : type.fields) {
    if (field.number == number) return &field;
  }
  return nullptr;
}

std::string FieldName(const MessageType& type, const FieldSpec& field) {
  return std::string(type.name) + "." + field.json_name;
}

uint32_t WireTypeOf(FieldType type) {
  return type == FieldType::kInt64 || type == FieldType::kBool ? kVarint : kLengthDelimited;
}

// Go's encoder writes every non-pointer field, zero or not; omitempty drops the zero ones.
void SetScalar(Json& out, const FieldSpec& field, Json value, bool is_zero) {
  if (is_zero && !field.keep_zero) {
    out.erase(field.json_name);
  } else {
    out[field.json_name] = std::move(value);
  }
}

void Append(Json& out, const char* name, Json value) {
  Json& list = out[name];
  if (!list.is_array()) list = Json::array();
  list.push_back(std::move(value));
}

Status DecodeMessage(std::string_view data, const MessageType& type, Json& out, int depth);

// An empty Time is the zero time, which JSON shows as null.
Result<Json> DecodeTime(std::string_view data, const std::string& name) {
  int64_t seconds = 0;
  WireReader reader(data);
  while (!reader.AtEnd()) {
    Tag tag;
    VDISK_RETURN_IF_ERROR(reader.ReadTag(tag));
    if (tag.number != 1) {  // nanos (2) too: metav1.Time keeps whole seconds only
      VDISK_RETURN_IF_ERROR(reader.SkipField(tag, 0));
      continue;
    }
    if (tag.wire_type != kVarint) return Malformed(name + ": seconds is not a varint");
    uint64_t raw = 0;
    VDISK_RETURN_IF_ERROR(reader.ReadVarint(raw));
    seconds = static_cast<int64_t>(raw);
  }
  if (data.empty()) return Json(nullptr);
  if (seconds < kMinUnixSeconds || seconds > kMaxUnixSeconds) {
    return Malformed(name + ": time " + std::to_string(seconds) + " is outside years 0-9999");
  }
  return Json(FormatRfc3339(seconds));
}

// A resource.Quantity message: {1: its canonical string}. An empty one is the zero quantity.
Result<std::string> DecodeQuantity(std::string_view data) {
  std::string quantity = "0";
  WireReader reader(data);
  while (!reader.AtEnd()) {
    Tag tag;
    VDISK_RETURN_IF_ERROR(reader.ReadTag(tag));
    if (tag.number != 1 || tag.wire_type != kLengthDelimited) {
      VDISK_RETURN_IF_ERROR(reader.SkipField(tag, 0));
      continue;
    }
    std::string_view text;
    VDISK_RETURN_IF_ERROR(reader.ReadLengthDelimited(text));
    quantity = ValidUtf8(text);
  }
  return quantity;
}

Result<Json> DecodeMapValue(std::string_view bytes, FieldType map_type) {
  switch (map_type) {
    case FieldType::kBytesMap:
      return Json(Base64Encode(bytes));
    case FieldType::kQuantityMap: {
      VDISK_ASSIGN_OR_RETURN(std::string quantity, DecodeQuantity(bytes));
      return Json(std::move(quantity));
    }
    default:
      return Json(ValidUtf8(bytes));
  }
}

// A map entry is a message {1: key, 2: value}; a missing part is the zero value.
Status DecodeMapEntry(std::string_view data, const MessageType& type, const FieldSpec& field,
                      Json& out) {
  std::string key;
  std::string_view value_bytes;
  WireReader reader(data);
  while (!reader.AtEnd()) {
    Tag tag;
    VDISK_RETURN_IF_ERROR(reader.ReadTag(tag));
    if (tag.number > 2) {
      VDISK_RETURN_IF_ERROR(reader.SkipField(tag, 0));
      continue;
    }
    if (tag.wire_type != kLengthDelimited) {
      return Malformed(FieldName(type, field) + ": map entry part is not length-delimited");
    }
    std::string_view bytes;
    VDISK_RETURN_IF_ERROR(reader.ReadLengthDelimited(bytes));
    if (tag.number == 1) {
      key = ValidUtf8(bytes);
    } else {
      value_bytes = bytes;
    }
  }
  VDISK_ASSIGN_OR_RETURN(Json value, DecodeMapValue(value_bytes, field.type));
  Json& map = out[field.json_name];
  if (!map.is_object()) map = Json::object();
  map[key] = std::move(value);
  return Status::Ok();
}

Status DecodeLengthDelimited(std::string_view bytes, const MessageType& type,
                             const FieldSpec& field, Json& out, int depth) {
  switch (field.type) {
    case FieldType::kString:
      SetScalar(out, field, ValidUtf8(bytes), bytes.empty());
      return Status::Ok();
    case FieldType::kBytes:
      SetScalar(out, field, Base64Encode(bytes), bytes.empty());
      return Status::Ok();
    case FieldType::kTime: {
      VDISK_ASSIGN_OR_RETURN(Json time, DecodeTime(bytes, FieldName(type, field)));
      out[field.json_name] = std::move(time);
      return Status::Ok();
    }
    case FieldType::kMessage:
      return DecodeMessage(bytes, *field.message, out[field.json_name], depth + 1);
    case FieldType::kInlineMessage:
      return DecodeMessage(bytes, *field.message, out, depth + 1);
    case FieldType::kRepeatedString:
      Append(out, field.json_name, ValidUtf8(bytes));
      return Status::Ok();
    case FieldType::kRepeatedMessage: {
      Json item = Json::object();
      VDISK_RETURN_IF_ERROR(DecodeMessage(bytes, *field.message, item, depth + 1));
      Append(out, field.json_name, std::move(item));
      return Status::Ok();
    }
    case FieldType::kStringMap:
    case FieldType::kBytesMap:
    case FieldType::kQuantityMap:
      return DecodeMapEntry(bytes, type, field, out);
    default:
      return Internal("protobuf: field type has no length-delimited form");
  }
}

Status DecodeField(WireReader& reader, const Tag& tag, const MessageType& type,
                   const FieldSpec& field, Json& out, int depth) {
  if (field.type == FieldType::kUnsupported) {
    return Unsupported(FieldName(type, field) + " is not supported in protobuf");
  }
  if (tag.wire_type != WireTypeOf(field.type)) {
    return Malformed(FieldName(type, field) + ": unexpected wire type " +
                     std::to_string(tag.wire_type));
  }
  if (field.type == FieldType::kInt64 || field.type == FieldType::kBool) {
    uint64_t raw = 0;
    VDISK_RETURN_IF_ERROR(reader.ReadVarint(raw));
    Json value = field.type == FieldType::kBool ? Json(raw != 0) : Json(static_cast<int64_t>(raw));
    SetScalar(out, field, std::move(value), raw == 0);
    return Status::Ok();
  }
  std::string_view bytes;
  VDISK_RETURN_IF_ERROR(reader.ReadLengthDelimited(bytes));
  return DecodeLengthDelimited(bytes, type, field, out, depth);
}

// Decodes into `out`, merging with what it holds: protobuf merges a repeated singular message.
Status DecodeMessage(std::string_view data, const MessageType& type, Json& out, int depth) {
  if (depth > kMaxDepth) return Malformed("messages nested too deeply");
  if (!out.is_object()) out = Json::object();
  WireReader reader(data);
  while (!reader.AtEnd()) {
    Tag tag;
    VDISK_RETURN_IF_ERROR(reader.ReadTag(tag));
    const FieldSpec* field = FindField(type, tag.number);
    if (field == nullptr) {
      VDISK_RETURN_IF_ERROR(reader.SkipField(tag, depth));
    } else {
      VDISK_RETURN_IF_ERROR(DecodeField(reader, tag, type, *field, out, depth));
    }
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// The runtime.Unknown envelope.

struct Envelope {
  std::string api_version;  // TypeMeta
  std::string kind;
  std::string_view raw;
  std::string content_encoding;
  std::string content_type;
};

// Calls `on_field(number, bytes)` for each length-delimited field; skips all others.
template <typename OnField>
Status ForEachLengthDelimited(std::string_view data, OnField on_field) {
  WireReader reader(data);
  while (!reader.AtEnd()) {
    Tag tag;
    VDISK_RETURN_IF_ERROR(reader.ReadTag(tag));
    if (tag.wire_type != kLengthDelimited) {
      VDISK_RETURN_IF_ERROR(reader.SkipField(tag, 0));
      continue;
    }
    std::string_view bytes;
    VDISK_RETURN_IF_ERROR(reader.ReadLengthDelimited(bytes));
    on_field(tag.number, bytes);
  }
  return Status::Ok();
}

Status ParseEnvelope(std::string_view unknown, Envelope& envelope) {
  std::string_view type_meta;
  VDISK_RETURN_IF_ERROR(ForEachLengthDelimited(unknown, [&](uint32_t n, std::string_view bytes) {
    if (n == 1) type_meta = bytes;
    if (n == 2) envelope.raw = bytes;
    if (n == 3) envelope.content_encoding = ValidUtf8(bytes);
    if (n == 4) envelope.content_type = ValidUtf8(bytes);
  }));
  return ForEachLengthDelimited(type_meta, [&](uint32_t n, std::string_view bytes) {
    if (n == 1) envelope.api_version = ValidUtf8(bytes);
    if (n == 2) envelope.kind = ValidUtf8(bytes);
  });
}

const MessageType* FindKind(std::string_view api_version, std::string_view kind) {
  for (const TopLevelKind& k : kKinds) {
    if (k.api_version == api_version && k.kind == kind) return k.message;
  }
  return nullptr;
}

// Quotes client-supplied text in an error message, cut short so a huge name stays readable.
std::string Quoted(const std::string& text) {
  constexpr size_t kMaxShown = 64;
  if (text.size() <= kMaxShown) return "\"" + text + "\"";
  return "\"" + ValidUtf8(std::string_view(text).substr(0, kMaxShown)) + "...\"";
}

}  // namespace

Result<nlohmann::json> DecodeKubernetesProtobuf(std::string_view body) {
  if (body.size() > kMaxBodyBytes) {
    return InvalidArgument("protobuf body of " + std::to_string(body.size()) +
                           " bytes exceeds the limit of " + std::to_string(kMaxBodyBytes));
  }
  if (!body.starts_with(kMagic)) {
    return Malformed("missing the \"k8s\\0\" prefix of a Kubernetes protobuf message");
  }
  Envelope envelope;
  VDISK_RETURN_IF_ERROR(ParseEnvelope(body.substr(kMagic.size()), envelope));
  if (!envelope.content_encoding.empty()) {
    return Unsupported("protobuf content encoding " + Quoted(envelope.content_encoding));
  }
  if (!envelope.content_type.empty() && envelope.content_type != kProtobufMediaType) {
    return Unsupported("protobuf envelope content type " + Quoted(envelope.content_type));
  }
  if (envelope.kind.empty()) return Malformed("the envelope names no kind");
  const MessageType* type = FindKind(envelope.api_version, envelope.kind);
  if (type == nullptr) {
    return Unsupported("protobuf is not supported for kind " + Quoted(envelope.kind) +
                       " in apiVersion " + Quoted(envelope.api_version));
  }
  Json object = Json::object();
  object["apiVersion"] = envelope.api_version;
  object["kind"] = envelope.kind;
  VDISK_RETURN_IF_ERROR(DecodeMessage(envelope.raw, *type, object, 1));
  return object;
}

}  // namespace vdisk::api

#include "api/protobuf.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace vdisk::api {
namespace {

using Json = nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Real kubectl bodies, captured by testdata/capture_kubectl_protobuf.py (see there to
// regenerate), each with the JSON `kubectl ... --dry-run=client -o json` prints for it.

struct KubectlCapture {
  std::string_view name;
  std::string_view command;
  std::string_view body_hex;
  std::string_view dry_run_json;
};

const KubectlCapture kCaptures[] = {
#include "api/testdata/kubectl_protobuf_captures.inc"
};

std::string FromHex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  }
  return out;
}

TEST(ProtobufTest, DecodesWhatKubectlSendsToTheJsonItWouldSend) {
  ASSERT_GE(std::size(kCaptures), 8u);
  for (const KubectlCapture& capture : kCaptures) {
    SCOPED_TRACE(capture.command);
    Result<Json> decoded = DecodeKubernetesProtobuf(FromHex(capture.body_hex));
    ASSERT_TRUE(decoded.ok()) << decoded.status().message();
    EXPECT_EQ(*decoded, Json::parse(capture.dry_run_json)) << decoded->dump(2);
  }
}

const KubectlCapture& Capture(std::string_view name) {
  for (const KubectlCapture& capture : kCaptures) {
    if (capture.name == name) return capture;
  }
  ADD_FAILURE() << "no capture " << name;
  return kCaptures[0];
}

TEST(ProtobufTest, KubectlConfigMapCarriesTextAndBinaryFiles) {
  Result<Json> cm = DecodeKubernetesProtobuf(FromHex(Capture("create_configmap_files").body_hex));
  ASSERT_TRUE(cm.ok()) << cm.status().message();
  EXPECT_EQ((*cm)["data"], (Json{{"text.txt", "hello\n"}, {"x", "y"}}));
  EXPECT_EQ((*cm)["binaryData"]["blob"], "AAH//mJpbg==");  // bytes 00 01 ff fe "bin"
  EXPECT_TRUE((*cm)["metadata"]["creationTimestamp"].is_null());
}

TEST(ProtobufTest, KubectlSecretDataIsBase64) {
  Result<Json> secret =
      DecodeKubernetesProtobuf(FromHex(Capture("create_secret_generic").body_hex));
  ASSERT_TRUE(secret.ok()) << secret.status().message();
  EXPECT_EQ((*secret)["data"], (Json{{"k", "dg=="}, {"empty", ""}}));
  EXPECT_EQ((*secret)["type"], "Opaque");
}

// ---------------------------------------------------------------------------------------------
// Hand-encoded messages for what kubectl's generators never set.

std::string Varint(uint64_t value) {
  std::string out;
  while (value >= 0x80) {
    out += static_cast<char>((value & 0x7F) | 0x80);
    value >>= 7;
  }
  out += static_cast<char>(value);
  return out;
}

std::string Key(uint32_t number, uint32_t wire_type) {
  return Varint((uint64_t{number} << 3) | wire_type);
}

std::string Bytes(uint32_t number, std::string_view bytes) {
  return Key(number, 2) + Varint(bytes.size()) + std::string(bytes);
}

std::string VarintField(uint32_t number, uint64_t value) { return Key(number, 0) + Varint(value); }

std::string MapEntry(uint32_t number, std::string_view key, std::string_view value) {
  return Bytes(number, Bytes(1, key) + Bytes(2, value));
}

std::string TimeField(uint32_t number, int64_t seconds) {
  return Bytes(number, VarintField(1, static_cast<uint64_t>(seconds)) + VarintField(2, 5));
}

// Fields of every wire type under numbers no kind uses, which a decoder must skip.
std::string UnknownFields() {
  return VarintField(900, 7) + Key(901, 1) + std::string(8, 'x') + Key(902, 5) +
         std::string(4, 'y') + Bytes(903, "skip me") + Key(904, 3) + VarintField(1, 1) +
         Key(904, 4);
}

std::string Body(std::string_view api_version, std::string_view kind, std::string_view raw,
                 std::string_view envelope_extra = "") {
  return std::string("k8s\0", 4) + Bytes(1, Bytes(1, api_version) + Bytes(2, kind)) +
         Bytes(2, raw) + std::string(envelope_extra);
}

Json MustDecode(const std::string& body) {
  Result<Json> decoded = DecodeKubernetesProtobuf(body);
  EXPECT_TRUE(decoded.ok()) << decoded.status().message();
  return decoded.ok() ? *decoded : Json();
}

TEST(ProtobufTest, DecodesTheWholeObjectMeta) {
  std::string owner = Bytes(5, "v1") + Bytes(1, "ConfigMap") + Bytes(3, "owner") + Bytes(4, "u-1") +
                      VarintField(6, 1) + VarintField(7, 0);
  std::string managed = Bytes(1, "kubectl") + Bytes(2, "Update");
  std::string meta = Bytes(1, "n") + Bytes(2, "gen-") + Bytes(3, "ns") + Bytes(4, "") +
                     Bytes(5, "uid-9") + Bytes(6, "42") + VarintField(7, 3) +
                     TimeField(8, 1700000000) + TimeField(9, 951782400) + VarintField(10, 30) +
                     MapEntry(11, "app", "web") + MapEntry(11, "tier", "") +
                     MapEntry(12, "note", "hi") + Bytes(13, owner) + Bytes(13, Bytes(1, "Pod")) +
                     Bytes(14, "a/b") + Bytes(14, "c") + Bytes(17, managed) + UnknownFields();
  Json expected = {
      {"name", "n"},
      {"generateName", "gen-"},
      {"namespace", "ns"},
      {"uid", "uid-9"},
      {"resourceVersion", "42"},
      {"generation", 3},
      {"creationTimestamp", "2023-11-14T22:13:20Z"},
      {"deletionTimestamp", "2000-02-29T00:00:00Z"},
      {"deletionGracePeriodSeconds", 30},
      {"labels", {{"app", "web"}, {"tier", ""}}},
      {"annotations", {{"note", "hi"}}},
      {"ownerReferences",
       {{{"apiVersion", "v1"},
         {"kind", "ConfigMap"},
         {"name", "owner"},
         {"uid", "u-1"},
         {"controller", true},
         {"blockOwnerDeletion", false}},
        {{"kind", "Pod"}}}},
      {"finalizers", {"a/b", "c"}},
  };
  Json cm = MustDecode(Body("v1", "ConfigMap", Bytes(1, meta)));
  EXPECT_EQ(cm["metadata"], expected) << cm.dump(2);
}

TEST(ProtobufTest, PointerFieldsKeepTheirZeroValues) {
  std::string meta = Bytes(1, "c") + VarintField(10, 0) + VarintField(7, 0);
  Json cm = MustDecode(Body("v1", "ConfigMap", Bytes(1, meta) + VarintField(4, 0)));
  EXPECT_EQ(cm["immutable"], false);                           // *bool
  EXPECT_EQ(cm["metadata"]["deletionGracePeriodSeconds"], 0);  // *int64
  EXPECT_FALSE(cm["metadata"].contains("generation"));         // int64,omitempty
}

TEST(ProtobufTest, EncodesBinaryDataAsPaddedBase64) {
  std::string raw = MapEntry(3, "zero", "") + MapEntry(3, "one", "f") + MapEntry(3, "two", "fo") +
                    MapEntry(3, "three", "foo") + MapEntry(3, "four", "foob") +
                    MapEntry(3, "high", "\xff\xfe\xfd") + VarintField(4, 1);
  Json cm = MustDecode(Body("v1", "ConfigMap", raw));
  EXPECT_EQ(cm["binaryData"], (Json{{"zero", ""},
                                    {"one", "Zg=="},
                                    {"two", "Zm8="},
                                    {"three", "Zm9v"},
                                    {"four", "Zm9vYg=="},
                                    {"high", "//79"}}));
  EXPECT_EQ(cm["immutable"], true);
}

TEST(ProtobufTest, DecodesSecretStringDataTypeAndImmutable) {
  std::string raw = Bytes(1, Bytes(1, "s")) + MapEntry(2, "k", std::string("\0v", 2)) +
                    MapEntry(4, "plain", "text") + Bytes(3, "kubernetes.io/tls") +
                    VarintField(5, 1);
  Json secret = MustDecode(Body("v1", "Secret", raw));
  EXPECT_EQ(secret, (Json{{"apiVersion", "v1"},
                          {"kind", "Secret"},
                          {"metadata", {{"name", "s"}}},
                          {"data", {{"k", "AHY="}}},
                          {"stringData", {{"plain", "text"}}},
                          {"type", "kubernetes.io/tls"},
                          {"immutable", true}}));
}

TEST(ProtobufTest, LaterMapEntriesAndScalarsWin) {
  std::string raw =
      Bytes(1, Bytes(1, "first") + Bytes(1, "second") + Bytes(3, "ns") + Bytes(3, "")) +
      MapEntry(2, "k", "old") + MapEntry(2, "k", "new");
  Json cm = MustDecode(Body("v1", "ConfigMap", raw));
  EXPECT_EQ(cm["metadata"], (Json{{"name", "second"}}));
  EXPECT_EQ(cm["data"], (Json{{"k", "new"}}));
}

TEST(ProtobufTest, DecodesNamespaceSpecAndStatus) {
  std::string condition = Bytes(1, "NamespaceDeletionContentFailure") + Bytes(2, "False") +
                          Bytes(4, "") + Bytes(5, "") + Bytes(6, "");
  std::string raw = Bytes(1, Bytes(1, "ns")) + Bytes(2, Bytes(1, "kubernetes")) +
                    Bytes(3, Bytes(1, "Terminating") + Bytes(2, condition));
  Json ns = MustDecode(Body("v1", "Namespace", raw));
  EXPECT_EQ(ns["spec"], (Json{{"finalizers", {"kubernetes"}}}));
  EXPECT_EQ(ns["status"], (Json{{"phase", "Terminating"},
                                {"conditions",
                                 {{{"type", "NamespaceDeletionContentFailure"},
                                   {"status", "False"},
                                   {"lastTransitionTime", nullptr}}}}}));
}

TEST(ProtobufTest, DecodesPersistentVolumeClaim) {
  std::string quantity = Bytes(1, "10Gi");
  std::string selector = MapEntry(1, "disk", "fast") + Bytes(2, Bytes(1, "zone") + Bytes(2, "In") +
                                                                    Bytes(3, "a") + Bytes(3, "b"));
  std::string spec =
      Bytes(1, "ReadWriteOnce") + Bytes(4, selector) +
      Bytes(2, Bytes(2, Bytes(1, "storage") + Bytes(2, quantity))) + Bytes(3, "") + Bytes(5, "") +
      Bytes(6, "Block") +
      Bytes(8, Bytes(1, "cdi.kubevirt.io") + Bytes(2, "VolumeImportSource") + Bytes(3, "src"));
  std::string status = Bytes(1, "Bound") + Bytes(2, "ReadWriteOnce") +
                       Bytes(3, Bytes(1, "storage") + Bytes(2, quantity)) +
                       Bytes(4, Bytes(1, "Resizing") + Bytes(2, "True") + TimeField(4, 0));
  Json pvc = MustDecode(Body("v1", "PersistentVolumeClaim",
                             Bytes(1, Bytes(1, "p")) + Bytes(2, spec) + Bytes(3, status)));
  EXPECT_EQ(
      pvc["spec"],
      (Json{
          {"accessModes", {"ReadWriteOnce"}},
          {"selector",
           {{"matchLabels", {{"disk", "fast"}}},
            {"matchExpressions", {{{"key", "zone"}, {"operator", "In"}, {"values", {"a", "b"}}}}}}},
          {"resources", {{"requests", {{"storage", "10Gi"}}}}},
          {"storageClassName", ""},
          {"volumeMode", "Block"},
          {"dataSourceRef",
           {{"apiGroup", "cdi.kubevirt.io"}, {"kind", "VolumeImportSource"}, {"name", "src"}}}}))
      << pvc.dump(2);
  EXPECT_EQ(pvc["status"], (Json{{"phase", "Bound"},
                                 {"accessModes", {"ReadWriteOnce"}},
                                 {"capacity", {{"storage", "10Gi"}}},
                                 {"conditions",
                                  {{{"type", "Resizing"},
                                    {"status", "True"},
                                    {"lastTransitionTime", "1970-01-01T00:00:00Z"}}}}}))
      << pvc.dump(2);
}

TEST(ProtobufTest, DecodesPersistentVolumeWithItsInlinedSource) {
  std::string requirement = Bytes(1, "kubernetes.io/hostname") + Bytes(2, "In") + Bytes(3, "node1");
  std::string affinity = Bytes(1, Bytes(1, Bytes(1, requirement)));
  std::string source = Bytes(3, Bytes(1, "/data/pv1") + Bytes(2, "DirectoryOrCreate"));
  std::string spec = Bytes(1, Bytes(1, "storage") + Bytes(2, Bytes(1, "5Gi"))) + Bytes(2, source) +
                     Bytes(3, "ReadWriteOnce") +
                     Bytes(4, Bytes(1, "PersistentVolumeClaim") + Bytes(2, "default") +
                                  Bytes(3, "p") + Bytes(4, "")) +
                     Bytes(5, "Retain") + Bytes(6, "local") + Bytes(7, "ro") + Bytes(9, affinity);
  std::string status = Bytes(1, "Available") + Bytes(2, "") + Bytes(3, "") + TimeField(4, -1);
  Json pv = MustDecode(Body("v1", "PersistentVolume",
                            Bytes(1, Bytes(1, "pv1")) + Bytes(2, spec) + Bytes(3, status)));
  EXPECT_EQ(pv["spec"],
            (Json{{"capacity", {{"storage", "5Gi"}}},
                  {"hostPath", {{"path", "/data/pv1"}, {"type", "DirectoryOrCreate"}}},
                  {"accessModes", {"ReadWriteOnce"}},
                  {"claimRef",
                   {{"kind", "PersistentVolumeClaim"}, {"namespace", "default"}, {"name", "p"}}},
                  {"persistentVolumeReclaimPolicy", "Retain"},
                  {"storageClassName", "local"},
                  {"mountOptions", {"ro"}},
                  {"nodeAffinity",
                   {{"required",
                     {{"nodeSelectorTerms",
                       {{{"matchExpressions",
                          {{{"key", "kubernetes.io/hostname"},
                            {"operator", "In"},
                            {"values", {"node1"}}}}}}}}}}}}}))
      << pv.dump(2);
  EXPECT_EQ(pv["status"],
            (Json{{"phase", "Available"}, {"lastPhaseTransitionTime", "1969-12-31T23:59:59Z"}}));
}

TEST(ProtobufTest, DecodesCsiAndLocalPersistentVolumes) {
  std::string csi = Bytes(1, "hostpath.csi.k8s.io") + Bytes(2, "vol-1") + VarintField(3, 1) +
                    Bytes(4, "") + MapEntry(5, "k", "v") + Bytes(8, Bytes(1, "s") + Bytes(2, ""));
  Json pv = MustDecode(Body("v1", "PersistentVolume", Bytes(2, Bytes(2, Bytes(22, csi)))));
  EXPECT_EQ(pv["spec"]["csi"], (Json{{"driver", "hostpath.csi.k8s.io"},
                                     {"volumeHandle", "vol-1"},
                                     {"readOnly", true},
                                     {"volumeAttributes", {{"k", "v"}}},
                                     {"nodePublishSecretRef", {{"name", "s"}}}}));
  Json local =
      MustDecode(Body("v1", "PersistentVolume", Bytes(2, Bytes(2, Bytes(20, Bytes(1, "/mnt"))))));
  EXPECT_EQ(local["spec"]["local"], (Json{{"path", "/mnt"}}));
}

TEST(ProtobufTest, RefusesVolumeSourcesItCannotTranslate) {
  Result<Json> pv = DecodeKubernetesProtobuf(
      Body("v1", "PersistentVolume", Bytes(2, Bytes(2, Bytes(7, Bytes(1, "10.0.0.1"))))));
  ASSERT_FALSE(pv.ok());
  EXPECT_EQ(pv.status().code(), StatusCode::kUnsupportedMedia);
  EXPECT_NE(pv.status().message().find("PersistentVolumeSource.iscsi"), std::string::npos)
      << pv.status().message();
}

TEST(ProtobufTest, DecodesDeleteOptions) {
  std::string raw = VarintField(1, 0) + Bytes(2, Bytes(1, "uid-1") + Bytes(2, "7")) +
                    Bytes(4, "Foreground") + Bytes(5, "All");
  for (std::string_view api_version : {"v1", "meta.k8s.io/v1"}) {
    Json options = MustDecode(Body(api_version, "DeleteOptions", raw));
    EXPECT_EQ(options, (Json{{"apiVersion", api_version},
                             {"kind", "DeleteOptions"},
                             {"gracePeriodSeconds", 0},
                             {"preconditions", {{"uid", "uid-1"}, {"resourceVersion", "7"}}},
                             {"propagationPolicy", "Foreground"},
                             {"dryRun", {"All"}}}));
  }
}

TEST(ProtobufTest, FormatsTimesAsGoDoes) {
  struct Case {
    int64_t seconds;
    const char* rfc3339;
  };
  for (const Case& c :
       {Case{0, "1970-01-01T00:00:00Z"}, Case{-1, "1969-12-31T23:59:59Z"},
        Case{951782400, "2000-02-29T00:00:00Z"}, Case{4107542400, "2100-03-01T00:00:00Z"},
        Case{-62135596800, "0001-01-01T00:00:00Z"}, Case{-62167219200, "0000-01-01T00:00:00Z"},
        Case{253402300799, "9999-12-31T23:59:59Z"}}) {
    Json cm = MustDecode(Body("v1", "ConfigMap", Bytes(1, TimeField(8, c.seconds))));
    EXPECT_EQ(cm["metadata"]["creationTimestamp"], c.rfc3339) << c.seconds;
  }
  for (int64_t outside : {int64_t{253402300800}, int64_t{-62167219201}, INT64_MIN, INT64_MAX}) {
    Result<Json> cm =
        DecodeKubernetesProtobuf(Body("v1", "ConfigMap", Bytes(1, TimeField(8, outside))));
    ASSERT_FALSE(cm.ok()) << outside;
    EXPECT_EQ(cm.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(ProtobufTest, NegativeIntegersSurviveTheVarintRoundTrip) {
  Json cm =
      MustDecode(Body("v1", "ConfigMap", Bytes(1, VarintField(10, static_cast<uint64_t>(-5)))));
  EXPECT_EQ(cm["metadata"]["deletionGracePeriodSeconds"], -5);
}

TEST(ProtobufTest, ReplacesInvalidUtf8AsGoJsonDoes) {
  std::string raw =
      Bytes(1, Bytes(1,
                     "a\xff"
                     "b")) +
      MapEntry(2, "\xed\xa0\x80", "ok \xc3\xa9 \xf0\x9f\x98\x80 \xc0\xaf \xf4\x90\x80\x80");
  Json cm = MustDecode(Body("v1", "ConfigMap", raw));
  EXPECT_EQ(cm["metadata"]["name"],
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(cm["data"], (Json{{"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD",
                               "ok \xc3\xa9 \xf0\x9f\x98\x80 \xEF\xBF\xBD\xEF\xBF\xBD "
                               "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}}));
  EXPECT_NO_THROW(cm.dump());
}

// ---------------------------------------------------------------------------------------------
// Refusals.

Status DecodeError(const std::string& body) {
  Result<Json> decoded = DecodeKubernetesProtobuf(body);
  EXPECT_FALSE(decoded.ok()) << decoded->dump();
  return decoded.ok() ? Status::Ok() : decoded.status();
}

TEST(ProtobufTest, UnsupportedKindsAreUnsupportedMediaNamingTheKind) {
  Status pod = DecodeError(Body("v1", "Pod", Bytes(1, Bytes(1, "p"))));
  EXPECT_EQ(pod.code(), StatusCode::kUnsupportedMedia);
  EXPECT_NE(pod.message().find("\"Pod\""), std::string::npos) << pod.message();

  Status deployment = DecodeError(Body("apps/v1", "Deployment", ""));
  EXPECT_EQ(deployment.code(), StatusCode::kUnsupportedMedia);
  EXPECT_NE(deployment.message().find("\"Deployment\" in apiVersion \"apps/v1\""),
            std::string::npos)
      << deployment.message();

  Status long_kind = DecodeError(Body("v1", std::string(100000, 'K'), ""));
  EXPECT_EQ(long_kind.code(), StatusCode::kUnsupportedMedia);
  EXPECT_LT(long_kind.message().size(), 400u);
}

TEST(ProtobufTest, EncodedEnvelopesAreUnsupportedMedia) {
  EXPECT_EQ(DecodeError(Body("v1", "ConfigMap", "", Bytes(3, "gzip"))).code(),
            StatusCode::kUnsupportedMedia);
  EXPECT_EQ(DecodeError(Body("v1", "ConfigMap", "", Bytes(4, "application/json"))).code(),
            StatusCode::kUnsupportedMedia);
  MustDecode(Body("v1", "ConfigMap", "", Bytes(4, "application/vnd.kubernetes.protobuf")));
}

TEST(ProtobufTest, MalformedBodiesAreInvalidArgument) {
  const std::string cm_prefix = Body("v1", "ConfigMap", "");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"empty", ""},
      {"no magic", Bytes(1, Bytes(2, "ConfigMap"))},
      {"json", R"({"kind":"ConfigMap"})"},
      {"no kind", Body("v1", "", "")},
      {"truncated varint", std::string("k8s\0", 4) + "\x0a\x80"},
      {"varint of 11 bytes", std::string("k8s\0", 4) + "\x08" + std::string(10, '\x80') + "\x01"},
      {"length past the end", std::string("k8s\0", 4) + "\x0a\x05" + "ab"},
      {"huge length", std::string("k8s\0", 4) + "\x0a" + Varint(uint64_t{1} << 63)},
      {"field number 0", std::string("k8s\0", 4) + "\x02\x00"},
      {"wire type 7", std::string("k8s\0", 4) + Key(9, 7)},
      {"unmatched end group", std::string("k8s\0", 4) + Key(9, 4)},
      {"unterminated group", std::string("k8s\0", 4) + Key(9, 3) + VarintField(1, 1)},
      {"mismatched group", std::string("k8s\0", 4) + Key(9, 3) + Key(8, 4)},
      {"truncated fixed64", std::string("k8s\0", 4) + Key(9, 1) + "1234"},
      {"string as varint", Body("v1", "ConfigMap", Bytes(1, VarintField(1, 5)))},
      {"bool as bytes", Body("v1", "ConfigMap", Bytes(4, "x"))},
      {"map entry key as varint", Body("v1", "ConfigMap", Bytes(2, VarintField(1, 1)))},
      {"time seconds as bytes", Body("v1", "ConfigMap", Bytes(1, Bytes(8, Bytes(1, "x"))))},
      {"truncated raw", Body("v1", "ConfigMap",
                             Bytes(1,
                                   "\x0a\x09"
                                   "abc"))},
      {"too large", Body("v1", "ConfigMap", MapEntry(2, "k", std::string(3 << 20, 'v')))},
  };
  for (const auto& [name, body] : cases) {
    EXPECT_EQ(DecodeError(body).code(), StatusCode::kInvalidArgument) << name;
  }
}

TEST(ProtobufTest, SkipsShallowGroupsAndRefusesDeepOnes) {
  auto nested_groups = [](int depth) {
    std::string open, close;
    for (int i = 0; i < depth; ++i) {
      open += Key(500 + i, 3);
      close = Key(500 + i, 4) + close;
    }
    return open + close;
  };
  Json cm = MustDecode(Body("v1", "ConfigMap", nested_groups(5) + MapEntry(2, "k", "v")));
  EXPECT_EQ(cm["data"], (Json{{"k", "v"}}));
  EXPECT_EQ(DecodeError(Body("v1", "ConfigMap", nested_groups(100))).code(),
            StatusCode::kInvalidArgument);
  // Unbalanced and very deep: must end in an error, not a stack overflow.
  std::string deep = std::string("k8s\0", 4);
  for (int i = 0; i < 200000; ++i) deep += Key(9, 3);
  EXPECT_EQ(DecodeError(deep).code(), StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// Robustness: whatever the bytes, an answer and never a crash (this also runs under ASan/UBSan).

void ExpectDecodesOrFailsCleanly(const std::string& body) {
  Result<Json> decoded = DecodeKubernetesProtobuf(body);
  if (decoded.ok()) {
    EXPECT_NO_THROW(decoded->dump());
  } else {
    EXPECT_FALSE(decoded.status().message().empty());
  }
}

TEST(ProtobufTest, EveryTruncationOfEveryCaptureFailsCleanly) {
  for (const KubectlCapture& capture : kCaptures) {
    std::string body = FromHex(capture.body_hex);
    for (size_t length = 0; length < body.size(); ++length) {
      ExpectDecodesOrFailsCleanly(body.substr(0, length));
    }
  }
}

TEST(ProtobufTest, MutatedCapturesDecodeOrFailCleanly) {
  std::mt19937 random(20240601);
  for (const KubectlCapture& capture : kCaptures) {
    const std::string original = FromHex(capture.body_hex);
    for (int round = 0; round < 500; ++round) {
      std::string body = original;
      int edits = 1 + static_cast<int>(random() % 4);
      for (int e = 0; e < edits; ++e) {
        size_t at = 4 + random() % (body.size() - 4);  // keep the magic so parsing goes deep
        body[at] = static_cast<char>(random() % 3 == 0 ? body[at] ^ (1 << (random() % 8))
                                                       : static_cast<char>(random()));
      }
      ExpectDecodesOrFailsCleanly(body);
    }
  }
}

TEST(ProtobufTest, RandomBytesDecodeOrFailCleanly) {
  std::mt19937 random(7);
  for (int round = 0; round < 20000; ++round) {
    std::string body("k8s\0", 4);
    size_t length = random() % 64;
    for (size_t i = 0; i < length; ++i) body += static_cast<char>(random());
    ExpectDecodesOrFailsCleanly(body);
  }
}

TEST(ProtobufTest, RandomFieldsInsideAKnownKindDecodeOrFailCleanly) {
  // Random well-framed fields under ConfigMap, Namespace and PersistentVolume reach the
  // per-field decoders rather than stopping at the envelope.
  std::mt19937 random(99);
  auto random_message = [&](auto& self, int depth) -> std::string {
    std::string out;
    int fields = static_cast<int>(random() % 5);
    for (int f = 0; f < fields; ++f) {
      uint32_t number = 1 + random() % 24;
      switch (random() % 4) {
        case 0:
          out += VarintField(number, random() % 3 == 0 ? ~uint64_t{0} : random());
          break;
        case 1:
          out += Bytes(number, std::string(random() % 5, static_cast<char>(random())));
          break;
        default:
          out += Bytes(number, depth < 4 ? self(self, depth + 1) : "");
          break;
      }
    }
    return out;
  };
  for (int round = 0; round < 2000; ++round) {
    for (const char* kind : {"ConfigMap", "Namespace", "PersistentVolume", "PersistentVolumeClaim",
                             "Secret", "DeleteOptions"}) {
      ExpectDecodesOrFailsCleanly(Body("v1", kind, random_message(random_message, 0)));
    }
  }
}

}  // namespace
}  // namespace vdisk::api

// `vdisk image-upload` (see image_upload.h).
#include "cli/image_upload.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/annotations.h"
#include "api/quantity.h"
#include "cli/progress_display.h"
#include "common/clock.h"
#include "dataplane/format.h"
#include "kubeclient/api_client.h"
#include "kubeclient/upload_client.h"
#include "qcow2/sparse_stream.h"

namespace vdisk::cli {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int kMaxUploadAttempts = 5;
// Status polls start this soon and back off to kPollInterval: a volume that turns ready or
// done within milliseconds is seen within milliseconds, a slow one costs few requests.
constexpr auto kFirstPollInterval = std::chrono::milliseconds(5);
constexpr auto kPollInterval = std::chrono::milliseconds(100);

// The DataVolume or claim the image goes into.
struct Volume {
  bool data_volume = true;
  std::string ns;
  std::string name;

  std::string Path() const {
    return data_volume ? "/apis/cdi.kubevirt.io/v1beta1/namespaces/" + ns + "/datavolumes/" + name
                       : "/api/v1/namespaces/" + ns + "/persistentvolumeclaims/" + name;
  }
  std::string CollectionPath() const { return Path().substr(0, Path().rfind('/')); }
  std::string Describe() const {
    return (data_volume ? "DataVolume " : "PersistentVolumeClaim ") + ns + "/" + name;
  }
};

const json& At(const json& object, const char* key) {
  static const json kNull;
  return object.is_object() && object.contains(key) ? object[key] : kNull;
}

std::string Text(const json& value) { return value.is_string() ? value.get<std::string>() : ""; }

// Where an upload into the volume stands, as the server reports it.
struct Observation {
  enum class State { kWaiting, kReady, kSucceeded, kFailed } state = State::kWaiting;
  std::string detail;  // the phase while waiting; the reason when failed
};

Result<Observation> Observe(kubeclient::ApiClient& client, const Volume& volume) {
  VDISK_ASSIGN_OR_RETURN(json object, client.Get(volume.Path()));
  Observation seen;
  if (volume.data_volume) {
    if (!At(At(At(object, "spec"), "source"), "upload").is_object()) {
      return InvalidArgument(volume.Describe() +
                             " is not an upload DataVolume (spec.source.upload is not set)");
    }
    std::string phase = Text(At(At(object, "status"), "phase"));
    seen.detail = phase.empty() ? "no phase yet" : phase;
    if (phase == "UploadReady") seen.state = Observation::State::kReady;
    if (phase == "Succeeded") seen.state = Observation::State::kSucceeded;
    if (phase == "Failed") {
      seen.state = Observation::State::kFailed;
      for (const json& condition : At(At(object, "status"), "conditions")) {
        std::string message = Text(At(condition, "message"));
        if (Text(At(condition, "type")) == "Running" && !message.empty()) seen.detail = message;
      }
    }
    return seen;
  }
  const json& annotations = At(At(object, "metadata"), "annotations");
  if (!At(annotations, api::kAnnUploadTarget).is_string()) {
    return InvalidArgument(volume.Describe() + " is not an upload target (no " +
                           std::string(api::kAnnUploadTarget) + " annotation)");
  }
  std::string pod_phase = Text(At(annotations, api::kAnnPodPhase));
  std::string claim_phase = Text(At(At(object, "status"), "phase"));
  seen.detail = claim_phase.empty() ? "no phase yet" : claim_phase;
  if (pod_phase == "Succeeded") seen.state = Observation::State::kSucceeded;
  if (pod_phase == "Failed") seen.state = Observation::State::kFailed;
  if (pod_phase == "Running" && Text(At(annotations, api::kAnnPodReady)) == "true") {
    seen.state = Observation::State::kReady;
  }
  return seen;
}

// Polls until the volume reaches `want`; a failed volume, or a finished one while waiting to
// upload, ends the wait with an error.
Status WaitFor(kubeclient::ApiClient& client, const Volume& volume, Observation::State want,
               std::chrono::seconds timeout) {
  using State = Observation::State;
  Clock::time_point deadline = Clock::now() + timeout;
  std::string last = "unknown";
  std::chrono::milliseconds interval = kFirstPollInterval;
  while (true) {
    auto seen = Observe(client, volume);
    if (seen.ok()) {
      if (seen->state == want) return Status::Ok();
      if (seen->state == State::kFailed) {
        return Invalid(volume.Describe() + " failed: " + seen->detail);
      }
      if (seen->state == State::kSucceeded) {
        return Conflict(volume.Describe() + " already holds an uploaded image");
      }
      last = seen->detail;
    } else if (seen.status().code() != StatusCode::kUnavailable) {
      return seen.status();
    }
    if (Clock::now() >= deadline) {
      std::string message =
          "timed out after " + std::to_string(timeout.count()) + " s waiting for " +
          volume.Describe() +
          (want == State::kReady ? " to be ready for upload" : " to finish processing the upload") +
          " (phase: " + last + ")";
      if (last == "WaitForFirstConsumer" || last == "PendingPopulation") {
        message += "; its storage class binds on first use: pass --force-bind";
      }
      return Unavailable(message);
    }
    std::this_thread::sleep_for(interval);
    interval = std::min<std::chrono::milliseconds>(interval * 2, kPollInterval);
  }
}

// Whether the volume's claim is unbound because its class waits for a first consumer (which an
// upload is not), so that a timeout can point at --force-bind.
bool WaitsForFirstConsumer(kubeclient::ApiClient& client, const Volume& volume) {
  Volume claim = volume;
  claim.data_volume = false;
  auto pvc = client.Get(claim.Path());
  if (!pvc.ok() || Text(At(At(*pvc, "status"), "phase")) == "Bound") return false;
  std::string class_name = Text(At(At(*pvc, "spec"), "storageClassName"));
  if (class_name.empty()) return false;
  auto storage_class = client.Get("/apis/storage.k8s.io/v1/storageclasses/" + class_name);
  return storage_class.ok() &&
         Text(At(*storage_class, "volumeBindingMode")) == "WaitForFirstConsumer";
}

Result<json> StorageSpec(const ImageUploadOptions& options) {
  if (options.size.empty()) {
    return InvalidArgument("--size is required to create the volume (e.g. --size=10Gi)");
  }
  auto size = api::Quantity::Parse(options.size);
  if (!size.ok() || size->IsNegative() || *size == *api::Quantity::Parse("0")) {
    return InvalidArgument("--size: \"" + options.size + "\" is not a positive quantity");
  }
  json spec = {{"resources", {{"requests", {{"storage", options.size}}}}}};
  if (!options.access_mode.empty()) spec["accessModes"] = {options.access_mode};
  if (options.volume_mode == "block") spec["volumeMode"] = "Block";
  if (options.volume_mode == "filesystem") spec["volumeMode"] = "Filesystem";
  if (!options.storage_class.empty()) spec["storageClassName"] = options.storage_class;
  return spec;
}

Status CreateVolume(kubeclient::ApiClient& client, const Volume& volume,
                    const ImageUploadOptions& options) {
  VDISK_ASSIGN_OR_RETURN(json storage, StorageSpec(options));
  json annotations = json::object();
  if (options.force_bind) annotations[api::kAnnBindImmediate] = "true";
  json object;
  if (volume.data_volume) {
    object = {{"apiVersion", "cdi.kubevirt.io/v1beta1"},
              {"kind", "DataVolume"},
              {"spec", {{"source", {{"upload", json::object()}}}, {"storage", storage}}}};
  } else {
    annotations[api::kAnnUploadTarget] = "";
    if (!storage.contains("accessModes")) storage["accessModes"] = {"ReadWriteOnce"};
    object = {{"apiVersion", "v1"}, {"kind", "PersistentVolumeClaim"}, {"spec", storage}};
  }
  object["metadata"] = {{"name", volume.name}, {"namespace", volume.ns}};
  if (!annotations.empty()) object["metadata"]["annotations"] = annotations;
  auto created = client.Post(volume.CollectionPath(), object);
  if (created.status().code() == StatusCode::kAlreadyExists) {
    return AlreadyExists(volume.Describe() + " already exists; pass --no-create to upload into it");
  }
  return created.status();
}

Result<std::string> UploadToken(kubeclient::ApiClient& client, const Volume& volume) {
  json request = {{"apiVersion", "upload.cdi.kubevirt.io/v1beta1"},
                  {"kind", "UploadTokenRequest"},
                  {"metadata", {{"name", volume.name}, {"namespace", volume.ns}}},
                  {"spec", {{"pvcName", volume.name}}}};
  VDISK_ASSIGN_OR_RETURN(
      json answer, client.Post("/apis/upload.cdi.kubevirt.io/v1beta1/namespaces/" + volume.ns +
                                   "/uploadtokenrequests",
                               request));
  std::string token = Text(At(At(answer, "status"), "token"));
  if (token.empty()) return Internal("the UploadTokenRequest came back without a token");
  return token;
}

// scheme://host[:port] of `url`.
std::string OriginOf(const std::string& url) {
  size_t scheme_end = url.find("://");
  size_t path = scheme_end == std::string::npos ? std::string::npos : url.find('/', scheme_end + 3);
  return url.substr(0, path);
}

Result<std::string> UploadUrl(kubeclient::ApiClient& client, const ImageUploadOptions& options) {
  std::string base = options.uploadproxy_url;
  if (base.empty()) {
    VDISK_ASSIGN_OR_RETURN(json config,
                           client.Get("/apis/cdi.kubevirt.io/v1beta1/cdiconfigs/config"));
    base = Text(At(At(config, "status"), "uploadProxyURL"));
    if (base.empty()) {
      return Unavailable("CDIConfig config shows no status.uploadProxyURL; pass --uploadproxy-url");
    }
  }
  if (base.find("://") == std::string::npos) base = "https://" + base;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/v1beta1/upload";
}

kubeclient::TlsSettings UploadTls(const ImageUploadOptions& options,
                                  const kubeclient::ClusterAccess& access, const std::string& url) {
  kubeclient::TlsSettings tls;
  tls.insecure_skip_verify = options.insecure;
  // Served next to the API (vdisk's own listener): trust the cluster's CA for it too.
  if (OriginOf(url) == OriginOf(access.server)) tls.ca_pem = access.tls.ca_pem;
  return tls;
}

// What goes on the wire for the image at `path`. A raw image (or ISO) in a regular file is sent
// as a qcow2 stream that maps only its data, so its holes never travel; anything else (qcow2,
// compressed images, pipes) is sent as it is.
Status PrepareBody(const std::string& path, bool regular_file, kubeclient::UploadRequest& request) {
  request.open_body = [path] { return kubeclient::OpenFileBody(path); };
  request.body_size.reset();
  if (!regular_file) return Status::Ok();
  VDISK_ASSIGN_OR_RETURN(std::unique_ptr<io::Reader> file, kubeclient::OpenFileBody(path));
  std::vector<std::byte> head(dataplane::kFormatHeadSize);
  size_t got = 0;
  while (got < head.size()) {
    VDISK_ASSIGN_OR_RETURN(size_t n, file->Read(std::span(head).subspan(got)));
    if (n == 0) break;
    got += n;
  }
  dataplane::Format format = dataplane::DetectFormat(std::span(head).first(got));
  auto sparse = qcow2::SparseStream::Open(path);
  if ((format != dataplane::Format::kRaw && format != dataplane::Format::kIso) || !sparse.ok()) {
    std::error_code error;
    uint64_t size = std::filesystem::file_size(path, error);
    if (error) return NotFound("--image-path: " + path + ": " + error.message());
    request.body_size = size;
    return Status::Ok();
  }
  std::printf("%s is %s: sending its %s of data as a sparse qcow2 stream\n", path.c_str(),
              std::string(dataplane::FormatName(format)).c_str(),
              HumanBytes(static_cast<double>((*sparse)->data_bytes())).c_str());
  request.body_size = (*sparse)->size();
  request.open_body = [path]() -> Result<std::unique_ptr<io::Reader>> {
    VDISK_ASSIGN_OR_RETURN(auto stream, qcow2::SparseStream::Open(path));
    return std::unique_ptr<io::Reader>(std::move(stream));
  };
  return Status::Ok();
}

// One upload attempt's outcome: done, worth retrying, or a final error.
struct Attempt {
  Status status;
  bool retry = false;
};

Attempt UploadOnce(kubeclient::ApiClient& client, const Volume& volume,
                   kubeclient::UploadRequest request, bool terminal) {
  auto token = UploadToken(client, volume);
  if (!token.ok()) return {token.status(), token.status().code() == StatusCode::kUnavailable};
  request.token = *token;
  ProgressDisplay progress(stdout, terminal);
  request.on_progress = [&](uint64_t sent, std::optional<uint64_t> total) {
    progress.Update(sent, total);
  };
  auto answer = kubeclient::UploadImage(request);
  if (!answer.ok()) {
    if (terminal) std::fputc('\n', stdout);
    return {answer.status(), answer.status().code() == StatusCode::kUnavailable};
  }
  std::string reason = answer->body;
  while (!reason.empty() && (reason.back() == '\n' || reason.back() == '\r')) reason.pop_back();
  switch (answer->http_status) {
    case 200:
      progress.Finish();
      return {Status::Ok()};
    case 400:
      return {InvalidArgument("the upload was refused: " + reason)};
    case 409:
      return {Conflict(volume.Describe() + " already holds an uploaded image")};
    case 401:  // the token expired on the way: a new one is fetched
    case 502:
    case 503:
    case 504:
      return {Unavailable("the upload endpoint answered " + std::to_string(answer->http_status) +
                          ": " + reason),
              true};
    default:
      return {Internal("the upload endpoint answered " + std::to_string(answer->http_status) +
                       ": " + reason)};
  }
}

Status Run(const ImageUploadOptions& options) {
  if (options.kind != "dv" && options.kind != "pvc") {
    return InvalidArgument("the first argument must be dv or pvc, got \"" + options.kind + "\"");
  }
  if (options.image_path.empty()) return InvalidArgument("--image-path is required");
  struct stat st {};
  if (::stat(options.image_path.c_str(), &st) != 0 || ::access(options.image_path.c_str(), R_OK)) {
    return NotFound("--image-path: cannot read " + options.image_path);
  }
  if (S_ISDIR(st.st_mode))
    return InvalidArgument("--image-path: " + options.image_path + " is a directory");
  const bool seekable = S_ISREG(st.st_mode);

  VDISK_ASSIGN_OR_RETURN(kubeclient::ClusterAccess access,
                         kubeclient::LoadKubeconfig(options.kubeconfig));
  Volume volume{options.kind == "dv", options.ns.empty() ? access.ns : options.ns, options.name};
  kubeclient::ApiClient client(access);

  if (options.no_create) {
    VDISK_RETURN_IF_ERROR(Observe(client, volume).status());
    std::printf("Using existing %s\n", volume.Describe().c_str());
  } else {
    VDISK_RETURN_IF_ERROR(CreateVolume(client, volume, options));
    std::printf("%s created\n", volume.Describe().c_str());
  }
  const std::chrono::seconds wait(options.wait_secs);
  std::printf("Waiting for %s to be ready for upload\n", volume.Describe().c_str());
  std::fflush(stdout);
  if (Status ready = WaitFor(client, volume, Observation::State::kReady, wait); !ready.ok()) {
    if (ready.code() == StatusCode::kUnavailable && !options.force_bind &&
        WaitsForFirstConsumer(client, volume)) {
      return Unavailable(ready.message() +
                         "; its storage class binds on first consumer: pass --force-bind");
    }
    return ready;
  }

  VDISK_ASSIGN_OR_RETURN(std::string url, UploadUrl(client, options));
  kubeclient::UploadRequest request;
  request.url = url;
  request.tls = UploadTls(options, access, url);
  VDISK_RETURN_IF_ERROR(PrepareBody(options.image_path, seekable, request));
  const bool terminal = ::isatty(fileno(stdout)) == 1;
  std::printf("Uploading %s to %s\n", options.image_path.c_str(), url.c_str());
  std::fflush(stdout);
  for (int attempt = 1;; ++attempt) {
    Attempt result = UploadOnce(client, volume, request, terminal);
    if (result.status.ok()) break;
    if (!result.retry || !seekable || attempt == kMaxUploadAttempts) return result.status;
    auto delay = BackoffDelay(attempt, std::chrono::seconds(1), std::chrono::seconds(15));
    std::printf("Upload attempt %d failed (%s); retrying in %.1f s\n", attempt,
                result.status.message().c_str(), static_cast<double>(delay.count()) / 1000);
    std::fflush(stdout);
    std::this_thread::sleep_for(delay);
    VDISK_RETURN_IF_ERROR(WaitFor(client, volume, Observation::State::kReady, wait));
  }
  std::printf("Uploaded. Waiting for %s to finish processing\n", volume.Describe().c_str());
  std::fflush(stdout);
  VDISK_RETURN_IF_ERROR(WaitFor(client, volume, Observation::State::kSucceeded, wait));
  std::printf("%s: upload succeeded\n", volume.Describe().c_str());
  return Status::Ok();
}

}  // namespace

int ImageUpload(const ImageUploadOptions& options) {
  Status status = Run(options);
  if (status.ok()) return 0;
  std::fflush(stdout);
  std::fprintf(stderr, "error: %s\n", status.message().c_str());
  return 1;
}

}  // namespace vdisk::cli

// UploadImage: sends a disk image to an upload endpoint (POST <url>, Authorization: Bearer
// <token>, the image as the body), the way `curl --data-binary @image` would, with progress.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "common/status.h"
#include "kubeclient/kubeconfig.h"

namespace vdisk::kubeclient {

struct UploadRequest {
  std::string url;  // e.g. https://host:port/v1beta1/upload
  std::string token;
  TlsSettings tls;
  std::filesystem::path image;  // a regular file, or a pipe (sent chunked, without a length)
  // Called with the bytes sent so far and the image's size (nullopt for a pipe), at most a few
  // times a second and once at the end.
  std::function<void(uint64_t sent, std::optional<uint64_t> total)> on_progress;
};

struct UploadAnswer {
  long http_status = 0;
  std::string body;  // the server's reason when it refused the upload
};

// The server's answer, whatever its status; Unavailable when the transfer itself failed (the
// connection broke, or the server could not be reached), NotFound when the image cannot be
// opened.
Result<UploadAnswer> UploadImage(const UploadRequest& request);

}  // namespace vdisk::kubeclient

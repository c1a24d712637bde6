// `vdisk image-upload dv|pvc NAME --image-path=PATH ...`: uploads a local disk image into a new
// or existing DataVolume or PersistentVolumeClaim, with upstream virtctl's flags and meaning.
//
//   1. finds the server through the kubeconfig, as kubectl does;
//   2. creates the upload DataVolume (or upload-target PVC) unless --no-create;
//   3. waits up to --wait-secs for it to be ready for an upload;
//   4. asks for an upload token (UploadTokenRequest) and sends the image to the upload endpoint
//      (--uploadproxy-url, else CDIConfig status.uploadProxyURL), showing progress;
//   5. retries transient failures (a broken connection, 503) with a fresh token;
//   6. waits for the volume to report success.
// On failure it prints the reason and exits non-zero.
#pragma once

#include <string>

#include "kubeclient/kubeconfig.h"

namespace vdisk::cli {

struct ImageUploadOptions {
  std::string kind;  // "dv" or "pvc"
  std::string name;
  std::string ns;  // empty: the kubeconfig context's namespace
  std::string image_path;
  std::string size;  // a quantity, e.g. 10Gi; required unless --no-create
  bool no_create = false;
  bool insecure = false;  // do not verify the upload endpoint's certificate
  std::string storage_class;
  std::string access_mode;  // ReadWriteOnce, ReadOnlyMany, ReadWriteMany, ReadWriteOncePod
  std::string volume_mode;  // block or filesystem
  bool force_bind = false;  // bind at once even with a WaitForFirstConsumer class
  unsigned wait_secs = 300;
  std::string uploadproxy_url;
  kubeclient::KubeconfigChoice kubeconfig;
};

// Returns the process exit code.
int ImageUpload(const ImageUploadOptions& options);

}  // namespace vdisk::cli

// vdisk: virtual machine disks behind a Kubernetes-compatible API, in one binary.
#include <malloc.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/image_upload.h"
#include "cli/serve.h"
#include "common/version.h"

int main(int argc, char** argv) {
  // Requests run on many threads; glibc would give each its own arena and keep what a large
  // list freed in it, so resident memory would grow with every thread that served one.
  mallopt(M_ARENA_MAX, 2);
  // Logs go to stderr: stdout carries only what scripts read ("listening on URL").
  spdlog::set_default_logger(spdlog::stderr_color_mt("vdisk"));
  CLI::App app{
      "vdisk: virtual machine disks behind a Kubernetes-compatible API.\n"
      "Drive it with kubectl, using the kubeconfig that `vdisk serve` writes."};
  app.require_subcommand(1);

  vdisk::cli::ServeOptions serve;
  CLI::App* serve_cmd = app.add_subcommand(
      "serve", "Run the API server, controllers and node agent with an embedded store");
  serve_cmd
      ->add_option("--data-dir", serve.data_dir,
                   "Directory for the store, certificates and kubeconfig")
      ->capture_default_str();
  serve_cmd->add_option("--listen", serve.listen, "HOST:PORT to serve on; port 0 picks one")
      ->capture_default_str();
  serve_cmd->add_option("--node-name", serve.node_name, "This node's name (default: host name)");
  serve_cmd->add_option("--max-imports", serve.max_imports, "Imports that transfer data at once")
      ->capture_default_str()
      ->check(CLI::Range(1u, 256u));
  serve_cmd
      ->add_option("--import-stall-timeout", serve.import_stall_seconds,
                   "Seconds without a byte after which an import's transfer is retried")
      ->capture_default_str()
      ->check(CLI::Range(1u, 3600u));

  vdisk::cli::ImageUploadOptions upload;
  CLI::App* upload_cmd = app.add_subcommand(
      "image-upload",
      "Upload a local disk image into a new or existing DataVolume or PersistentVolumeClaim");
  upload_cmd->add_option("kind", upload.kind, "dv or pvc")
      ->required()
      ->check(CLI::IsMember({"dv", "pvc"}));
  upload_cmd->add_option("name", upload.name, "The DataVolume's or claim's name")->required();
  upload_cmd
      ->add_option("--image-path", upload.image_path,
                   "The image to upload: raw, ISO or qcow2, optionally gz or xz compressed")
      ->required();
  upload_cmd->add_option("-n,--namespace", upload.ns,
                         "Namespace (default: the kubeconfig context's namespace)");
  upload_cmd->add_option("--size", upload.size,
                         "Size of the volume to create, e.g. 10Gi (required unless --no-create)");
  upload_cmd->add_flag("--no-create", upload.no_create,
                       "Upload into an existing volume instead of creating one");
  upload_cmd->add_flag("--insecure", upload.insecure,
                       "Do not verify the upload endpoint's TLS certificate");
  upload_cmd->add_option("--storage-class", upload.storage_class,
                         "Storage class of the volume to create");
  upload_cmd->add_option("--access-mode", upload.access_mode, "Access mode of the volume to create")
      ->check(
          CLI::IsMember({"ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"}));
  upload_cmd->add_option("--volume-mode", upload.volume_mode, "Volume mode of the volume to create")
      ->check(CLI::IsMember({"block", "filesystem"}));
  upload_cmd->add_flag("--force-bind", upload.force_bind,
                       "Bind at once, even with a WaitForFirstConsumer storage class");
  upload_cmd
      ->add_option("--wait-secs", upload.wait_secs,
                   "Seconds to wait for the volume to be ready, and to finish")
      ->capture_default_str()
      ->check(CLI::Range(1u, 86400u));
  upload_cmd->add_option("--uploadproxy-url", upload.uploadproxy_url,
                         "Upload endpoint (default: CDIConfig status.uploadProxyURL)");
  upload_cmd->add_option("--kubeconfig", upload.kubeconfig.path,
                         "Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)");
  upload_cmd->add_option("--context", upload.kubeconfig.context,
                         "Kubeconfig context (default: current-context)");

  app.add_subcommand("version", "Print the vdisk version")->callback([] {
    std::printf("vdisk %s (Kubernetes API v1.32)\n", vdisk::kVdiskVersion);
  });

  CLI11_PARSE(app, argc, argv);
  if (app.got_subcommand(serve_cmd)) return vdisk::cli::Serve(serve);
  if (app.got_subcommand(upload_cmd)) return vdisk::cli::ImageUpload(upload);
  return 0;
}

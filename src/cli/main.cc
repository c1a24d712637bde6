// vdisk: virtual machine disks behind a Kubernetes-compatible API, in one binary.
#include <malloc.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>

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

  app.add_subcommand("version", "Print the vdisk version")->callback([] {
    std::printf("vdisk %s (Kubernetes API v1.32)\n", vdisk::kVdiskVersion);
  });

  CLI11_PARSE(app, argc, argv);
  if (app.got_subcommand(serve_cmd)) return vdisk::cli::Serve(serve);
  return 0;
}

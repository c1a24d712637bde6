// `vdisk serve`: the API server, its controllers and its store in one process.
#pragma once

#include <string>

namespace vdisk::cli {

struct ServeOptions {
  std::string data_dir = "./vdisk-data";
  std::string listen = "127.0.0.1:8443";
  std::string node_name;               // defaults to the host name
  unsigned max_imports = 4;            // imports transferring data at once; more wait their turn
  unsigned import_stall_seconds = 60;  // an import receiving no byte this long is retried
};

// Runs until SIGTERM or SIGINT; returns the process exit code.
int Serve(const ServeOptions& options);

}  // namespace vdisk::cli

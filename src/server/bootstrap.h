// The objects every vdisk server has from its first start: its namespaces, its Node, and the
// default StorageClass and the configuration singletons (HyperConverged "kubevirt-hyperconverged"
// in openshift-cnv and the cluster-scoped CDIConfig "config"). Existing objects are left as they
// are.
#pragma once

#include <string>

#include "server/object_service.h"

namespace vdisk::server {

// The default StorageClass, served by the built-in hostpath pool "default".
inline constexpr const char* kDefaultStorageClass = "vdisk-hostpath";

Status EnsureBootstrapObjects(ObjectService& objects, const std::string& node_name);

}  // namespace vdisk::server

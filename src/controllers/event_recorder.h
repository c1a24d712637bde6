// EventRecorder: posts core/v1 Events about objects, as client-go's recorder does, so that
// `kubectl describe` and `kubectl get events` show what controllers did and why they wait.
//
// The same (object uid, reason, message) is posted once per process: reconcile loops run
// often and must not flood the store. Thread safety: all methods may be called concurrently.
#pragma once

#include <mutex>
#include <set>
#include <string>

#include "server/object_service.h"

namespace vdisk::controllers {

class EventRecorder {
 public:
  EventRecorder(server::ObjectService& objects, std::string component)
      : objects_(objects), component_(std::move(component)) {}

  // `type` is "Normal" or "Warning". Failures are logged, never returned: an event is a hint.
  void Record(const nlohmann::json& object, const std::string& type, const std::string& reason,
              const std::string& message);

 private:
  server::ObjectService& objects_;
  const std::string component_;
  std::mutex mu_;
  std::set<std::string> posted_;
};

}  // namespace vdisk::controllers

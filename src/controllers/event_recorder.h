// EventRecorder: posts core/v1 Events about objects, as client-go's recorder does, so that
// `kubectl describe` and `kubectl get events` show what controllers did and why they wait.
//
// Reconcile loops run often, so repeats are folded into one Event per (object, type, reason),
// as client-go's correlator does: the first is created with count 1; later ones raise its
// count and replace its message and lastTimestamp, written at most once per 30 s (repeats in
// between are counted and go out with the next write). The recorder remembers the last 4096
// series; a forgotten one starts a new Event.
// Thread safety: all methods may be called concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
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
  // One Event and what has been folded into it.
  struct Series {
    std::string event_name;
    int count = 1;  // occurrences so far
    std::chrono::steady_clock::time_point written_at;
  };
  void Forget();  // drops the oldest series once there are too many

  server::ObjectService& objects_;
  const std::string component_;
  std::mutex mu_;
  std::map<std::string, Series> series_;  // by "uid\ntype\nreason"
};

}  // namespace vdisk::controllers

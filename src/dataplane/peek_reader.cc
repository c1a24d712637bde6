// PeekReader (see peek_reader.h).
#include "dataplane/peek_reader.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace vdisk::dataplane {

Result<std::span<const std::byte>> PeekReader::Peek(size_t size) {
  assert(!reading_ && "Peek after Read");
  if (head_.size() < size && !in_ended_) {
    size_t have = head_.size();
    head_.resize(size);
    while (have < size) {
      Result<size_t> n = in_.Read(std::span(head_).subspan(have));
      if (!n.ok()) {
        head_.resize(have);
        return n.status();
      }
      if (*n == 0) {
        in_ended_ = true;
        break;
      }
      have += *n;
    }
    head_.resize(have);
  }
  return std::span<const std::byte>(head_.data(), std::min(size, head_.size()));
}

Result<size_t> PeekReader::Read(std::span<std::byte> out) {
  reading_ = true;
  if (replayed_ < head_.size() && !out.empty()) {
    size_t n = std::min(out.size(), head_.size() - replayed_);
    std::memcpy(out.data(), head_.data() + replayed_, n);
    replayed_ += n;
    if (replayed_ == head_.size()) {  // the head is no longer needed
      std::vector<std::byte>().swap(head_);
      replayed_ = 0;
    }
    return n;
  }
  if (in_ended_) return size_t{0};
  return in_.Read(out);
}

}  // namespace vdisk::dataplane

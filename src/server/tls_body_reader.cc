// The body reader (see tls_body_reader.h) and the bounded read-ahead under it.
#include "server/tls_body_reader.h"

#include <openssl/bio.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace vdisk::server {
namespace {

// Without read-ahead OpenSSL reads each record with two system calls, one for its 5-byte header
// and one for the rest, and each small read makes the kernel send a window update: on a 1 GiB
// upload that is 130k reads, and the acknowledgements cost the sending client as much again.
// The read-ahead below reads the socket in runs of up to kReadAheadBytes and hands OpenSSL the
// bytes it asks for from there. (OpenSSL's own read-ahead is not used: it reads as far as its
// buffer allows, into the next request, and moves its unread bytes to the buffer's start before
// every record, which for a large buffer costs more than the reads it saves.)
constexpr size_t kReadAheadBytes = 256 << 10;

// An upper bound on the encrypted bytes OpenSSL can hold without having returned their
// plaintext: one record (16 KiB of plaintext plus its header, padding and tag), with room to
// spare.
constexpr uint64_t kRecordInFlight = 64 << 10;

// The read-ahead's state, owned by the ReadAhead that installs it.
struct ReadAheadState {
  int fd = -1;
  std::unique_ptr<char[]> buffer{new char[kReadAheadBytes]};
  size_t begin = 0;  // buffer[begin, end) is read from the socket and not yet taken by OpenSSL
  size_t end = 0;
  // The body's plaintext bytes not yet returned by SSL_read. The encrypted bytes still to come
  // are at least this many, less what OpenSSL and the buffer hold, so reading that far never
  // reaches past the body.
  uint64_t body_left = 0;
};

bool RecvSome(int fd, char* out, size_t size, size_t* got) {
  while (true) {
    ssize_t n = ::recv(fd, out, size, 0);
    if (n >= 0) {
      *got = static_cast<size_t>(n);
      return true;
    }
    if (errno != EINTR) return false;  // EAGAIN: the receive timeout passed
  }
}

int ReadAheadRead(BIO* bio, char* out, size_t size, size_t* read) {
  auto& state = *static_cast<ReadAheadState*>(BIO_get_data(bio));
  *read = 0;
  if (size == 0) return 1;
  if (state.begin == state.end) {
    const uint64_t reachable =
        state.body_left > kRecordInFlight ? state.body_left - kRecordInFlight : 0;
    const size_t run = static_cast<size_t>(std::min<uint64_t>(reachable, kReadAheadBytes));
    if (run <= size) {  // near the body's end: read only what OpenSSL asks for
      if (!RecvSome(state.fd, out, size, read)) return 0;
      return *read > 0 ? 1 : 0;
    }
    state.begin = 0;
    if (!RecvSome(state.fd, state.buffer.get(), run, &state.end)) return 0;
    if (state.end == 0) return 0;  // the client closed the connection
  }
  *read = std::min(size, state.end - state.begin);
  std::memcpy(out, state.buffer.get() + state.begin, *read);
  state.begin += *read;
  return 1;
}

// The session keeps writing to its socket BIO; this one only reads.
int ReadAheadWrite(BIO*, const char*, size_t, size_t*) { return 0; }

long ReadAheadControl(BIO* bio, int command, long, void*) {
  auto& state = *static_cast<ReadAheadState*>(BIO_get_data(bio));
  switch (command) {
    case BIO_CTRL_PENDING:
      return static_cast<long>(state.end - state.begin);
    case BIO_CTRL_FLUSH:
      return 1;
    default:
      return 0;
  }
}

int ReadAheadCreate(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

const BIO_METHOD* ReadAheadMethod() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "vdisk body read");
    if (m != nullptr) {
      BIO_meth_set_read_ex(m, ReadAheadRead);
      BIO_meth_set_write_ex(m, ReadAheadWrite);
      BIO_meth_set_ctrl(m, ReadAheadControl);
      BIO_meth_set_create(m, ReadAheadCreate);
    }
    return m;
  }();
  return method;
}

// Puts the read-ahead under `ssl` for its lifetime, in place of the socket BIO it reads from,
// and puts that back afterwards. Bytes still in the buffer then are dropped: only a body read
// to its end leaves none, and a connection whose body was not read to its end is closed.
class ReadAhead {
 public:
  ReadAhead(SSL* ssl, int fd) : ssl_(ssl), socket_bio_(SSL_get_rbio(ssl)) {
    state_.fd = fd;
    const BIO_METHOD* method = ReadAheadMethod();
    bio_ = method != nullptr ? BIO_new(method) : nullptr;
    if (bio_ == nullptr || socket_bio_ == nullptr) return;
    BIO_set_data(bio_, &state_);
    BIO_up_ref(socket_bio_);  // held for the restore: SSL_set0_rbio drops the session's own
    SSL_set0_rbio(ssl_, bio_);
  }
  ~ReadAhead() {
    if (installed()) {
      SSL_set0_rbio(ssl_, socket_bio_);  // hands the reference back and frees bio_
    } else if (bio_ != nullptr) {
      BIO_free(bio_);
    }
  }
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  bool installed() const { return bio_ != nullptr && SSL_get_rbio(ssl_) == bio_; }
  void set_body_left(uint64_t bytes) { state_.body_left = bytes; }
  size_t buffered() const { return state_.end - state_.begin; }

 private:
  SSL* ssl_;
  BIO* socket_bio_;
  BIO* bio_ = nullptr;
  ReadAheadState state_;
};

constexpr size_t kTlsBodyRun = 1 << 20;

}  // namespace

bool ReadTlsBody(SSL* ssl, uint64_t length, std::chrono::seconds read_timeout,
                 const std::function<bool(std::string_view)>& on_data) {
  const int fd = SSL_get_fd(ssl);
  timeval timeout{static_cast<time_t>(read_timeout.count()), 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ReadAhead read_ahead(ssl, fd);
  std::unique_ptr<char[]> run(new char[kTlsBodyRun]);
  while (length > 0) {
    size_t filled = 0;
    const size_t want = static_cast<size_t>(std::min<uint64_t>(length, kTlsBodyRun));
    while (filled < want) {  // one TLS record (at most 16 KiB) per read
      read_ahead.set_body_left(length - filled);
      size_t got = 0;
      if (SSL_read_ex(ssl, run.get() + filled, want - filled, &got) != 1) return false;
      filled += got;
    }
    length -= filled;
    if (!on_data({run.get(), filled})) return false;
  }
  // Bytes read ahead past the body would be lost to the next request: the bound above rules
  // them out, and a connection that had some is closed rather than misread.
  return read_ahead.buffered() == 0;
}

}  // namespace vdisk::server

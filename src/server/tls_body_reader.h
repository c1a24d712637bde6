// Reads a request body of known length straight from a connection's TLS session, for the raw
// routes (uploads), whose bodies are large and arrive as fast as the client can encrypt them.
// cpp-httplib would read such a body 4 KiB at a time and poll the socket before every read. It
// parses the request head byte by byte, so once it hands the request over, the session is
// positioned at the body's first byte. The socket is blocking; SO_RCVTIMEO bounds each wait.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>

namespace vdisk::server {

// Reads `length` bytes from `ssl`, which must be positioned at the body's first byte, and hands
// them to `on_data` in runs of up to 1 MiB. False when the client went away or stopped sending
// for `read_timeout`, or `on_data` returned false. After a true return the session is positioned
// at the byte after the body, and nothing of what follows it has been taken from the socket: a
// server that polls the socket before reading the next request still sees that request.
bool ReadTlsBody(SSL* ssl, uint64_t length, std::chrono::seconds read_timeout,
                 const std::function<bool(std::string_view)>& on_data);

}  // namespace vdisk::server

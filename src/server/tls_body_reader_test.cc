#include "server/tls_body_reader.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "server/pki.h"

namespace vdisk::server {
namespace {

namespace fs = std::filesystem;

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};

// A TLS session over a socket pair: the test reads as the server, `client` writes.
class TlsBodyReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::signal(SIGPIPE, SIG_IGN);  // a write to a closed socket fails instead
    dir_ = fs::temp_directory_path() / ("vdisk-tls-body-" + std::to_string(::getpid()));
    auto pki = EnsureServingPki(dir_ / "pki", {"localhost"});
    ASSERT_TRUE(pki.ok()) << pki.status().message();
    server_ctx_.reset(SSL_CTX_new(TLS_server_method()));
    ASSERT_EQ(SSL_CTX_use_certificate_chain_file(server_ctx_.get(), pki->server_cert.c_str()), 1);
    ASSERT_EQ(
        SSL_CTX_use_PrivateKey_file(server_ctx_.get(), pki->server_key.c_str(), SSL_FILETYPE_PEM),
        1);
    client_ctx_.reset(SSL_CTX_new(TLS_client_method()));
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds_), 0);
    server_.reset(SSL_new(server_ctx_.get()));
    client_.reset(SSL_new(client_ctx_.get()));
    SSL_set_fd(server_.get(), fds_[0]);
    SSL_set_fd(client_.get(), fds_[1]);
    std::thread connect([&] { SSL_connect(client_.get()); });
    ASSERT_EQ(SSL_accept(server_.get()), 1);
    connect.join();
  }
  void TearDown() override {
    server_.reset();
    client_.reset();
    ::close(fds_[0]);
    ::close(fds_[1]);
    fs::remove_all(dir_);
  }

  // Writes `data` in records of up to 16 KiB, as an uploading client does. False when the
  // reading side went away.
  bool ClientWrites(const std::string& data) {
    size_t written = 0;
    while (written < data.size()) {
      size_t n = 0;
      if (SSL_write_ex(client_.get(), data.data() + written, data.size() - written, &n) != 1) {
        return false;
      }
      written += n;
    }
    return true;
  }

  fs::path dir_;
  std::unique_ptr<SSL_CTX, SslCtxFree> server_ctx_, client_ctx_;
  std::unique_ptr<SSL, SslFree> server_, client_;
  int fds_[2] = {-1, -1};
};

std::string RandomBytes(size_t size) {
  std::mt19937_64 random(42);
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(random());
  return bytes;
}

TEST_F(TlsBodyReaderTest, ReadsTheBodyAndLeavesTheNextRequestInTheSocket) {
  const std::string body = RandomBytes((5 << 20) + 12345);
  const std::string next = "GET /next HTTP/1.1\r\n\r\n";
  bool sent = false;
  std::thread client([&] { sent = ClientWrites(body) && ClientWrites(next); });
  std::string received;
  ASSERT_TRUE(
      ReadTlsBody(server_.get(), body.size(), std::chrono::seconds(10), [&](std::string_view data) {
        received.append(data);
        return true;
      }));
  client.join();
  EXPECT_TRUE(sent);
  EXPECT_EQ(received.size(), body.size());
  EXPECT_TRUE(received == body);
  // What follows the body is still in the socket, where a server polling it finds it.
  EXPECT_EQ(SSL_pending(server_.get()), 0);
  pollfd readable{fds_[0], POLLIN, 0};
  EXPECT_EQ(::poll(&readable, 1, 0), 1);
  std::string rest(next.size(), '\0');
  size_t got = 0;
  ASSERT_EQ(SSL_read_ex(server_.get(), rest.data(), rest.size(), &got), 1);
  EXPECT_EQ(rest.substr(0, got), next);
}

TEST_F(TlsBodyReaderTest, AClientThatStopsMidBodyIsAFailure) {
  std::thread client([&] {
    ClientWrites(RandomBytes(1 << 20));
    ::shutdown(fds_[1], SHUT_WR);
  });
  size_t received = 0;
  EXPECT_FALSE(
      ReadTlsBody(server_.get(), 4 << 20, std::chrono::seconds(10), [&](std::string_view data) {
        received += data.size();
        return true;
      }));
  client.join();
  EXPECT_LE(received, size_t{1} << 20);
}

TEST_F(TlsBodyReaderTest, AHandlerThatRefusesStopsTheRead) {
  std::thread client([&] { ClientWrites(RandomBytes(3 << 20)); });
  int calls = 0;
  EXPECT_FALSE(ReadTlsBody(server_.get(), 3 << 20, std::chrono::seconds(10),
                           [&](std::string_view) { return ++calls < 2; }));
  EXPECT_EQ(calls, 2);
  ::shutdown(fds_[0], SHUT_RDWR);  // the client may still be writing what was not read
  client.join();
}

}  // namespace
}  // namespace vdisk::server

// Tests of the HTTP transport against tests/tools/fault_http_server.py, which serves a file of
// random bytes with faults chosen by the URL path (see its header comment), over HTTP and HTTPS.
#include "transport/http_source.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "transport/http_error.h"
#include "transport/http_response.h"
#include "transport/retry.h"

extern char** environ;

namespace vdisk::transport {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const fs::path kFaultServer =
    fs::path(__FILE__).parent_path() / "../../tests/tools/fault_http_server.py";

std::string Sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  std::string hex;
  char byte[3];
  for (unsigned int i = 0; i < length; ++i) {
    std::snprintf(byte, sizeof byte, "%02x", digest[i]);
    hex += byte;
  }
  return hex;
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "vdisk-transport-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// fault_http_server.py serving one file; killed when destroyed.
class FaultServer {
 public:
  explicit FaultServer(const fs::path& file, std::vector<std::string> extra_args = {}) {
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) return;
    std::vector<std::string> args = {"python3", kFaultServer.string(), file.string()};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
    if (posix_spawnp(&pid_, "python3", &actions, nullptr, argv.data(), environ) != 0) pid_ = 0;
    posix_spawn_file_actions_destroy(&actions);
    close(pipe_fds[1]);
    std::string line;
    char c;
    while (read(pipe_fds[0], &c, 1) == 1 && c != '\n') line += c;
    close(pipe_fds[0]);
    if (line.rfind("PORT ", 0) == 0) port_ = std::stoi(line.substr(5));
  }
  ~FaultServer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  int port() const { return port_; }

 private:
  pid_t pid_ = 0;
  int port_ = 0;
};

Result<std::string> ReadAll(io::Reader& reader) {
  std::string data;
  std::vector<std::byte> buffer(1 << 20);
  for (;;) {
    VDISK_ASSIGN_OR_RETURN(size_t n, reader.Read(buffer));
    if (n == 0) return data;
    data.append(reinterpret_cast<const char*>(buffer.data()), n);
  }
}

class HttpSourceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    // Not a multiple of any buffer size, so that every boundary case is met somewhere.
    content_ = new std::string(4 * 1024 * 1024 + 12345, '\0');
    std::mt19937_64 random(42);
    for (char& c : *content_) c = static_cast<char>(random());
    std::ofstream(dir_->path() / "disk.img", std::ios::binary) << *content_;
    server_ = new FaultServer(dir_->path() / "disk.img");
    ASSERT_NE(server_->port(), 0) << "the fault server did not start";
  }
  static void TearDownTestSuite() {
    delete server_;
    delete content_;
    delete dir_;
  }

  static std::string Url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }

  // Options with quick retries that count the retries in retries_.
  HttpOptions Options(const std::string& path) {
    HttpOptions options;
    options.url = Url(path);
    options.initial_backoff = 10ms;
    options.max_backoff = 100ms;
    options.on_retry = [this](const Status& cause) {
      EXPECT_TRUE(IsTransient(cause)) << cause.message();
      ++retries_;
    };
    return options;
  }

  // Opens `options` and reads the whole stream, expecting the file's bytes.
  void ExpectStreamEqualsFile(HttpOptions options) {
    auto source = HttpSource::Open(std::move(options));
    ASSERT_TRUE(source.ok()) << source.status().message();
    auto stream = (*source)->OpenStream();
    ASSERT_TRUE(stream.ok()) << stream.status().message();
    auto data = ReadAll(**stream);
    ASSERT_TRUE(data.ok()) << data.status().message();
    EXPECT_EQ(data->size(), content_->size());
    EXPECT_EQ(Sha256(*data), Sha256(*content_));
  }

  static TempDir* dir_;
  static std::string* content_;
  static FaultServer* server_;
  std::atomic<int> retries_{0};
};

TempDir* HttpSourceTest::dir_ = nullptr;
std::string* HttpSourceTest::content_ = nullptr;
FaultServer* HttpSourceTest::server_ = nullptr;

TEST_F(HttpSourceTest, ProbeFindsSizeAndRanges) {
  auto source = HttpSource::Open(Options("/ok/probe.img"));
  ASSERT_TRUE(source.ok()) << source.status().message();
  EXPECT_EQ((*source)->size(), content_->size());
  EXPECT_TRUE((*source)->supports_ranges());
}

TEST_F(HttpSourceTest, StreamEqualsFile) {
  ExpectStreamEqualsFile(Options("/ok/stream.img"));
  EXPECT_EQ(retries_, 0);
}

TEST_F(HttpSourceTest, RandomAccessEqualsFile) {
  auto source = HttpSource::Open(Options("/ok/random.img"));
  ASSERT_TRUE(source.ok()) << source.status().message();
  auto reader = (*source)->OpenRandomAccess();
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  ASSERT_EQ((*reader)->size(), content_->size());

  auto read_some = [&](uint64_t seed) {
    std::mt19937_64 random(seed);
    for (int i = 0; i < 40; ++i) {
      size_t length = 1 + random() % (256 * 1024);
      uint64_t offset = random() % (content_->size() - length + 1);
      std::string out(length, '\0');
      Status status = (*reader)->ReadAt(offset, std::as_writable_bytes(std::span(out)));
      ASSERT_TRUE(status.ok()) << status.message();
      ASSERT_EQ(out, content_->substr(offset, length)) << "at " << offset;
    }
  };
  std::vector<std::thread> threads;
  for (uint64_t seed = 1; seed <= 4; ++seed) threads.emplace_back(read_some, seed);
  for (std::thread& thread : threads) thread.join();

  std::string whole(content_->size(), '\0');
  ASSERT_TRUE((*reader)->ReadAt(0, std::as_writable_bytes(std::span(whole))).ok());
  EXPECT_EQ(Sha256(whole), Sha256(*content_));

  std::string past_end(2, '\0');
  Status status =
      (*reader)->ReadAt(content_->size() - 1, std::as_writable_bytes(std::span(past_end)));
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.message();
  EXPECT_TRUE((*reader)->ReadAt(content_->size(), {}).ok());
}

TEST_F(HttpSourceTest, DroppedConnectionsResumeByRange) {
  ExpectStreamEqualsFile(Options("/drop/1048576/2/stream.img"));
  EXPECT_EQ(retries_, 2);
}

TEST_F(HttpSourceTest, RandomAccessRecoversFromDrops) {
  auto source = HttpSource::Open(Options("/drop/100000/3/random.img"));
  ASSERT_TRUE(source.ok()) << source.status().message();
  auto reader = (*source)->OpenRandomAccess();
  ASSERT_TRUE(reader.ok());
  std::string out(1 << 20, '\0');
  Status status = (*reader)->ReadAt(12345, std::as_writable_bytes(std::span(out)));
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(out, content_->substr(12345, out.size()));
  EXPECT_EQ(retries_, 3);
}

TEST_F(HttpSourceTest, ServiceUnavailableIsRetried) {
  ExpectStreamEqualsFile(Options("/503/2/stream.img"));
  EXPECT_EQ(retries_, 2);
}

TEST_F(HttpSourceTest, RetriesEndWithUnavailable) {
  HttpOptions options = Options("/503/100/exhausted.img");
  options.max_attempts = 3;
  auto source = HttpSource::Open(std::move(options));
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(source.status().message().find("HTTP 503 Service Unavailable"), std::string::npos)
      << source.status().message();
  EXPECT_EQ(retries_, 2);
}

TEST_F(HttpSourceTest, StallIsDetectedAndResumed) {
  HttpOptions options = Options("/stall/1048576/20/1/stream.img");
  options.stall_timeout = 1s;
  auto start = Clock::now();
  ExpectStreamEqualsFile(std::move(options));
  EXPECT_EQ(retries_, 1);
  EXPECT_LT(Clock::now() - start, 10s);  // far less than the server's 20 s pause
}

TEST_F(HttpSourceTest, ShortBodyIsResumed) {
  ExpectStreamEqualsFile(Options("/wrong-length/1/stream.img"));
  EXPECT_EQ(retries_, 1);
}

TEST_F(HttpSourceTest, ServerWithoutRangesStillStreams) {
  auto source = HttpSource::Open(Options("/no-range/probe.img"));
  ASSERT_TRUE(source.ok()) << source.status().message();
  EXPECT_FALSE((*source)->supports_ranges());
  EXPECT_EQ((*source)->size(), content_->size());
  auto reader = (*source)->OpenRandomAccess();
  EXPECT_EQ(reader.status().code(), StatusCode::kInvalidArgument);

  ExpectStreamEqualsFile(Options("/no-range/stream.img"));
}

TEST_F(HttpSourceTest, DropWithoutRangesIsUnavailable) {
  // The probe's 0-0 GET is answered with the full body and takes the first drop.
  auto source = HttpSource::Open(Options("/no-range/drop/1048576/2/stream.img"));
  ASSERT_TRUE(source.ok()) << source.status().message();
  auto stream = (*source)->OpenStream();
  ASSERT_TRUE(stream.ok());
  auto data = ReadAll(**stream);
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(data.status().message().find("does not support byte ranges"), std::string::npos)
      << data.status().message();
}

TEST_F(HttpSourceTest, NotFoundNamesTheUrlWithoutCredentials) {
  HttpOptions options = Options("/404/missing.img?signature=topsecret");
  options.url.replace(options.url.find("127.0.0.1"), 0, "user:hunter2@");
  auto source = HttpSource::Open(std::move(options));
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(source.status().message(), "HTTP 404 Not Found from " + Url("/404/missing.img"));
  EXPECT_EQ(retries_, 0);
}

TEST_F(HttpSourceTest, BasicAuth) {
  auto anonymous = HttpSource::Open(Options("/auth/user/pass/a.img"));
  EXPECT_EQ(anonymous.status().code(), StatusCode::kUnauthorized);

  HttpOptions wrong = Options("/auth/user/pass/b.img");
  wrong.basic_auth = {"user", "wrong-secret"};
  auto refused = HttpSource::Open(std::move(wrong));
  ASSERT_EQ(refused.status().code(), StatusCode::kUnauthorized);
  EXPECT_EQ(refused.status().message().find("wrong-secret"), std::string::npos);

  HttpOptions right = Options("/auth/user/pass/c.img");
  right.basic_auth = {"user", "pass"};
  ExpectStreamEqualsFile(std::move(right));
}

TEST_F(HttpSourceTest, ExtraHeaders) {
  auto without = HttpSource::Open(Options("/header/X-Token/abc/a.img"));
  EXPECT_EQ(without.status().code(), StatusCode::kInvalidArgument);

  HttpOptions with = Options("/header/X-Token/abc/b.img");
  with.extra_headers = {"X-Token: abc"};
  ExpectStreamEqualsFile(std::move(with));

  const std::vector<std::string> bad_headers = {"X-Token: abc\r\nX-Evil: 1", "no colon",
                                                ": empty name", std::string("X-Nul: a\0b", 10),
                                                "Range: bytes=0-"};
  for (const std::string& bad : bad_headers) {
    HttpOptions options = Options("/ok/x.img");
    options.extra_headers = {"X-Fine: 1", bad};
    auto source = HttpSource::Open(std::move(options));
    EXPECT_EQ(source.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(source.status().message().find("extra header 2"), std::string::npos)
        << source.status().message();
  }
}

TEST_F(HttpSourceTest, HeadRefusedFallsBackToRangeGet) {
  auto source = HttpSource::Open(Options("/head-405/probe.img"));
  ASSERT_TRUE(source.ok()) << source.status().message();
  EXPECT_EQ((*source)->size(), content_->size());
  EXPECT_TRUE((*source)->supports_ranges());
}

TEST_F(HttpSourceTest, Redirects) {
  ExpectStreamEqualsFile(Options("/redirect/5/ok/stream.img"));

  auto too_many = HttpSource::Open(Options("/redirect/6/ok/x.img"));
  EXPECT_EQ(too_many.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(too_many.status().message().find("redirect"), std::string::npos);

  auto ftp = HttpSource::Open(Options("/redirect-ftp/x.img"));
  EXPECT_EQ(ftp.status().code(), StatusCode::kInvalidArgument) << ftp.status().message();
}

TEST_F(HttpSourceTest, RejectsOtherSchemesAndBadOptions) {
  HttpOptions ftp;
  ftp.url = "ftp://example.com/disk.img";
  auto source = HttpSource::Open(ftp);
  EXPECT_EQ(source.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(source.status().message().find("\"ftp\""), std::string::npos);

  HttpOptions none;
  none.url = "example.com/disk.img";
  EXPECT_EQ(HttpSource::Open(none).status().code(), StatusCode::kInvalidArgument);

  HttpOptions no_attempts = Options("/ok/x.img");
  no_attempts.max_attempts = 0;
  EXPECT_EQ(HttpSource::Open(no_attempts).status().code(), StatusCode::kInvalidArgument);

  HttpOptions bad_ca = Options("/ok/x.img");
  bad_ca.ca_bundle_pem = "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n";
  EXPECT_EQ(HttpSource::Open(bad_ca).status().code(), StatusCode::kInvalidArgument);
  bad_ca.ca_bundle_pem = "no certificate here";
  EXPECT_EQ(HttpSource::Open(bad_ca).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(HttpSourceTest, ConnectionRefusedIsTransient) {
  HttpOptions options = Options("/ok/x.img");
  options.url = "http://127.0.0.1:1/x.img";  // nothing listens on port 1
  options.max_attempts = 2;
  auto source = HttpSource::Open(std::move(options));
  EXPECT_EQ(source.status().code(), StatusCode::kUnavailable) << source.status().message();
  EXPECT_EQ(retries_, 1);
}

TEST_F(HttpSourceTest, StopCancelsAReadPromptly) {
  std::stop_source stop;
  HttpOptions options = Options("/stall/100000/30/1/cancel.img");
  options.stop = stop.get_token();
  auto source = HttpSource::Open(std::move(options));
  ASSERT_TRUE(source.ok()) << source.status().message();
  auto stream = (*source)->OpenStream();
  ASSERT_TRUE(stream.ok());

  std::jthread stopper([&] {
    std::this_thread::sleep_for(300ms);
    stop.request_stop();
  });
  auto data = ReadAll(**stream);  // blocks at byte 100000 until stopped
  auto stopped_at = Clock::now();
  ASSERT_FALSE(data.ok());
  EXPECT_TRUE(IsCancelled(data.status())) << data.status().message();
  stream->reset();
  EXPECT_LT(Clock::now() - stopped_at, 1s);
}

TEST_F(HttpSourceTest, StopCancelsABackoffPromptly) {
  std::stop_source stop;
  HttpOptions options = Options("/503/100/cancel-backoff.img");
  options.initial_backoff = options.max_backoff = 60s;
  options.stop = stop.get_token();
  std::jthread stopper([&] {
    std::this_thread::sleep_for(300ms);
    stop.request_stop();
  });
  auto start = Clock::now();
  auto source = HttpSource::Open(std::move(options));
  EXPECT_TRUE(IsCancelled(source.status())) << source.status().message();
  EXPECT_LT(Clock::now() - start, 5s);
}

TEST_F(HttpSourceTest, DestroyingAStreamStopsItsTransfer) {
  auto source = HttpSource::Open(Options("/stall/100000/30/1/abandon.img"));
  ASSERT_TRUE(source.ok()) << source.status().message();
  auto stream = (*source)->OpenStream();
  ASSERT_TRUE(stream.ok());
  std::vector<std::byte> buffer(1000);
  ASSERT_TRUE((*stream)->Read(buffer).ok());
  auto start = Clock::now();
  stream->reset();
  EXPECT_LT(Clock::now() - start, 1s);
}

// HTTPS with a private CA made by the openssl command-line tool.
TEST_F(HttpSourceTest, HttpsWithPrivateCa) {
  if (std::system("openssl version > /dev/null 2>&1") != 0) GTEST_SKIP() << "no openssl CLI";
  TempDir tls;
  const std::string d = tls.path().string();
  std::ofstream(tls.path() / "server.ext") << "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                              "basicConstraints=CA:FALSE\n";
  std::string commands =
      "cd " + d +
      " && (openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
      " -keyout ca.key -out ca.pem -days 2 -subj /CN=vdisk-test-ca"
      " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
      " -keyout server.key -out server.csr -subj /CN=127.0.0.1"
      " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
      " -out server.pem -days 2 -extfile server.ext) > openssl.log 2>&1";
  ASSERT_EQ(std::system(commands.c_str()), 0);
  FaultServer https(dir_->path() / "disk.img",
                    {"--tls-cert", d + "/server.pem", "--tls-key", d + "/server.key"});
  ASSERT_NE(https.port(), 0);
  std::string url = "https://127.0.0.1:" + std::to_string(https.port()) + "/ok/disk.img";

  HttpOptions untrusted = Options("/");
  untrusted.url = url;
  auto refused = HttpSource::Open(untrusted);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("certificate of " + url + " could not be verified"),
            std::string::npos)
      << refused.status().message();
  EXPECT_NE(refused.status().message().find("certConfigMap"), std::string::npos);
  EXPECT_EQ(retries_, 0);

  std::ifstream ca_file(tls.path() / "ca.pem");
  HttpOptions trusted = untrusted;
  trusted.ca_bundle_pem.assign(std::istreambuf_iterator<char>(ca_file), {});
  ExpectStreamEqualsFile(trusted);
  auto source = HttpSource::Open(trusted);
  ASSERT_TRUE(source.ok());
  auto reader = (*source)->OpenRandomAccess();
  ASSERT_TRUE(reader.ok());
  std::string out(100000, '\0');
  ASSERT_TRUE((*reader)->ReadAt(777, std::as_writable_bytes(std::span(out))).ok());
  EXPECT_EQ(out, content_->substr(777, out.size()));
}

TEST(ContentRangeTest, Parses) {
  auto range = ParseContentRange("bytes 0-0/100");
  ASSERT_TRUE(range);
  EXPECT_TRUE(range->satisfied);
  EXPECT_EQ(range->first, 0u);
  EXPECT_EQ(range->last, 0u);
  EXPECT_EQ(range->total, 100u);
  range = ParseContentRange("Bytes 5-9/*");
  ASSERT_TRUE(range);
  EXPECT_FALSE(range->total);
  range = ParseContentRange("bytes */42");
  ASSERT_TRUE(range);
  EXPECT_FALSE(range->satisfied);
  EXPECT_EQ(range->total, 42u);
  for (const char* bad : {"bytes 5-4/10", "bytes 0-10/10", "bytes -1-2/10", "items 0-1/2",
                          "bytes 0-1", "bytes */*", "bytes 0-99999999999999999999/1", ""}) {
    EXPECT_FALSE(ParseContentRange(bad)) << bad;
  }
}

TEST(RedactUrlTest, DropsCredentialsAndQuery) {
  EXPECT_EQ(RedactUrl("https://key:secret@example.com:8443/a/b.img?X-Amz-Signature=s#f"),
            "https://example.com:8443/a/b.img");
  EXPECT_EQ(RedactUrl("http://example.com/disk.img"), "http://example.com/disk.img");
}

TEST(ClassifyTransferTest, Codes) {
  auto classify = [](long status) {
    TransferOutcome outcome;
    outcome.end = TransferEnd::kErrorStatus;
    outcome.head.status = status;
    return ClassifyTransfer(outcome, "http://h/x", 30s).code();
  };
  EXPECT_EQ(classify(404), StatusCode::kNotFound);
  EXPECT_EQ(classify(410), StatusCode::kNotFound);
  EXPECT_EQ(classify(401), StatusCode::kUnauthorized);
  EXPECT_EQ(classify(403), StatusCode::kForbidden);
  EXPECT_EQ(classify(400), StatusCode::kInvalidArgument);
  EXPECT_EQ(classify(429), StatusCode::kUnavailable);
  EXPECT_EQ(classify(500), StatusCode::kUnavailable);
  EXPECT_EQ(classify(503), StatusCode::kUnavailable);

  TransferOutcome dns;
  dns.curl_code = CURLE_COULDNT_RESOLVE_HOST;
  EXPECT_EQ(ClassifyTransfer(dns, "http://h/x", 30s).code(), StatusCode::kUnavailable);
  TransferOutcome reset;
  reset.curl_code = CURLE_RECV_ERROR;
  EXPECT_EQ(ClassifyTransfer(reset, "http://h/x", 30s).code(), StatusCode::kUnavailable);
  TransferOutcome stalled;
  stalled.end = TransferEnd::kStalled;
  EXPECT_EQ(ClassifyTransfer(stalled, "http://h/x", 30s).message(),
            "no data from http://h/x for 30 s");
}

}  // namespace
}  // namespace vdisk::transport

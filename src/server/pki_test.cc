#include "server/pki.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace vdisk::server {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

// ---------------------------------------------------------------------------------------------
// Helpers.

template <auto Fn>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Fn(p);
  }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free>>;
using StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;
using NamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>>;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Spit(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
}

X509Ptr ParseCert(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

X509Ptr LoadCert(const fs::path& p) { return ParseCert(Slurp(p)); }

PkeyPtr LoadKey(const fs::path& p) {
  std::string pem = Slurp(p);
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

std::string ToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string ToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

// "DNS:name" / "IP:addr" for each subjectAltName entry.
std::vector<std::string> Sans(X509* cert) {
  std::vector<std::string> out;
  NamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
    int type = 0;
    auto* value = static_cast<ASN1_STRING*>(GENERAL_NAME_get0_value(gn, &type));
    const unsigned char* data = ASN1_STRING_get0_data(value);
    int len = ASN1_STRING_length(value);
    if (type == GEN_DNS) {
      out.push_back("DNS:" + std::string(reinterpret_cast<const char*>(data), len));
    } else if (type == GEN_IPADD) {
      char text[INET6_ADDRSTRLEN];
      inet_ntop(len == 4 ? AF_INET : AF_INET6, data, text, sizeof(text));
      out.push_back(std::string("IP:") + text);
    }
  }
  return out;
}

// Verifies `leaf` against `ca` alone as a TLS server certificate, optionally for a host or IP.
int VerifyChain(X509* ca, X509* leaf, const std::string& host = "", const std::string& ip = "") {
  StorePtr store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), ca);
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), leaf, nullptr);
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  if (!host.empty()) X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
  if (!ip.empty()) X509_VERIFY_PARAM_set1_ip_asc(param, ip.c_str());
  if (X509_verify_cert(ctx.get()) == 1) return X509_V_OK;
  return X509_STORE_CTX_get_error(ctx.get());
}

int64_t ToUnix(const ASN1_TIME* t) {
  struct tm tm {};
  ASN1_TIME_to_tm(t, &tm);
  return static_cast<int64_t>(timegm(&tm));
}

double DaysLeft(X509* cert) {
  return static_cast<double>(ToUnix(X509_get0_notAfter(cert)) - std::time(nullptr)) / 86400.0;
}

std::string Serial(X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  char* hex = BN_bn2hex(bn);
  std::string out = hex;
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

mode_t Mode(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

CommandResult RunCommand(const std::string& command) {
  CommandResult r;
  FILE* f = popen((command + " 2>&1").c_str(), "r");
  if (f == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) r.output.append(buf, n);
  int status = pclose(f);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

constexpr const char* kKubectl = "/usr/bin/kubectl";

class PkiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "vdisk-pki-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    pki_dir_ = dir_ / "pki";
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(dir_, ec);
  }

  // kubectl with no environment leaking in (home, proxies, KUBECONFIG).
  std::string Kubectl(const fs::path& kubeconfig, const std::string& args) {
    return "env -u KUBECONFIG -u HTTPS_PROXY -u https_proxy -u HTTP_PROXY -u http_proxy HOME=" +
           dir_.string() + " " + kKubectl + " --kubeconfig " + kubeconfig.string() + " " + args;
  }

  fs::path dir_;
  fs::path pki_dir_;
  const std::vector<std::string> hosts_ = {"localhost", "127.0.0.1", "::1", "vdisk-host"};
};

// ---------------------------------------------------------------------------------------------
// EnsureServingPki.

TEST_F(PkiTest, CreatesEverythingOnFirstCall) {
  Result<ServingPki> pki = EnsureServingPki(pki_dir_, hosts_);
  ASSERT_TRUE(pki.ok()) << pki.status().message();

  EXPECT_EQ(pki->ca_cert, pki_dir_ / "ca.crt");
  EXPECT_EQ(pki->server_cert, pki_dir_ / "server.crt");
  EXPECT_EQ(pki->server_key, pki_dir_ / "server.key");
  EXPECT_EQ(pki->ca_pem, Slurp(pki_dir_ / "ca.crt"));
  EXPECT_THAT(pki->ca_pem, HasSubstr("-----BEGIN CERTIFICATE-----"));

  // 256 random bits, hex.
  EXPECT_EQ(pki->admin_token.size(), 64u);
  EXPECT_EQ(pki->admin_token.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(Slurp(pki_dir_ / "admin.token"), pki->admin_token + "\n");

  // Private material is private.
  EXPECT_EQ(Mode(pki_dir_), 0700u);
  EXPECT_EQ(Mode(pki_dir_ / "ca.key"), 0600u);
  EXPECT_EQ(Mode(pki_dir_ / "server.key"), 0600u);
  EXPECT_EQ(Mode(pki_dir_ / "admin.token"), 0600u);
  EXPECT_EQ(Mode(pki_dir_ / "ca.crt"), 0644u);
  EXPECT_EQ(Mode(pki_dir_ / "server.crt"), 0644u);

  // No temporary files are left behind.
  for (const auto& entry : fs::directory_iterator(pki_dir_)) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
  }
}

TEST_F(PkiTest, CaCertificateIsAValidCa) {
  Result<ServingPki> pki = EnsureServingPki(pki_dir_, hosts_);
  ASSERT_TRUE(pki.ok()) << pki.status().message();
  X509Ptr ca = LoadCert(pki->ca_cert);
  ASSERT_TRUE(ca);
  PkeyPtr ca_key = LoadKey(pki_dir_ / "ca.key");
  ASSERT_TRUE(ca_key);

  EXPECT_EQ(X509_check_private_key(ca.get(), ca_key.get()), 1);
  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  EXPECT_TRUE(X509_get_key_usage(ca.get()) & KU_KEY_CERT_SIGN);
  EXPECT_EQ(X509_get_version(ca.get()), X509_VERSION_3);
  EXPECT_TRUE(EVP_PKEY_is_a(ca_key.get(), "EC"));
  // Self-signed.
  EXPECT_EQ(X509_verify(ca.get(), ca_key.get()), 1);
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(ca.get()), X509_get_issuer_name(ca.get())), 0);
  // Valid 10 years from about now.
  EXPECT_NEAR(DaysLeft(ca.get()), 3652, 2);
  EXPECT_LE(X509_cmp_current_time(X509_get0_notBefore(ca.get())), 0);
}

TEST_F(PkiTest, ServerCertificateChainsToCaAndCoversHosts) {
  Result<ServingPki> pki = EnsureServingPki(pki_dir_, hosts_);
  ASSERT_TRUE(pki.ok()) << pki.status().message();
  X509Ptr ca = LoadCert(pki->ca_cert);
  X509Ptr cert = LoadCert(pki->server_cert);
  PkeyPtr key = LoadKey(pki->server_key);
  ASSERT_TRUE(ca && cert && key);

  EXPECT_EQ(VerifyChain(ca.get(), cert.get()), X509_V_OK);
  EXPECT_EQ(VerifyChain(ca.get(), cert.get(), "localhost"), X509_V_OK);
  EXPECT_EQ(VerifyChain(ca.get(), cert.get(), "vdisk-host"), X509_V_OK);
  EXPECT_EQ(VerifyChain(ca.get(), cert.get(), "", "127.0.0.1"), X509_V_OK);
  EXPECT_EQ(VerifyChain(ca.get(), cert.get(), "", "::1"), X509_V_OK);
  EXPECT_EQ(VerifyChain(ca.get(), cert.get(), "example.com"), X509_V_ERR_HOSTNAME_MISMATCH);
  EXPECT_EQ(VerifyChain(ca.get(), cert.get(), "", "10.0.0.1"), X509_V_ERR_IP_ADDRESS_MISMATCH);

  EXPECT_THAT(Sans(cert.get()),
              UnorderedElementsAre("DNS:localhost", "IP:127.0.0.1", "IP:::1", "DNS:vdisk-host"));
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
  EXPECT_EQ(X509_check_ca(cert.get()), 0);
  EXPECT_TRUE(X509_get_extended_key_usage(cert.get()) & XKU_SSL_SERVER);
  EXPECT_TRUE(X509_get_key_usage(cert.get()) & KU_DIGITAL_SIGNATURE);
  EXPECT_NEAR(DaysLeft(cert.get()), 365, 1);
  // A positive serial of at most 20 octets (RFC 5280), which Go insists on.
  EXPECT_EQ(Serial(cert.get()).size(), 40u);
  EXPECT_NE(Serial(cert.get())[0], '-');
  EXPECT_NE(Serial(cert.get()), Serial(ca.get()));
}

TEST_F(PkiTest, SecondCallReusesEverything) {
  Result<ServingPki> first = EnsureServingPki(pki_dir_, hosts_);
  ASSERT_TRUE(first.ok()) << first.status().message();
  std::string ca_key = Slurp(pki_dir_ / "ca.key");
  std::string server_crt = Slurp(pki_dir_ / "server.crt");
  std::string server_key = Slurp(pki_dir_ / "server.key");

  // The same hosts in another order and spelling need no new certificate.
  Result<ServingPki> second =
      EnsureServingPki(pki_dir_, {"[::1]", "LOCALHOST", "vdisk-host.", "127.0.0.1"});
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(second->ca_pem, first->ca_pem);
  EXPECT_EQ(second->admin_token, first->admin_token);
  EXPECT_EQ(Slurp(pki_dir_ / "ca.key"), ca_key);
  EXPECT_EQ(Slurp(pki_dir_ / "server.crt"), server_crt);
  EXPECT_EQ(Slurp(pki_dir_ / "server.key"), server_key);
  // A subset of the hosts is covered too.
  Result<ServingPki> third = EnsureServingPki(pki_dir_, {"localhost"});
  ASSERT_TRUE(third.ok()) << third.status().message();
  EXPECT_EQ(Slurp(pki_dir_ / "server.crt"), server_crt);
}

TEST_F(PkiTest, NewHostIssuesNewServerCertificateFromSameCa) {
  Result<ServingPki> first = EnsureServingPki(pki_dir_, hosts_);
  ASSERT_TRUE(first.ok()) << first.status().message();
  X509Ptr old_cert = LoadCert(pki_dir_ / "server.crt");

  std::vector<std::string> hosts = hosts_;
  hosts.push_back("192.168.7.9");
  hosts.push_back("disks.example.com");
  Result<ServingPki> second = EnsureServingPki(pki_dir_, hosts);
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(second->ca_pem, first->ca_pem);
  EXPECT_EQ(second->admin_token, first->admin_token);

  X509Ptr ca = LoadCert(pki_dir_ / "ca.crt");
  X509Ptr cert = LoadCert(pki_dir_ / "server.crt");
  ASSERT_TRUE(ca && cert);
  EXPECT_NE(Serial(cert.get()), Serial(old_cert.get()));
  EXPECT_EQ(VerifyChain(ca.get(), cert.get(), "", "192.168.7.9"), X509_V_OK);
  EXPECT_EQ(VerifyChain(ca.get(), cert.get(), "disks.example.com"), X509_V_OK);
  EXPECT_THAT(Sans(cert.get()),
              UnorderedElementsAre("DNS:localhost", "IP:127.0.0.1", "IP:::1", "DNS:vdisk-host",
                                   "IP:192.168.7.9", "DNS:disks.example.com"));
  // The new key matches and stays private.
  PkeyPtr key = LoadKey(pki_dir_ / "server.key");
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
  EXPECT_EQ(Mode(pki_dir_ / "server.key"), 0600u);
}

TEST_F(PkiTest, ServerCertificateExpiringSoonIsRenewed) {
  ASSERT_TRUE(EnsureServingPki(pki_dir_, hosts_).ok());
  // Replace the serving certificate by one from the same CA, same names, expiring in 10 days.
  X509Ptr ca = LoadCert(pki_dir_ / "ca.crt");
  PkeyPtr ca_key = LoadKey(pki_dir_ / "ca.key");
  X509Ptr cert = LoadCert(pki_dir_ / "server.crt");
  PkeyPtr key = LoadKey(pki_dir_ / "server.key");
  ASSERT_TRUE(ca && ca_key && cert && key);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10 * 86400);
  ASSERT_GT(X509_sign(cert.get(), ca_key.get(), EVP_sha256()), 0);
  ASSERT_EQ(VerifyChain(ca.get(), cert.get()), X509_V_OK);
  Spit(pki_dir_ / "server.crt", ToPem(cert.get()));
  ASSERT_NEAR(DaysLeft(LoadCert(pki_dir_ / "server.crt").get()), 10, 1);

  ASSERT_TRUE(EnsureServingPki(pki_dir_, hosts_).ok());
  X509Ptr renewed = LoadCert(pki_dir_ / "server.crt");
  EXPECT_NEAR(DaysLeft(renewed.get()), 365, 1);
  EXPECT_EQ(VerifyChain(ca.get(), renewed.get()), X509_V_OK);
  EXPECT_EQ(Slurp(pki_dir_ / "ca.crt"), ToPem(ca.get()));
}

TEST_F(PkiTest, DamagedServingMaterialIsReplaced) {
  ASSERT_TRUE(EnsureServingPki(pki_dir_, hosts_).ok());
  X509Ptr ca = LoadCert(pki_dir_ / "ca.crt");

  // A key that does not match the certificate (e.g. a crash between the two writes).
  PkeyPtr other(EVP_EC_gen("P-256"));
  Spit(pki_dir_ / "server.key", ToPem(other.get()));
  ASSERT_TRUE(EnsureServingPki(pki_dir_, hosts_).ok());
  EXPECT_EQ(X509_check_private_key(LoadCert(pki_dir_ / "server.crt").get(),
                                   LoadKey(pki_dir_ / "server.key").get()),
            1);

  // Garbage instead of a certificate; a missing certificate.
  Spit(pki_dir_ / "server.crt", "not a certificate");
  ASSERT_TRUE(EnsureServingPki(pki_dir_, hosts_).ok());
  EXPECT_EQ(VerifyChain(ca.get(), LoadCert(pki_dir_ / "server.crt").get()), X509_V_OK);
  fs::remove(pki_dir_ / "server.crt");
  ASSERT_TRUE(EnsureServingPki(pki_dir_, hosts_).ok());
  EXPECT_EQ(VerifyChain(ca.get(), LoadCert(pki_dir_ / "server.crt").get()), X509_V_OK);

  // A certificate from some other CA.
  fs::path other_dir = dir_ / "other";
  ASSERT_TRUE(EnsureServingPki(other_dir, hosts_).ok());
  fs::copy_file(other_dir / "server.crt", pki_dir_ / "server.crt",
                fs::copy_options::overwrite_existing);
  fs::copy_file(other_dir / "server.key", pki_dir_ / "server.key",
                fs::copy_options::overwrite_existing);
  ASSERT_TRUE(EnsureServingPki(pki_dir_, hosts_).ok());
  EXPECT_EQ(VerifyChain(ca.get(), LoadCert(pki_dir_ / "server.crt").get()), X509_V_OK);
  EXPECT_EQ(Slurp(pki_dir_ / "ca.crt"), ToPem(ca.get()));
}

TEST_F(PkiTest, LoosenedPermissionsAreTightened) {
  ASSERT_TRUE(EnsureServingPki(pki_dir_, hosts_).ok());
  fs::permissions(pki_dir_ / "ca.key", fs::perms(0644));
  fs::permissions(pki_dir_ / "admin.token", fs::perms(0640));
  ASSERT_TRUE(EnsureServingPki(pki_dir_, hosts_).ok());
  EXPECT_EQ(Mode(pki_dir_ / "ca.key"), 0600u);
  EXPECT_EQ(Mode(pki_dir_ / "admin.token"), 0600u);
}

TEST_F(PkiTest, CaCertificateWithoutKeyIsAnError) {
  ASSERT_TRUE(EnsureServingPki(pki_dir_, hosts_).ok());
  std::string ca_pem = Slurp(pki_dir_ / "ca.crt");
  fs::remove(pki_dir_ / "ca.key");
  Result<ServingPki> pki = EnsureServingPki(pki_dir_, hosts_);
  ASSERT_FALSE(pki.ok());
  EXPECT_THAT(pki.status().message(), HasSubstr("ca.key"));
  // Nothing was replaced: the operator decides.
  EXPECT_EQ(Slurp(pki_dir_ / "ca.crt"), ca_pem);
}

TEST_F(PkiTest, CorruptCaIsAnError) {
  ASSERT_TRUE(EnsureServingPki(pki_dir_, hosts_).ok());
  Spit(pki_dir_ / "ca.crt", "garbage");
  Result<ServingPki> pki = EnsureServingPki(pki_dir_, hosts_);
  ASSERT_FALSE(pki.ok());
  EXPECT_EQ(pki.status().code(), StatusCode::kInternal);
  EXPECT_THAT(pki.status().message(), HasSubstr((pki_dir_ / "ca.crt").string()));
}

TEST_F(PkiTest, CaWithoutCertificateIsRecreated) {
  // A crash after writing ca.key but before ca.crt: start over.
  ASSERT_TRUE(EnsureServingPki(pki_dir_, hosts_).ok());
  std::string ca_pem = Slurp(pki_dir_ / "ca.crt");
  fs::remove(pki_dir_ / "ca.crt");
  Result<ServingPki> pki = EnsureServingPki(pki_dir_, hosts_);
  ASSERT_TRUE(pki.ok()) << pki.status().message();
  EXPECT_NE(pki->ca_pem, ca_pem);
  EXPECT_EQ(
      VerifyChain(LoadCert(pki_dir_ / "ca.crt").get(), LoadCert(pki_dir_ / "server.crt").get()),
      X509_V_OK);
}

TEST_F(PkiTest, TokenFile) {
  ASSERT_TRUE(fs::create_directories(pki_dir_));
  // An operator-chosen token is kept (surrounding whitespace aside).
  std::string chosen = "my-own-token_0123456789abcdefghijklmnop";
  Spit(pki_dir_ / "admin.token", "  " + chosen + "\n\n");
  Result<ServingPki> pki = EnsureServingPki(pki_dir_, hosts_);
  ASSERT_TRUE(pki.ok()) << pki.status().message();
  EXPECT_EQ(pki->admin_token, chosen);

  // Too short or not a token: an error naming the file.
  for (std::string bad : {"", "short", "has spaces in the middle of the token 0123456789"}) {
    Spit(pki_dir_ / "admin.token", bad);
    Result<ServingPki> r = EnsureServingPki(pki_dir_, hosts_);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_THAT(r.status().message(), HasSubstr("admin.token"));
  }
}

TEST_F(PkiTest, HostsAreValidated) {
  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {},
           {""},
           {"localhost", "bad host"},
           {"a..b"},
           {"-leading.example.com"},
           {"fe80::1%eth0"},
           {"https://localhost"},
           {"*.example.com"},
           {std::string(64, 'a') + ".com"},
       }) {
    Result<ServingPki> pki = EnsureServingPki(pki_dir_, bad);
    ASSERT_FALSE(pki.ok()) << ::testing::PrintToString(bad);
    EXPECT_EQ(pki.status().code(), StatusCode::kInvalidArgument) << pki.status().message();
  }
  EXPECT_FALSE(fs::exists(pki_dir_)) << "nothing is created for invalid input";

  // Duplicates are written once; IPv6 in brackets and upper-case names are normalized.
  Result<ServingPki> pki =
      EnsureServingPki(pki_dir_, {"Example.COM", "example.com", "[::1]", "::1", "0:0::1"});
  ASSERT_TRUE(pki.ok()) << pki.status().message();
  EXPECT_THAT(Sans(LoadCert(pki_dir_ / "server.crt").get()),
              UnorderedElementsAre("DNS:example.com", "IP:::1"));
}

TEST_F(PkiTest, PathUnderAFileIsAClearError) {
  // A path under a regular file: fails even for root.
  Spit(dir_ / "file", "x");
  Result<ServingPki> pki = EnsureServingPki(dir_ / "file" / "pki", hosts_);
  ASSERT_FALSE(pki.ok());
  EXPECT_EQ(pki.status().code(), StatusCode::kInternal);
  EXPECT_THAT(pki.status().message(), HasSubstr((dir_ / "file" / "pki").string()));
}

// ---------------------------------------------------------------------------------------------
// WriteKubeconfig.

TEST_F(PkiTest, KubeconfigContents) {
  Result<ServingPki> pki = EnsureServingPki(pki_dir_, hosts_);
  ASSERT_TRUE(pki.ok()) << pki.status().message();
  fs::path kubeconfig = dir_ / "kubeconfig";
  ASSERT_TRUE(WriteKubeconfig(kubeconfig, "https://127.0.0.1:6443", *pki).ok());
  EXPECT_EQ(Mode(kubeconfig), 0600u);

  std::string yaml = Slurp(kubeconfig);
  EXPECT_THAT(yaml, HasSubstr("\nkind: Config\n"));
  EXPECT_THAT(yaml, HasSubstr("\n    server: \"https://127.0.0.1:6443\"\n"));
  EXPECT_THAT(yaml, HasSubstr("\n    certificate-authority-data: "));
  EXPECT_THAT(yaml, HasSubstr("\n    token: \"" + pki->admin_token + "\"\n"));
  EXPECT_THAT(yaml, HasSubstr("\ncurrent-context: vdisk\n"));

  // Rewriting replaces the file and leaves no temporary behind.
  ASSERT_TRUE(WriteKubeconfig(kubeconfig, "https://localhost:7443", *pki).ok());
  EXPECT_THAT(Slurp(kubeconfig), HasSubstr("server: \"https://localhost:7443\""));
  for (const auto& entry : fs::directory_iterator(dir_)) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
  }
}

TEST_F(PkiTest, KubeconfigRejectsBadInput) {
  Result<ServingPki> pki = EnsureServingPki(pki_dir_, hosts_);
  ASSERT_TRUE(pki.ok()) << pki.status().message();
  EXPECT_EQ(WriteKubeconfig(dir_ / "k", "http://127.0.0.1:6443", *pki).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteKubeconfig(dir_ / "k", "https://", *pki).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteKubeconfig(dir_ / "k", "https://x", ServingPki{}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(dir_ / "k"));

  Spit(dir_ / "file", "x");
  Status st = WriteKubeconfig(dir_ / "file" / "kubeconfig", "https://127.0.0.1:6443", *pki);
  EXPECT_EQ(st.code(), StatusCode::kInternal);
  EXPECT_THAT(st.message(), HasSubstr((dir_ / "file").string()));
}

TEST_F(PkiTest, KubectlReadsKubeconfig) {
  ASSERT_EQ(access(kKubectl, X_OK), 0)
      << kKubectl << " is required (scripts/install-deps.sh --test)";
  Result<ServingPki> pki = EnsureServingPki(pki_dir_, hosts_);
  ASSERT_TRUE(pki.ok()) << pki.status().message();
  fs::path kubeconfig = dir_ / "kubeconfig";
  for (std::string url : {"https://127.0.0.1:6443", "https://[::1]:6443"}) {
    ASSERT_TRUE(WriteKubeconfig(kubeconfig, url, *pki).ok());
    CommandResult r = RunCommand(Kubectl(kubeconfig, "config view -o json --raw"));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    nlohmann::json config = nlohmann::json::parse(r.output);
    EXPECT_EQ(config["current-context"], "vdisk");
    ASSERT_EQ(config["clusters"].size(), 1u) << config;
    EXPECT_EQ(config["clusters"][0]["name"], "vdisk");
    EXPECT_EQ(config["clusters"][0]["cluster"]["server"], url);
    std::string ca_data = config["clusters"][0]["cluster"]["certificate-authority-data"];
    std::string decoded(ca_data.size(), '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                            reinterpret_cast<const unsigned char*>(ca_data.data()),
                            static_cast<int>(ca_data.size()));
    ASSERT_GT(n, 0);
    decoded.resize(static_cast<size_t>(n));
    EXPECT_EQ(decoded.substr(0, pki->ca_pem.size()), pki->ca_pem);  // minus base64 padding
    ASSERT_EQ(config["users"].size(), 1u) << config;
    EXPECT_EQ(config["users"][0]["name"], "admin");
    EXPECT_EQ(config["users"][0]["user"]["token"], pki->admin_token);
    ASSERT_EQ(config["contexts"].size(), 1u) << config;
    EXPECT_EQ(config["contexts"][0]["name"], "vdisk");
    EXPECT_EQ(config["contexts"][0]["context"]["cluster"], "vdisk");
    EXPECT_EQ(config["contexts"][0]["context"]["user"], "admin");
  }
}

// ---------------------------------------------------------------------------------------------
// IsAdminBearer.

TEST(IsAdminBearerTest, AcceptsOnlyTheAdminToken) {
  ServingPki pki;
  pki.admin_token = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  const std::string& t = pki.admin_token;
  EXPECT_TRUE(IsAdminBearer("Bearer " + t, pki));
  EXPECT_TRUE(IsAdminBearer("bearer " + t, pki));
  EXPECT_TRUE(IsAdminBearer("BEARER " + t, pki));
  EXPECT_TRUE(IsAdminBearer("  Bearer   " + t + "  ", pki));

  EXPECT_FALSE(IsAdminBearer("", pki));
  EXPECT_FALSE(IsAdminBearer("Bearer", pki));
  EXPECT_FALSE(IsAdminBearer("Bearer ", pki));
  EXPECT_FALSE(IsAdminBearer(t, pki));
  EXPECT_FALSE(IsAdminBearer("Bearer" + t, pki));
  EXPECT_FALSE(IsAdminBearer("Basic " + t, pki));
  EXPECT_FALSE(IsAdminBearer("Bearer " + t + "0", pki));
  EXPECT_FALSE(IsAdminBearer("Bearer " + t.substr(0, 63), pki));
  EXPECT_FALSE(IsAdminBearer("Bearer " + t.substr(0, 63) + "0", pki));
  EXPECT_FALSE(IsAdminBearer("Bearer " + t + " " + t, pki));
  EXPECT_FALSE(IsAdminBearer("Bearer \"" + t + "\"", pki));
  EXPECT_FALSE(IsAdminBearer(std::string("Bearer ") + '\0' + t, pki));
  EXPECT_FALSE(IsAdminBearer("Bearers " + t, pki));

  // No token configured: nothing is the admin, not even an empty bearer.
  ServingPki none;
  EXPECT_FALSE(IsAdminBearer("Bearer ", none));
  EXPECT_FALSE(IsAdminBearer("Bearer x", none));
}

// ---------------------------------------------------------------------------------------------
// End to end: kubectl talks to an httplib::SSLServer serving our certificate.

class TlsServer {
 public:
  explicit TlsServer(const ServingPki& pki)
      : server_(pki.server_cert.c_str(), pki.server_key.c_str()) {
    server_.Get("/healthz", [pki](const httplib::Request& req, httplib::Response& res) {
      if (!IsAdminBearer(req.get_header_value("Authorization"), pki)) {
        res.status = 401;
        res.set_content(
            R"({"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized",)"
            R"("reason":"Unauthorized","code":401})",
            "application/json");
        return;
      }
      res.set_content("ok", "text/plain");
    });
  }
  ~TlsServer() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  // The port it listens on, or -1.
  int Start() {
    if (!server_.is_valid()) return -1;
    int port = server_.bind_to_any_port("127.0.0.1");
    if (port <= 0) return -1;
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 500 && !server_.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return server_.is_running() ? port : -1;
  }

 private:
  httplib::SSLServer server_;
  std::thread thread_;
};

TEST_F(PkiTest, KubectlVerifiesTlsAndSendsToken) {
  ASSERT_EQ(access(kKubectl, X_OK), 0)
      << kKubectl << " is required (scripts/install-deps.sh --test)";
  Result<ServingPki> pki = EnsureServingPki(pki_dir_, hosts_);
  ASSERT_TRUE(pki.ok()) << pki.status().message();
  TlsServer server(*pki);
  int port = server.Start();
  ASSERT_GT(port, 0);
  std::string args = "--request-timeout=20s get --raw /healthz";

  // Verified TLS to the IP and to the DNS name, with the admin token.
  fs::path kubeconfig = dir_ / "kubeconfig";
  for (std::string host : {"127.0.0.1", "localhost"}) {
    ASSERT_TRUE(
        WriteKubeconfig(kubeconfig, "https://" + host + ":" + std::to_string(port), *pki).ok());
    CommandResult r = RunCommand(Kubectl(kubeconfig, args));
    EXPECT_EQ(r.exit_code, 0) << host << ": " << r.output;
    EXPECT_EQ(r.output, "ok") << host;
  }

  // The wrong token reaches the server but is refused.
  ServingPki wrong_token = *pki;
  wrong_token.admin_token = std::string(64, 'f');
  fs::path bad_token_config = dir_ / "bad-token";
  ASSERT_TRUE(
      WriteKubeconfig(bad_token_config, "https://127.0.0.1:" + std::to_string(port), wrong_token)
          .ok());
  CommandResult r = RunCommand(Kubectl(bad_token_config, args));
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("Unauthorized"));

  // A kubeconfig trusting another CA does not accept our server.
  Result<ServingPki> other = EnsureServingPki(dir_ / "other-pki", hosts_);
  ASSERT_TRUE(other.ok()) << other.status().message();
  fs::path other_config = dir_ / "other-ca";
  ASSERT_TRUE(
      WriteKubeconfig(other_config, "https://127.0.0.1:" + std::to_string(port), *other).ok());
  r = RunCommand(Kubectl(other_config, args));
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("x509: certificate signed by unknown authority"));

  // A host name the certificate does not cover is refused too.
  std::vector<std::string> only_localhost = {"localhost"};
  fs::path narrow_dir = dir_ / "narrow-pki";
  Result<ServingPki> narrow = EnsureServingPki(narrow_dir, only_localhost);
  ASSERT_TRUE(narrow.ok());
  TlsServer narrow_server(*narrow);
  int narrow_port = narrow_server.Start();
  ASSERT_GT(narrow_port, 0);
  fs::path narrow_config = dir_ / "narrow";
  ASSERT_TRUE(
      WriteKubeconfig(narrow_config, "https://127.0.0.1:" + std::to_string(narrow_port), *narrow)
          .ok());
  r = RunCommand(Kubectl(narrow_config, args));
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("x509: cannot validate certificate for 127.0.0.1"));
}

}  // namespace
}  // namespace vdisk::server

#include "server/pki.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <system_error>
#include <utility>

#include "common/base64.h"
#include "common/fd.h"

namespace vdisk::server {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kDay = 24 * 60 * 60;
constexpr int64_t kCaValidity = 10 * 365 * kDay + 2 * kDay;  // 10 years, leap days included
constexpr int64_t kServerValidity = 365 * kDay;
constexpr int64_t kRenewBefore = 30 * kDay;  // renew what expires within 30 days
constexpr int64_t kBackdate = 5 * 60;        // tolerate clients whose clock is slightly behind
constexpr size_t kTokenBytes = 32;           // 256 bits
constexpr size_t kMinTokenLength = 32;       // for tokens an operator put in admin.token

// ---------------------------------------------------------------------------------------------
// OpenSSL ownership and errors.

template <auto Fn>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Fn(p);
  }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using Asn1IntPtr = std::unique_ptr<ASN1_INTEGER, Deleter<ASN1_INTEGER_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using NamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>>;
using NamePtr = std::unique_ptr<GENERAL_NAME, Deleter<GENERAL_NAME_free>>;
using Ia5Ptr = std::unique_ptr<ASN1_IA5STRING, Deleter<ASN1_IA5STRING_free>>;
using OctetPtr = std::unique_ptr<ASN1_OCTET_STRING, Deleter<ASN1_OCTET_STRING_free>>;

// Drains the OpenSSL error queue into a readable suffix.
std::string OpensslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    out += out.empty() ? ": " : "; ";
    out += buf;
  }
  return out;
}

Status OpensslFailure(const std::string& what) { return Internal(what + OpensslErrors()); }

std::string Errno(int err) { return std::strerror(err); }

// ---------------------------------------------------------------------------------------------
// Files.

// The contents of `path`, or nullopt if it does not exist.
Result<std::optional<std::string>> ReadFile(const fs::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return Internal("cannot open " + path.string() + ": " + Errno(errno));
  }
  std::string data;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Internal("cannot read " + path.string() + ": " + Errno(errno));
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  return std::optional<std::string>(std::move(data));
}

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Internal(Errno(errno));
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// Replaces `path` by `contents` atomically: a reader (or a crash) sees the old file or the new
// one, never a mix. The file has exactly `mode`, whatever the umask.
Status WriteFileAtomic(const fs::path& path, std::string_view contents, mode_t mode) {
  fs::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  std::string tmp = (dir / ("." + path.filename().string() + ".tmp-XXXXXX")).string();
  Fd fd(::mkstemp(tmp.data()));  // creates the file 0600
  if (fd.get() < 0) {
    return Internal("cannot create a file in " + dir.string() + ": " + Errno(errno));
  }
  auto fail = [&](const std::string& what, int err) {
    ::unlink(tmp.c_str());
    return Internal("cannot " + what + " " + path.string() + ": " + Errno(err));
  };
  if (::fchmod(fd.get(), mode) != 0) return fail("set the mode of", errno);
  if (Status st = WriteAll(fd.get(), contents); !st.ok()) {
    ::unlink(tmp.c_str());
    return Internal("cannot write " + path.string() + ": " + st.message());
  }
  if (::fsync(fd.get()) != 0) return fail("sync", errno);
  if (::close(fd.release()) != 0) return fail("write", errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("replace", errno);
  // Make the rename durable; failing to sync the directory does not undo the write.
  Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() >= 0) ::fsync(dfd.get());
  return Status::Ok();
}

// Private files must not be readable by others; tighten a mode an operator loosened.
Status EnsurePrivate(const fs::path& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return Internal("cannot stat " + path.string() + ": " + Errno(errno));
  }
  if ((st.st_mode & 077) == 0) return Status::Ok();
  spdlog::warn("{} was readable by others (mode {:o}); setting mode 0600", path.string(),
               st.st_mode & 0777);
  if (::chmod(path.c_str(), 0600) != 0) {
    return Internal("cannot chmod " + path.string() + ": " + Errno(errno));
  }
  return Status::Ok();
}

// An exclusive advisory lock on a file, held until destruction.
class DirLock {
 public:
  static Result<std::unique_ptr<DirLock>> Acquire(const fs::path& path) {
    Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (fd.get() < 0) {
      return Internal("cannot create " + path.string() + ": " + Errno(errno));
    }
    while (::flock(fd.get(), LOCK_EX) != 0) {
      if (errno != EINTR) return Internal("cannot lock " + path.string() + ": " + Errno(errno));
    }
    return std::unique_ptr<DirLock>(new DirLock(fd.release()));
  }
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  ~DirLock() { ::close(fd_); }  // releases the lock

 private:
  explicit DirLock(int fd) : fd_(fd) {}
  int fd_;
};

// ---------------------------------------------------------------------------------------------
// Hosts.

struct Host {
  std::string name;         // canonical: lower-case DNS name, or the IP in inet_ntop form
  std::vector<uint8_t> ip;  // 4 or 16 bytes for an IP literal, empty for a DNS name
};

bool IsDnsName(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t label = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '.') {
      if (label == 0 || label > 63) return false;
      if (s[i - 1] == '-' || s[i - label] == '-') return false;
      label = 0;
      continue;
    }
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
    ++label;
  }
  return true;
}

Result<std::vector<Host>> ParseHosts(const std::vector<std::string>& hosts) {
  std::vector<Host> out;
  for (const std::string& raw : hosts) {
    std::string s = raw;
    if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
    Host h;
    unsigned char buf[16];
    char text[INET6_ADDRSTRLEN];
    if (::inet_pton(AF_INET, s.c_str(), buf) == 1) {
      h.ip.assign(buf, buf + 4);
      h.name = ::inet_ntop(AF_INET, buf, text, sizeof(text));
    } else if (::inet_pton(AF_INET6, s.c_str(), buf) == 1) {
      h.ip.assign(buf, buf + 16);
      h.name = ::inet_ntop(AF_INET6, buf, text, sizeof(text));
    } else {
      for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (!s.empty() && s.back() == '.') s.pop_back();  // fully qualified form
      if (!IsDnsName(s)) {
        return InvalidArgument("invalid host for the serving certificate: \"" + raw +
                               "\": must be a DNS name or an IP address");
      }
      h.name = s;
    }
    bool dup = false;
    for (const Host& o : out) dup = dup || (o.name == h.name && o.ip == h.ip);
    if (!dup) out.push_back(std::move(h));
  }
  if (out.empty()) {
    return InvalidArgument("the serving certificate needs at least one host name or IP address");
  }
  return out;
}

bool Covers(X509* cert, const Host& h) {
  if (!h.ip.empty()) return X509_check_ip(cert, h.ip.data(), h.ip.size(), 0) == 1;
  return X509_check_host(cert, h.name.data(), h.name.size(),
                         X509_CHECK_FLAG_NEVER_CHECK_SUBJECT | X509_CHECK_FLAG_NO_WILDCARDS,
                         nullptr) == 1;
}

// ---------------------------------------------------------------------------------------------
// Keys and certificates.

std::string Hex(const unsigned char* data, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += kHex[data[i] >> 4];
    out += kHex[data[i] & 0xf];
  }
  return out;
}

Result<PkeyPtr> GenerateKey() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return OpensslFailure("cannot generate an EC P-256 key");
  return key;
}

Result<std::string> KeyToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpensslFailure("cannot encode a private key");
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Result<std::string> CertToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return OpensslFailure("cannot encode a certificate");
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Result<PkeyPtr> ParseKey(const std::string& pem, const fs::path& path) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) return OpensslFailure("cannot parse the private key in " + path.string());
  return key;
}

Result<X509Ptr> ParseCert(const std::string& pem, const fs::path& path) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) return OpensslFailure("cannot parse the certificate in " + path.string());
  return cert;
}

std::optional<int64_t> ToUnix(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
  return static_cast<int64_t>(::timegm(&tm));
}

Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  ExtPtr ext(X509V3_EXT_nconf_nid(nullptr, ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return OpensslFailure(std::string("cannot add certificate extension ") + OBJ_nid2sn(nid) + "=" +
                          value);
  }
  return Status::Ok();
}

Status AddSubjectAltNames(X509* cert, const std::vector<Host>& hosts) {
  NamesPtr names(sk_GENERAL_NAME_new_null());
  if (!names) return OpensslFailure("cannot allocate subjectAltName");
  for (const Host& h : hosts) {
    NamePtr gn(GENERAL_NAME_new());
    if (!gn) return OpensslFailure("cannot allocate subjectAltName");
    if (h.ip.empty()) {
      Ia5Ptr dns(ASN1_IA5STRING_new());
      if (!dns || ASN1_STRING_set(dns.get(), h.name.data(), static_cast<int>(h.name.size())) != 1) {
        return OpensslFailure("cannot encode DNS name " + h.name);
      }
      GENERAL_NAME_set0_value(gn.get(), GEN_DNS, dns.release());
    } else {
      OctetPtr ip(ASN1_OCTET_STRING_new());
      if (!ip || ASN1_OCTET_STRING_set(ip.get(), h.ip.data(), static_cast<int>(h.ip.size())) != 1) {
        return OpensslFailure("cannot encode IP address " + h.name);
      }
      GENERAL_NAME_set0_value(gn.get(), GEN_IPADD, ip.release());
    }
    if (sk_GENERAL_NAME_push(names.get(), gn.get()) == 0) {
      return OpensslFailure("cannot build subjectAltName");
    }
    gn.release();  // owned by names
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return OpensslFailure("cannot add subjectAltName");
  }
  return Status::Ok();
}

// A new certificate for `key` named `cn`, valid from now (minus kBackdate) to `not_after`, with
// a random positive 159-bit serial. Extensions and the signature are up to the caller.
Result<X509Ptr> NewCert(EVP_PKEY* key, const std::string& cn, int64_t now, int64_t not_after) {
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return OpensslFailure("cannot allocate a certificate");
  }
  std::array<unsigned char, 20> serial;
  if (RAND_bytes(serial.data(), serial.size()) != 1) {
    return OpensslFailure("cannot generate a serial number");
  }
  serial[0] = static_cast<unsigned char>((serial[0] & 0x7f) | 0x40);  // positive, 20 bytes
  BnPtr bn(BN_bin2bn(serial.data(), serial.size(), nullptr));
  Asn1IntPtr asn1_serial(bn ? BN_to_ASN1_INTEGER(bn.get(), nullptr) : nullptr);
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (!asn1_serial || X509_set_serialNumber(cert.get(), asn1_serial.get()) != 1 ||
      !ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(now - kBackdate)) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(not_after)) ||
      X509_set_pubkey(cert.get(), key) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) != 1) {
    return OpensslFailure("cannot fill in a certificate");
  }
  return cert;
}

struct Ca {
  X509Ptr cert;
  PkeyPtr key;
  std::string pem;
};

Result<Ca> CreateCa(int64_t now) {
  VDISK_ASSIGN_OR_RETURN(PkeyPtr key, GenerateKey());
  // Unique, so that CAs of different data directories are never mistaken for one another.
  std::array<unsigned char, 4> nonce;
  if (RAND_bytes(nonce.data(), nonce.size()) != 1) {
    return OpensslFailure("cannot generate the CA name");
  }
  std::string cn = "vdisk-ca-" + Hex(nonce.data(), nonce.size()) + "@" + std::to_string(now);
  VDISK_ASSIGN_OR_RETURN(X509Ptr cert, NewCert(key.get(), cn, now, now + kCaValidity));
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())) != 1) {
    return OpensslFailure("cannot set the CA issuer");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  VDISK_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE"));
  VDISK_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_key_usage,
                                     "critical,keyCertSign,cRLSign,digitalSignature"));
  VDISK_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) {
    return OpensslFailure("cannot sign the CA certificate");
  }
  VDISK_ASSIGN_OR_RETURN(std::string pem, CertToPem(cert.get()));
  return Ca{std::move(cert), std::move(key), std::move(pem)};
}

Result<X509Ptr> IssueServerCert(const Ca& ca, EVP_PKEY* key, const std::vector<Host>& hosts,
                                int64_t now) {
  int64_t not_after = now + kServerValidity;
  if (auto ca_end = ToUnix(X509_get0_notAfter(ca.cert.get())); ca_end && *ca_end < not_after) {
    not_after = *ca_end;  // a certificate cannot outlive its issuer
  }
  VDISK_ASSIGN_OR_RETURN(X509Ptr cert, NewCert(key, "vdisk-apiserver", now, not_after));
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.cert.get())) != 1) {
    return OpensslFailure("cannot set the certificate issuer");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca.cert.get(), cert.get(), nullptr, nullptr, 0);
  VDISK_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE"));
  VDISK_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_key_usage,
                                     EVP_PKEY_is_a(key, "RSA")
                                         ? "critical,digitalSignature,keyEncipherment"
                                         : "critical,digitalSignature"));
  VDISK_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_ext_key_usage, "serverAuth"));
  VDISK_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  VDISK_RETURN_IF_ERROR(
      AddExtension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always"));
  VDISK_RETURN_IF_ERROR(AddSubjectAltNames(cert.get(), hosts));
  if (X509_sign(cert.get(), ca.key.get(), EVP_sha256()) <= 0) {
    return OpensslFailure("cannot sign the serving certificate");
  }
  return cert;
}

// Why the existing serving certificate cannot be kept, or "" if it can.
std::string ServerCertProblem(const Ca& ca, X509* cert, EVP_PKEY* key,
                              const std::vector<Host>& hosts, int64_t now) {
  if (X509_check_private_key(cert, key) != 1) {
    ERR_clear_error();
    return "it does not match server.key";
  }
  if (X509_check_issued(ca.cert.get(), cert) != X509_V_OK || X509_verify(cert, ca.key.get()) != 1) {
    ERR_clear_error();
    return "it was not issued by the current CA";
  }
  auto not_before = ToUnix(X509_get0_notBefore(cert));
  auto not_after = ToUnix(X509_get0_notAfter(cert));
  if (!not_before || !not_after) return "its validity period is unreadable";
  if (*not_before > now) return "it is not valid yet";
  if (*not_after < now + kRenewBefore) return "it expires within 30 days";
  for (const Host& h : hosts) {
    if (!Covers(cert, h)) return "it does not cover " + h.name;
  }
  return "";
}

Result<Ca> LoadOrCreateCa(const fs::path& crt_path, const fs::path& key_path, int64_t now) {
  VDISK_ASSIGN_OR_RETURN(std::optional<std::string> crt_pem, ReadFile(crt_path));
  if (crt_pem) {
    VDISK_ASSIGN_OR_RETURN(std::optional<std::string> key_pem, ReadFile(key_path));
    if (!key_pem) {
      return Internal(crt_path.string() + " exists but " + key_path.string() +
                      " does not: restore it, or delete " + crt_path.string() +
                      " to create a new CA (existing kubeconfigs will then stop working)");
    }
    VDISK_ASSIGN_OR_RETURN(X509Ptr cert, ParseCert(*crt_pem, crt_path));
    VDISK_ASSIGN_OR_RETURN(PkeyPtr key, ParseKey(*key_pem, key_path));
    if (X509_check_private_key(cert.get(), key.get()) != 1) {
      return OpensslFailure(key_path.string() + " does not match " + crt_path.string());
    }
    if (X509_check_ca(cert.get()) != 1) {
      return Internal(crt_path.string() + " is not a CA certificate");
    }
    auto not_after = ToUnix(X509_get0_notAfter(cert.get()));
    if (not_after && *not_after >= now + kRenewBefore) {
      return Ca{std::move(cert), std::move(key), std::move(*crt_pem)};
    }
    spdlog::warn(
        "the CA in {} expires within 30 days; creating a new one (kubeconfigs made "
        "with the old CA will stop working)",
        crt_path.string());
  }
  VDISK_ASSIGN_OR_RETURN(Ca ca, CreateCa(now));
  VDISK_ASSIGN_OR_RETURN(std::string key_pem, KeyToPem(ca.key.get()));
  // Key first: a crash in between leaves no ca.crt, so the next start creates a CA again.
  VDISK_RETURN_IF_ERROR(WriteFileAtomic(key_path, key_pem, 0600));
  VDISK_RETURN_IF_ERROR(WriteFileAtomic(crt_path, ca.pem, 0644));
  spdlog::info("created CA {}", crt_path.string());
  return ca;
}

Status EnsureServerCert(const Ca& ca, const fs::path& crt_path, const fs::path& key_path,
                        const std::vector<Host>& hosts, int64_t now) {
  VDISK_ASSIGN_OR_RETURN(std::optional<std::string> crt_pem, ReadFile(crt_path));
  VDISK_ASSIGN_OR_RETURN(std::optional<std::string> key_pem, ReadFile(key_path));
  std::string problem;  // why the existing certificate is replaced; empty if there is none
  if (crt_pem && !key_pem) {
    problem = key_path.string() + " is missing";
  } else if (crt_pem && key_pem) {
    // Unreadable serving material is derived from the CA, so it is replaced, not an error.
    Result<X509Ptr> cert = ParseCert(*crt_pem, crt_path);
    Result<PkeyPtr> key = ParseKey(*key_pem, key_path);
    if (!cert.ok()) {
      problem = cert.status().message();
    } else if (!key.ok()) {
      problem = key.status().message();
    } else {
      problem = ServerCertProblem(ca, cert->get(), key->get(), hosts, now);
      if (problem.empty()) return Status::Ok();
    }
  }
  VDISK_ASSIGN_OR_RETURN(PkeyPtr key, GenerateKey());
  VDISK_ASSIGN_OR_RETURN(X509Ptr cert, IssueServerCert(ca, key.get(), hosts, now));
  VDISK_ASSIGN_OR_RETURN(std::string new_key_pem, KeyToPem(key.get()));
  VDISK_ASSIGN_OR_RETURN(std::string new_crt_pem, CertToPem(cert.get()));
  // Key first: a crash in between leaves a mismatched pair, which the next start replaces.
  VDISK_RETURN_IF_ERROR(WriteFileAtomic(key_path, new_key_pem, 0600));
  VDISK_RETURN_IF_ERROR(WriteFileAtomic(crt_path, new_crt_pem, 0644));
  std::string names;
  for (const Host& h : hosts) names += (names.empty() ? "" : ", ") + h.name;
  if (problem.empty()) {
    spdlog::info("issued serving certificate {} for {}", crt_path.string(), names);
  } else {
    spdlog::info("issued serving certificate {} for {}, replacing the previous one: {}",
                 crt_path.string(), names, problem);
  }
  return Status::Ok();
}

bool IsTokenChar(char c) {
  // RFC 6750 b64token.
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=';
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

Result<std::string> LoadOrCreateToken(const fs::path& path) {
  VDISK_ASSIGN_OR_RETURN(std::optional<std::string> existing, ReadFile(path));
  if (existing) {
    std::string token(TrimSpace(*existing));
    bool ok = token.size() >= kMinTokenLength;
    for (char c : token) ok = ok && IsTokenChar(c);
    if (!ok) {
      return Internal(path.string() + " does not hold a usable token (at least " +
                      std::to_string(kMinTokenLength) +
                      " characters of [A-Za-z0-9-._~+/=]); delete it to create a new one");
    }
    return token;
  }
  std::array<unsigned char, kTokenBytes> bytes;
  if (RAND_bytes(bytes.data(), bytes.size()) != 1) {
    return OpensslFailure("cannot generate the admin token");
  }
  std::string token = Hex(bytes.data(), bytes.size());
  VDISK_RETURN_IF_ERROR(WriteFileAtomic(path, token + "\n", 0600));
  spdlog::info("created admin token {}", path.string());
  return token;
}

std::optional<std::array<unsigned char, 32>> Sha256(std::string_view data) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != out.size()) {
    ERR_clear_error();
    return std::nullopt;
  }
  return out;
}

}  // namespace

Result<ServingPki> EnsureServingPki(const fs::path& pki_dir,
                                    const std::vector<std::string>& hosts) {
  VDISK_ASSIGN_OR_RETURN(std::vector<Host> parsed, ParseHosts(hosts));
  std::error_code ec;
  bool created = fs::create_directories(pki_dir, ec);
  if (ec) return Internal("cannot create directory " + pki_dir.string() + ": " + ec.message());
  if (created && ::chmod(pki_dir.c_str(), 0700) != 0) {
    return Internal("cannot chmod " + pki_dir.string() + ": " + Errno(errno));
  }
  if (::access(pki_dir.c_str(), W_OK | X_OK) != 0) {
    return Internal("directory " + pki_dir.string() + " is not writable: " + Errno(errno));
  }
  VDISK_ASSIGN_OR_RETURN(std::unique_ptr<DirLock> lock, DirLock::Acquire(pki_dir / ".lock"));

  ServingPki pki;
  pki.ca_cert = pki_dir / "ca.crt";
  pki.server_cert = pki_dir / "server.crt";
  pki.server_key = pki_dir / "server.key";
  fs::path ca_key = pki_dir / "ca.key";
  fs::path token_path = pki_dir / "admin.token";
  int64_t now = static_cast<int64_t>(std::time(nullptr));

  VDISK_ASSIGN_OR_RETURN(Ca ca, LoadOrCreateCa(pki.ca_cert, ca_key, now));
  VDISK_RETURN_IF_ERROR(EnsureServerCert(ca, pki.server_cert, pki.server_key, parsed, now));
  VDISK_ASSIGN_OR_RETURN(pki.admin_token, LoadOrCreateToken(token_path));
  for (const fs::path& p : {ca_key, pki.server_key, token_path}) {
    VDISK_RETURN_IF_ERROR(EnsurePrivate(p));
  }
  pki.ca_pem = std::move(ca.pem);
  return pki;
}

Status WriteKubeconfig(const fs::path& path, const std::string& server_url, const ServingPki& pki) {
  if (server_url.rfind("https://", 0) != 0 || server_url.size() <= 8) {
    return InvalidArgument("kubeconfig server URL must be an https:// URL, got \"" + server_url +
                           "\"");
  }
  if (pki.ca_pem.empty() || pki.admin_token.empty()) {
    return InvalidArgument("kubeconfig needs the CA certificate and the admin token");
  }
  // A JSON string is a valid YAML double-quoted scalar, so any URL is quoted safely.
  std::string url = nlohmann::json(server_url).dump();
  std::string token = nlohmann::json(pki.admin_token).dump();
  std::string yaml = fmt::format(R"(apiVersion: v1
kind: Config
clusters:
- name: vdisk
  cluster:
    server: {}
    certificate-authority-data: {}
users:
- name: admin
  user:
    token: {}
contexts:
- name: vdisk
  context:
    cluster: vdisk
    user: admin
current-context: vdisk
preferences: {{}}
)",
                                 url, Base64Encode(pki.ca_pem), token);
  fs::path parent = path.parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    fs::create_directories(parent, ec);
    if (ec) return Internal("cannot create directory " + parent.string() + ": " + ec.message());
  }
  return WriteFileAtomic(path, yaml, 0600);
}

bool IsAdminBearer(std::string_view authorization_header, const ServingPki& pki) {
  if (pki.admin_token.empty()) return false;
  std::string_view h = TrimSpace(authorization_header);
  constexpr std::string_view kScheme = "bearer";
  if (h.size() <= kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(h[i])) != kScheme[i]) return false;
  }
  h.remove_prefix(kScheme.size());
  if (h.front() != ' ' && h.front() != '\t') return false;
  std::string_view token = TrimSpace(h);
  if (token.empty()) return false;
  for (char c : token) {
    if (!IsTokenChar(c)) return false;
  }
  // Compare digests so that neither the contents nor the length of the token leak via timing.
  auto a = Sha256(token);
  auto b = Sha256(pki.admin_token);
  return a && b && CRYPTO_memcmp(a->data(), b->data(), a->size()) == 0;
}

}  // namespace vdisk::server

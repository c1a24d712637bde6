#include "kubeclient/kubeconfig.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/base64.h"

namespace vdisk::kubeclient {
namespace {

namespace fs = std::filesystem;

std::string Config(const std::string& current, const std::string& extra_user = "") {
  return "apiVersion: v1\nkind: Config\n"
         "clusters:\n"
         "- name: c1\n  cluster:\n    server: https://10.0.0.1:6443/\n"
         "    certificate-authority-data: " +
         Base64Encode("CA-ONE") +
         "\n"
         "- name: c2\n  cluster:\n    server: https://10.0.0.2:6443\n"
         "    insecure-skip-tls-verify: true\n"
         "users:\n"
         "- name: u1\n  user:\n    token: tok-1\n" +
         extra_user +
         "contexts:\n"
         "- name: one\n  context: {cluster: c1, user: u1, namespace: team}\n"
         "- name: two\n  context: {cluster: c2, user: u2}\n"
         "current-context: " +
         current + "\n";
}

TEST(Kubeconfig, ResolvesTheCurrentContext) {
  auto access = ResolveKubeconfig({{Config("one"), "/etc/k/config"}}, "");
  ASSERT_TRUE(access.ok()) << access.status().message();
  EXPECT_EQ(access->server, "https://10.0.0.1:6443");
  EXPECT_EQ(access->tls.ca_pem, "CA-ONE");
  EXPECT_FALSE(access->tls.insecure_skip_verify);
  EXPECT_EQ(access->bearer_token, "tok-1");
  EXPECT_EQ(access->ns, "team");
}

TEST(Kubeconfig, ExplicitContextAndFilesRelativeToTheKubeconfig) {
  fs::path dir = fs::temp_directory_path() / ("kubeconfig-test-" + std::to_string(::getpid()));
  fs::create_directories(dir / "certs");
  std::ofstream(dir / "certs" / "client.crt") << "CERT";
  std::ofstream(dir / "certs" / "client.key") << "KEY";
  std::ofstream(dir / "token") << "tok-from-file\n";
  std::string user2 =
      "- name: u2\n  user:\n    client-certificate: certs/client.crt\n"
      "    client-key: " +
      (dir / "certs" / "client.key").string() + "\n    tokenFile: token\n";
  auto access = ResolveKubeconfig({{Config("one", user2), dir / "config"}}, "two");
  ASSERT_TRUE(access.ok()) << access.status().message();
  EXPECT_EQ(access->server, "https://10.0.0.2:6443");
  EXPECT_TRUE(access->tls.insecure_skip_verify);
  EXPECT_EQ(access->tls.client_cert_pem, "CERT");
  EXPECT_EQ(access->tls.client_key_pem, "KEY");
  EXPECT_EQ(access->bearer_token, "tok-from-file");
  EXPECT_EQ(access->ns, "default");
  fs::remove_all(dir);
}

TEST(Kubeconfig, FirstFileWinsWhenMerging) {
  std::string first = "current-context: two\nusers:\n- name: u2\n  user: {token: early}\n";
  auto access = ResolveKubeconfig({{first, "/a"}, {Config("one"), "/b"}}, "");
  ASSERT_TRUE(access.ok()) << access.status().message();
  EXPECT_EQ(access->server, "https://10.0.0.2:6443");
  EXPECT_EQ(access->bearer_token, "early");
}

TEST(Kubeconfig, ErrorsNameWhatIsMissing) {
  auto missing_context = ResolveKubeconfig({{Config("three"), "/k"}}, "");
  EXPECT_NE(missing_context.status().message().find("context \"three\" not found"),
            std::string::npos);
  auto missing_user = ResolveKubeconfig({{Config("two"), "/k"}}, "");
  EXPECT_NE(missing_user.status().message().find("user \"u2\""), std::string::npos);
  auto no_current = ResolveKubeconfig({{"clusters: []\n", "/k"}}, "");
  EXPECT_NE(no_current.status().message().find("current-context"), std::string::npos);
  auto bad_base64 = ResolveKubeconfig(
      {{"current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\nclusters:\n"
        "- name: c\n  cluster: {server: 'https://h', certificate-authority-data: '!!'}\n",
        "/k"}},
      "");
  EXPECT_NE(bad_base64.status().message().find("certificate-authority-data"), std::string::npos);
}

TEST(Kubeconfig, MalformedDocumentsAreErrorsNotCrashes) {
  for (const char* text :
       {"[1, 2", "- a\n- b\n", "current-context: [x]\n", "contexts: {a: 1}\ncurrent-context: a\n",
        "current-context: a\ncontexts:\n- name: a\n  context: 7\n",
        "current-context: a\ncontexts:\n- name: a\n  context: {cluster: c}\nclusters:\n- name: c\n"
        "  cluster: {server: ftp://h}\n",
        "\t\x01: \xff"}) {
    auto access = ResolveKubeconfig({{text, "/k"}}, "");
    EXPECT_FALSE(access.ok()) << text;
  }
}

}  // namespace
}  // namespace vdisk::kubeclient

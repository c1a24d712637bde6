// api_load: creates N DataVolumes through the vdisk API from C concurrent keep-alive HTTPS
// connections and prints one JSON object with the results.
//
//   api_load --url https://127.0.0.1:PORT --token-file DIR/pki/admin.token --ca DIR/pki/ca.crt
//            [--count 10000] [--concurrency 8] [--prefix bench-] [--namespace default]
//
// Each worker thread owns one httplib::SSLClient (one TLS connection, kept alive, server
// certificate verified against --ca) and takes the next object index from a shared counter, so
// the connections stay busy until all N are done. A create counts as acknowledged only on
// "201 Created"; any other answer is an error (the first few are reported). The client's own CPU
// time is reported too, so a run can tell whether the client was the bottleneck.
//
// Exit status: 0 when every create was acknowledged, 1 when some failed, 2 on bad arguments.
#include <httplib.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
  std::string url;
  std::string token;
  std::string ca;
  std::string prefix = "bench-";
  std::string ns = "default";
  long count = 10000;
  int concurrency = 8;
};

[[noreturn]] void Usage(const std::string& why) {
  std::fprintf(stderr,
               "api_load: %s\n"
               "usage: api_load --url https://HOST:PORT (--token T | --token-file F) --ca CA.crt\n"
               "                [--count N] [--concurrency C] [--prefix P] [--namespace NS]\n",
               why.c_str());
  std::exit(2);
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Usage(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--url") {
      o.url = value();
    } else if (arg == "--token") {
      o.token = value();
    } else if (arg == "--token-file") {
      std::ifstream in(value());
      if (!in) Usage("cannot read the token file");
      std::stringstream ss;
      ss << in.rdbuf();
      o.token = Trim(ss.str());
    } else if (arg == "--ca") {
      o.ca = value();
    } else if (arg == "--count") {
      o.count = std::atol(value().c_str());
    } else if (arg == "--concurrency") {
      o.concurrency = std::atoi(value().c_str());
    } else if (arg == "--prefix") {
      o.prefix = value();
    } else if (arg == "--namespace") {
      o.ns = value();
    } else {
      Usage("unknown argument " + arg);
    }
  }
  if (o.url.rfind("https://", 0) != 0) Usage("--url must be https://HOST:PORT");
  if (o.token.empty()) Usage("--token or --token-file is required");
  if (o.ca.empty()) Usage("--ca is required");
  if (o.count < 1 || o.concurrency < 1) Usage("--count and --concurrency must be positive");
  return o;
}

// "https://127.0.0.1:8443" or "https://[::1]:8443" -> host, port.
void SplitUrl(const std::string& url, std::string& host, int& port) {
  std::string rest = url.substr(8);
  if (size_t slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon + 1 == rest.size()) Usage("--url needs a port");
  host = rest.substr(0, colon);
  port = std::atoi(rest.substr(colon + 1).c_str());
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
}

std::string JsonEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string Body(const std::string& name) {
  return R"({"apiVersion":"cdi.kubevirt.io/v1beta1","kind":"DataVolume","metadata":{"name":")" +
         name +
         R"("},"spec":{"source":{"blank":{}},"pvc":{"accessModes":["ReadWriteOnce"],)"
         R"("resources":{"requests":{"storage":"1Gi"}}}}})";
}

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t i = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  Options o = Parse(argc, argv);
  std::string host;
  int port = 0;
  SplitUrl(o.url, host, port);
  const std::string path = "/apis/cdi.kubevirt.io/v1beta1/namespaces/" + o.ns + "/datavolumes";

  std::atomic<long> next{0};
  std::atomic<long> ok{0};
  std::atomic<long> errors{0};
  std::atomic<long> reconnects{0};
  std::mutex mu;
  std::vector<std::string> first_errors;
  std::vector<std::vector<double>> latencies(static_cast<size_t>(o.concurrency));

  using Clock = std::chrono::steady_clock;
  double cpu_start = CpuSeconds();
  auto start = Clock::now();
  std::vector<std::thread> workers;
  for (int w = 0; w < o.concurrency; ++w) {
    workers.emplace_back([&, w] {
      httplib::SSLClient client(host, port);
      client.set_ca_cert_path(o.ca.c_str());
      client.enable_server_certificate_verification(true);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      client.set_bearer_token_auth(o.token.c_str());
      client.set_connection_timeout(10);
      client.set_read_timeout(60);
      client.set_write_timeout(60);
      auto& mine = latencies[static_cast<size_t>(w)];
      mine.reserve(static_cast<size_t>(o.count / o.concurrency + 1));
      bool was_open = false;
      for (long i = next++; i < o.count; i = next++) {
        std::string body = Body(o.prefix + std::to_string(i));
        if (was_open && !client.is_socket_open()) ++reconnects;
        auto t0 = Clock::now();
        auto res = client.Post(path.c_str(), body, "application/json");
        auto t1 = Clock::now();
        was_open = client.is_socket_open();
        mine.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        if (res && res->status == 201) {
          ++ok;
          continue;
        }
        ++errors;
        std::string what =
            res ? "HTTP " + std::to_string(res->status) + ": " + res->body.substr(0, 300)
                : "request failed: " + httplib::to_string(res.error());
        std::lock_guard lock(mu);
        if (first_errors.size() < 5)
          first_errors.push_back(o.prefix + std::to_string(i) + ": " + what);
      }
    });
  }
  for (auto& t : workers) t.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  double cpu = CpuSeconds() - cpu_start;

  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());

  std::printf("{\"count\": %ld, \"concurrency\": %d, \"ok\": %ld, \"errors\": %ld, ", o.count,
              o.concurrency, ok.load(), errors.load());
  std::printf("\"reconnects\": %ld, \"seconds\": %.4f, \"creates_per_sec\": %.1f, ",
              reconnects.load(), seconds, static_cast<double>(ok.load()) / seconds);
  std::printf("\"client_cpu_seconds\": %.3f, ", cpu);
  std::printf("\"latency_ms\": {\"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, \"max\": %.3f}, ",
              Percentile(all, 0.50), Percentile(all, 0.90), Percentile(all, 0.99),
              all.empty() ? 0.0 : all.back());
  std::printf("\"first_errors\": [");
  for (size_t i = 0; i < first_errors.size(); ++i) {
    std::printf("%s\"%s\"", i ? ", " : "", JsonEscape(first_errors[i]).c_str());
  }
  std::printf("]}\n");
  return errors.load() == 0 ? 0 : 1;
}

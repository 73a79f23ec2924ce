#include "audit/export_sinks.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <system_error>

#include <spdlog/spdlog.h>

namespace phigate::audit {
namespace {

constexpr int kIoTimeoutMs = 10000;
constexpr size_t kUdpMax = 64000;

Error io_error(const std::string& what) {
  return make_error("io", what + ": " + std::strerror(errno));
}

Status write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return io_error("write");
    data.remove_prefix(static_cast<size_t>(n));
  }
  return ok_status();
}

// ---- files ---------------------------------------------------------------------------------

class JsonlSink final : public Sink {
 public:
  JsonlSink(std::string path, uint64_t max_size, uint64_t keep)
      : path_(std::move(path)), max_size_(max_size), keep_(keep) {}
  ~JsonlSink() override {
    if (fd_ >= 0) ::close(fd_);
  }
  std::string describe() const override { return "jsonl " + path_; }

  Status send(const std::vector<ExportItem>& items) override {
    buf_.clear();
    for (const auto& it : items) {
      buf_ += it.body;
      buf_ += '\n';
    }
    if (fd_ < 0) {
      if (auto st = open_file(); !st.ok()) return st;
    }
    if (size_ > 0 && size_ + buf_.size() > max_size_) {
      if (auto st = rotate(); !st.ok()) return st;
    }
    Status st = write_all(fd_, buf_);
    if (st.ok() && ::fdatasync(fd_) != 0) st = io_error("fdatasync " + path_);
    if (!st.ok()) {
      // Leave whole lines only; the batch is written again on retry.
      if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
        spdlog::error("audit export: cannot cut a failed write to {}", path_);
      }
      ::close(fd_);
      fd_ = -1;
      return make_error("io", path_ + ": " + st.error().message);
    }
    size_ += buf_.size();
    return ok_status();
  }

 private:
  Status open_file() {
    // Like data_dir, the export directory is created on first use (owner-only: it holds PHI).
    std::error_code ec;
    auto parent = std::filesystem::path(path_).parent_path();
    if (!parent.empty() && std::filesystem::create_directories(parent, ec)) {
      std::filesystem::permissions(parent, std::filesystem::perms::owner_all,
                                   std::filesystem::perm_options::replace, ec);
    }
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd_ < 0) return io_error("open " + path_);
    struct stat sb {};
    if (::fstat(fd_, &sb) != 0) return io_error("stat " + path_);
    size_ = static_cast<uint64_t>(sb.st_size);
    return ok_status();
  }
  Status rotate() {
    ::close(fd_);
    fd_ = -1;
    auto name = [&](uint64_t i) { return path_ + "." + std::to_string(i); };
    if (keep_ == 0) {
      if (::unlink(path_.c_str()) != 0 && errno != ENOENT) return io_error("unlink " + path_);
    } else {
      ::unlink(name(keep_).c_str());
      for (uint64_t i = keep_ - 1; i >= 1; --i) {
        if (::rename(name(i).c_str(), name(i + 1).c_str()) != 0 && errno != ENOENT) {
          return io_error("rotate " + name(i));
        }
      }
      if (::rename(path_.c_str(), name(1).c_str()) != 0) return io_error("rotate " + path_);
    }
    return open_file();
  }

  std::string path_;
  uint64_t max_size_, keep_;
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string buf_;
};

// ---- sockets -------------------------------------------------------------------------------

struct Endpoint {
  std::string host, port, path;
};

// "scheme://host:port[/path]" (host may be [v6]); false if malformed.
bool parse_endpoint(std::string_view url, std::string_view scheme, Endpoint& out) {
  if (!url.starts_with(scheme)) return false;
  url.remove_prefix(scheme.size());
  size_t slash = url.find('/');
  std::string_view hostport = url.substr(0, slash);
  out.path = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  size_t colon = hostport.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == hostport.size()) return false;
  std::string_view host = hostport.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  out.host = std::string(host);
  out.port = std::string(hostport.substr(colon + 1));
  return !out.host.empty();
}

class Socket {
 public:
  Socket() = default;
  ~Socket() { close(); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  bool open() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  Status connect(const Endpoint& ep, int type) {
    close();
    addrinfo hints{};
    hints.ai_socktype = type;
    addrinfo* res = nullptr;
    if (int rc = ::getaddrinfo(ep.host.c_str(), ep.port.c_str(), &hints, &res); rc != 0) {
      return make_error("io", "resolve " + ep.host + ": " + gai_strerror(rc));
    }
    Status st = make_error("io", "no address for " + ep.host);
    for (addrinfo* a = res; a; a = a->ai_next) {
      st = connect_one(a);
      if (st.ok()) break;
    }
    ::freeaddrinfo(res);
    return st;
  }

  // For stream sockets the receiver never sends: readable means it closed (or reset).
  bool peer_closed() const {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    char c;
    ssize_t n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

 private:
  Status connect_one(addrinfo* a) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) return io_error("socket");
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = ::poll(&p, 1, kIoTimeoutMs);
      int err = 0;
      socklen_t len = sizeof err;
      if (rc == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
        rc = 0;
      } else {
        errno = rc == 0 ? ETIMEDOUT : (err ? err : errno);
        rc = -1;
      }
    }
    if (rc != 0) {
      Error e = io_error("connect");
      ::close(fd);
      return e;
    }
    // Blocking from here on, with timeouts, so a stuck receiver cannot hang the exporter.
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    timeval tv{kIoTimeoutMs / 1000, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    fd_ = fd;
    return ok_status();
  }
  int fd_ = -1;
};

// RFC 3339 UTC with microseconds, as RFC 5424 §6.2.3 allows (TIME-SECFRAC up to 6 digits).
std::string rfc3339(int64_t time_ns) {
  time_t secs = static_cast<time_t>(time_ns / 1000000000);
  long micros = static_cast<long>((time_ns % 1000000000) / 1000);
  if (time_ns < 0) secs = 0, micros = 0;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
  return buf;
}

// RFC 5424 §6: HOSTNAME, APP-NAME and MSGID are PRINTUSASCII (33..126) of bounded length, or "-".
std::string header_field(std::string_view v, size_t max) {
  std::string out;
  for (char c : v.substr(0, max)) out += (c >= 33 && c <= 126) ? c : '_';
  return out.empty() ? "-" : out;
}

class SyslogSink final : public Sink {
 public:
  SyslogSink(std::string address, std::string hostname)
      : address_(std::move(address)), hostname_(header_field(hostname, 255)), pid_(::getpid()) {
    tcp_ = address_.starts_with("tcp://");
    valid_ = parse_endpoint(address_, tcp_ ? "tcp://" : "udp://", ep_);
  }
  std::string describe() const override { return "syslog " + address_; }

  Status send(const std::vector<ExportItem>& items) override {
    if (!valid_) return make_error("config", "bad syslog address " + address_);
    if (sock_.open() && tcp_ && sock_.peer_closed()) sock_.close();
    if (!sock_.open()) {
      if (auto st = sock_.connect(ep_, tcp_ ? SOCK_STREAM : SOCK_DGRAM); !st.ok()) return st;
    }
    buf_.clear();
    for (const auto& it : items) {
      std::string msg = message(it);
      if (tcp_) {
        buf_ += std::to_string(msg.size());
        buf_ += ' ';
        buf_ += msg;
        continue;
      }
      if (msg.size() > kUdpMax) {
        spdlog::warn("audit export: syslog/udp message for seq {} is {} bytes; cut to {}",
                     it.meta.seq, msg.size(), kUdpMax);
        msg.resize(kUdpMax);
      }
      if (::send(sock_.fd(), msg.data(), msg.size(), 0) != static_cast<ssize_t>(msg.size())) {
        Error e = io_error("send to " + address_);
        sock_.close();
        return e;
      }
    }
    if (tcp_) {
      if (auto st = write_all(sock_.fd(), buf_); !st.ok()) {
        sock_.close();
        return make_error("io", address_ + ": " + st.error().message);
      }
    }
    return ok_status();
  }

 private:
  std::string message(const ExportItem& it) const {
    int severity = it.meta.type == "auth_failure" ? 4 : 6;
    std::string m = "<" + std::to_string(13 * 8 + severity) + ">1 ";
    m += rfc3339(it.meta.time_ns);
    m += ' ';
    m += hostname_;
    m += " phigate ";
    m += std::to_string(pid_);
    m += ' ';
    m += header_field(it.meta.type, 32);
    m += " - ";
    m += it.body;
    return m;
  }

  std::string address_, hostname_;
  int pid_;
  bool tcp_ = false, valid_ = false;
  Endpoint ep_;
  Socket sock_;
  std::string buf_;
};

// ---- webhook (Splunk HEC shape) ------------------------------------------------------------

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      out += b;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

class WebhookSink final : public Sink {
 public:
  WebhookSink(std::string url, std::string token, std::string host, ExportFormat f)
      : url_(std::move(url)), token_(std::move(token)), host_(std::move(host)) {
    valid_ = parse_endpoint(url_, "http://", ep_);
    sourcetype_ = f == ExportFormat::kOcsf ? "phigate:ocsf" : "phigate:audit";
  }
  std::string describe() const override { return "webhook " + url_; }

  Status send(const std::vector<ExportItem>& items) override {
    if (!valid_) return make_error("config", "bad webhook url " + url_);
    body_.clear();
    const std::string host = json_string(host_);
    for (const auto& it : items) {
      char t[48];
      std::snprintf(t, sizeof t, "%lld.%06lld",
                    static_cast<long long>(it.meta.time_ns / 1000000000),
                    static_cast<long long>((it.meta.time_ns % 1000000000) / 1000));
      body_ += "{\"time\":";
      body_ += t;
      body_ += ",\"host\":" + host + ",\"source\":\"phigate\",\"sourcetype\":\"" + sourcetype_ +
               "\",\"event\":";
      body_ += it.body;
      body_ += "}\n";
    }
    std::string req =
        "POST " + ep_.path + " HTTP/1.1\r\nHost: " + ep_.host + ":" + ep_.port +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body_.size()) +
        "\r\nConnection: close\r\n";
    if (!token_.empty()) req += "Authorization: Splunk " + token_ + "\r\n";
    req += "\r\n";
    // One connection per batch: simple, and batches are large enough that it does not matter.
    Socket s;
    if (auto st = s.connect(ep_, SOCK_STREAM); !st.ok()) return st;
    if (auto st = write_all(s.fd(), req); !st.ok()) return st;
    if (auto st = write_all(s.fd(), body_); !st.ok()) return st;
    std::string resp;
    char buf[4096];
    while (resp.size() < 65536) {
      ssize_t n = ::recv(s.fd(), buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return io_error("read response from " + url_);
      if (n == 0) break;
      resp.append(buf, static_cast<size_t>(n));
      // The status line is all we need; stop once it is in.
      if (resp.find("\r\n") != std::string::npos) break;
    }
    // "HTTP/1.x NNN reason"
    int status = 0;
    if (resp.starts_with("HTTP/1.") && resp.size() >= 12) {
      std::from_chars(resp.data() + 9, resp.data() + 12, status);
    }
    if (status >= 200 && status < 300) return ok_status();
    std::string line = resp.substr(0, resp.find("\r\n"));
    return make_error("http", url_ + " answered " + (line.empty() ? "nothing" : line));
  }

 private:
  std::string url_, token_, host_, sourcetype_;
  bool valid_ = false;
  Endpoint ep_;
  std::string body_;
};

}  // namespace

std::unique_ptr<Sink> make_jsonl_sink(std::string path, uint64_t max_size, uint64_t keep) {
  return std::make_unique<JsonlSink>(std::move(path), max_size, keep);
}

std::unique_ptr<Sink> make_syslog_sink(std::string address, std::string hostname) {
  return std::make_unique<SyslogSink>(std::move(address), std::move(hostname));
}

std::unique_ptr<Sink> make_webhook_sink(std::string url, std::string token, std::string host,
                                        ExportFormat format) {
  return std::make_unique<WebhookSink>(std::move(url), std::move(token), std::move(host), format);
}

}  // namespace phigate::audit

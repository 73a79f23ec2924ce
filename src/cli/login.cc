#include "cli/login.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "codec/http/target.h"
#include "common/base64.h"
#include "common/bytes.h"
#include "common/crypto.h"

namespace phigate::cli::login {

namespace {

std::string random_b64(size_t n) {
  Bytes b(n);
  random_bytes(b.data(), b.size());
  return base64url_encode(b);
}

Status errno_error(const std::string& what) {
  return make_error("io", what + ": " + std::strerror(errno));
}

// mkdir -p with 0700 for the directories we create; existing ones are left as they are.
Status make_parents(const std::filesystem::path& dir) {
  if (dir.empty()) return ok_status();
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return make_error("io", dir.string() + " is not a directory");
    return ok_status();
  }
  if (auto s = make_parents(dir.parent_path()); !s.ok()) return s;
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return errno_error("mkdir " + dir.string());
  return ok_status();
}

}  // namespace

std::string pkce_verifier() { return random_b64(32); }

std::string pkce_challenge_s256(std::string_view verifier) {
  Sha256 h = sha256(verifier);
  return base64url_encode(ByteSpan(h.data(), h.size()));
}

std::string random_token() { return random_b64(16); }

std::string form_body(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out += '&';
    out += percent_encode(k) + "=" + percent_encode(v);
  }
  return out;
}

Result<std::string> callback_code(std::string_view target, std::string_view expected_state) {
  auto q = target.find('?');
  std::string_view path = target.substr(0, q);
  if (path != "/callback") return make_error("not_callback", "not the callback path");
  auto params = http::parse_query(q == std::string_view::npos ? "" : target.substr(q + 1));
  std::vector<std::string> states, codes;
  std::string error, description;
  for (const auto& [k, v] : params) {
    if (k == "state") states.push_back(v);
    if (k == "code") codes.push_back(v);
    if (k == "error") error = v;
    if (k == "error_description") description = v;
  }
  // The state binds the redirect to the request this process made; without an exact match the
  // redirect may come from another tab or an attacker (login CSRF), and nothing in it is trusted,
  // not even an error.
  if (states.size() != 1 || expected_state.empty() ||
      !equal_ct(ByteSpan(reinterpret_cast<const uint8_t*>(states[0].data()), states[0].size()),
                ByteSpan(reinterpret_cast<const uint8_t*>(expected_state.data()),
                         expected_state.size()))) {
    return make_error("state_mismatch", "the callback's state does not match this login");
  }
  if (!error.empty()) {
    return make_error("idp_error", error + (description.empty() ? "" : ": " + description));
  }
  if (codes.size() != 1 || codes[0].empty()) return make_error("no_code", "no code in callback");
  return codes[0];
}

std::string default_token_path() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  std::string base;
  if (xdg && *xdg == '/') {
    base = xdg;
  } else {
    const char* home = std::getenv("HOME");
    base = std::string(home && *home ? home : ".") + "/.config";
  }
  return base + "/phigate/token";
}

Status write_token_file(const std::string& path, std::string_view token) {
  std::filesystem::path p(path);
  if (auto s = make_parents(p.parent_path()); !s.ok()) return s;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode)) {
      return make_error("unsafe_file", path + " exists and is not a regular file");
    }
    if (st.st_uid != ::geteuid()) return make_error("unsafe_file", path + " is not owned by you");
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
      return make_error("unsafe_file", path + " is group- or world-writable; refusing to write");
    }
  } else if (errno != ENOENT) {
    return errno_error("stat " + path);
  }
  // Temporary file next to the target, created 0600 (O_EXCL: never follows a planted link), then
  // renamed: a reader never sees a half-written token, and the mode holds from the first byte.
  std::string tmp = path + ".tmp-" + random_id();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return errno_error("create " + tmp);
  std::string data = std::string(token) + "\n";
  const char* ptr = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd, ptr, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      auto err = errno_error("write " + tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return err;
    }
    ptr += n;
    left -= static_cast<size_t>(n);
  }
  // The umask cannot widen 0600, but fchmod makes the mode explicit whatever the umask is.
  if (::fchmod(fd, 0600) != 0 || ::fsync(fd) != 0) {
    auto err = errno_error("sync " + tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return err;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto err = errno_error("rename to " + path);
    ::unlink(tmp.c_str());
    return err;
  }
  return ok_status();
}

}  // namespace phigate::cli::login

#include "cli/login.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "../temp_dir.h"

namespace phigate::cli::login {
namespace {

mode_t mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::string read_all(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

TEST(Pkce, Rfc7636AppendixB) {
  EXPECT_EQ(pkce_challenge_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

TEST(Pkce, VerifierShapeAndRandomness) {
  std::string a = pkce_verifier(), b = pkce_verifier();
  EXPECT_EQ(a.size(), 43u);  // RFC 7636 §4.1: 43..128 characters
  EXPECT_NE(a, b);
  for (char c : a) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
  EXPECT_NE(random_token(), random_token());
}

TEST(FormEncode, ReservedCharacters) {
  EXPECT_EQ(percent_encode("a b&c=d/é~"), "a%20b%26c%3Dd%2F%C3%A9~");
  EXPECT_EQ(form_body({{"x", "1"}, {"redirect_uri", "http://127.0.0.1:5/callback"}}),
            "x=1&redirect_uri=http%3A%2F%2F127.0.0.1%3A5%2Fcallback");
}

TEST(Callback, AcceptsMatchingState) {
  auto r = callback_code("/callback?code=abc%2Fd&state=s1", "s1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "abc/d");
}

TEST(Callback, RefusesWrongMissingOrRepeatedState) {
  EXPECT_EQ(callback_code("/callback?code=abc&state=s2", "s1").error().code, "state_mismatch");
  EXPECT_EQ(callback_code("/callback?code=abc", "s1").error().code, "state_mismatch");
  EXPECT_EQ(callback_code("/callback?code=abc&state=s1&state=s2", "s1").error().code,
            "state_mismatch");
  EXPECT_EQ(callback_code("/callback?code=abc&state=", "").error().code, "state_mismatch");
  // An error with a foreign state is not believed either: it must not end the login.
  EXPECT_EQ(callback_code("/callback?error=access_denied&state=x", "s1").error().code,
            "state_mismatch");
}

TEST(Callback, OtherPathsErrorsAndMissingCode) {
  EXPECT_EQ(callback_code("/favicon.ico", "s1").error().code, "not_callback");
  EXPECT_EQ(callback_code("/callbackx?state=s1&code=a", "s1").error().code, "not_callback");
  auto e = callback_code("/callback?error=access_denied&error_description=no&state=s1", "s1");
  EXPECT_EQ(e.error().code, "idp_error");
  EXPECT_NE(e.error().message.find("access_denied"), std::string::npos);
  EXPECT_EQ(callback_code("/callback?state=s1", "s1").error().code, "no_code");
}

TEST(TokenFile, CreatesDirectoriesAndFile0600) {
  testing::TempDir dir;
  std::string path = dir.file("a/b/token");
  ::umask(0);  // even a permissive umask must not widen the modes
  ASSERT_TRUE(write_token_file(path, "tok").ok());
  ::umask(022);
  EXPECT_EQ(mode_of(path), 0600u);
  EXPECT_EQ(mode_of(dir.file("a/b")), 0700u);
  EXPECT_EQ(mode_of(dir.file("a")), 0700u);
  EXPECT_EQ(read_all(path), "tok\n");
  // Replacing an existing private file keeps 0600.
  ASSERT_TRUE(write_token_file(path, "tok2").ok());
  EXPECT_EQ(read_all(path), "tok2\n");
  EXPECT_EQ(mode_of(path), 0600u);
}

TEST(TokenFile, RefusesGroupOrWorldWritableAndSymlinks) {
  testing::TempDir dir;
  std::string path = dir.file("token");
  { std::ofstream(path) << "old\n"; }
  ::chmod(path.c_str(), 0620);
  EXPECT_EQ(write_token_file(path, "t").error().code, "unsafe_file");
  ::chmod(path.c_str(), 0602);
  EXPECT_EQ(write_token_file(path, "t").error().code, "unsafe_file");
  EXPECT_EQ(read_all(path), "old\n");
  std::string link = dir.file("link");
  ASSERT_EQ(::symlink(path.c_str(), link.c_str()), 0);
  EXPECT_EQ(write_token_file(link, "t").error().code, "unsafe_file");
}

TEST(TokenFile, DefaultPathFollowsXdg) {
  const char* old = std::getenv("XDG_CONFIG_HOME");
  std::string saved = old ? old : "";
  const char* old_home = std::getenv("HOME");
  std::string saved_home = old_home ? old_home : "";
  ::setenv("XDG_CONFIG_HOME", "/x/cfg", 1);
  EXPECT_EQ(default_token_path(), "/x/cfg/phigate/token");
  ::setenv("XDG_CONFIG_HOME", "relative", 1);  // the XDG spec says relative values are ignored
  ::setenv("HOME", "/home/u", 1);
  EXPECT_EQ(default_token_path(), "/home/u/.config/phigate/token");
  ::setenv("HOME", saved_home.c_str(), 1);
  if (old) {
    ::setenv("XDG_CONFIG_HOME", saved.c_str(), 1);
  } else {
    ::unsetenv("XDG_CONFIG_HOME");
  }
}

}  // namespace
}  // namespace phigate::cli::login

#pragma once
// A private temporary directory for one test, removed with everything in it when it goes away.
#include <stdlib.h>

#include <filesystem>
#include <string>

namespace phigate::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "phigate-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();  // nowhere to run the test
    path_ = tmpl;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace phigate::testing

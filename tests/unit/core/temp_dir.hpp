#pragma once
// A fresh directory under the system temp dir for one test, removed with
// everything in it. Shared by the tests of every module that touches files.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <string>

namespace regcache::testing {

class temp_dir {
 public:
  temp_dir() {
    static std::atomic<unsigned> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("regcache-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
             std::to_string(std::random_device{}()));
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace regcache::testing

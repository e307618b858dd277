// Tests of the identity file: created private (0600) and complete, read back to the same
// key pair, refused when others may read it or when it is not an identity file.
#include "kittengrad/real/identity_file.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace kittengrad {
namespace {

namespace fs = std::filesystem;

class IdentityFileTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(crypto_init()); }

  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "kg-identity-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/peer.key";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes `text` to path_ with `mode`.
  void write_file(const std::string& text, mode_t mode) {
    { std::ofstream(path_, std::ios::binary) << text; }
    ASSERT_EQ(::chmod(path_.c_str(), mode), 0);
  }

  void expect_refused(const std::vector<std::string>& words) {
    Result<KeyPair> keys = load_or_create_identity(path_);
    ASSERT_FALSE(keys.ok()) << "accepted " << path_;
    for (const std::string& w : words) {
      EXPECT_NE(keys.error().detail.find(w), std::string::npos)
          << "'" << w << "' not in: " << keys.error().detail;
    }
  }

  static std::array<std::uint8_t, 32> some_seed() {
    std::array<std::uint8_t, 32> seed{};
    for (std::size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<std::uint8_t>(7 * i + 1);
    return seed;
  }

  std::string dir_;
  std::string path_;
};

TEST_F(IdentityFileTest, CreatesAPrivateFileAndReadsTheSameKeysBack) {
  Result<KeyPair> made = load_or_create_identity(path_);
  ASSERT_TRUE(made.ok()) << made.error().detail;
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_size, static_cast<off_t>(std::string(kIdentityHeader).size() + 1 + 64 + 1));

  Result<KeyPair> again = load_or_create_identity(path_);
  ASSERT_TRUE(again.ok()) << again.error().detail;
  EXPECT_EQ(again->public_key, made->public_key);
  EXPECT_EQ(again->secret_key, made->secret_key);

  // Only the identity is left in the directory: no temporary file.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{"peer.key"});
}

TEST_F(IdentityFileTest, TwoNewIdentitiesDiffer) {
  Result<KeyPair> a = load_or_create_identity(path_);
  Result<KeyPair> b = load_or_create_identity(dir_ + "/client.key");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->public_key, b->public_key);
}

TEST_F(IdentityFileTest, ReadsAFileWrittenByHandToItsSeedsKeys) {
  write_file(identity_file_text(some_seed()), 0600);
  Result<KeyPair> keys = load_or_create_identity(path_);
  ASSERT_TRUE(keys.ok()) << keys.error().detail;
  const KeyPair want = keypair_from_seed(some_seed());
  EXPECT_EQ(keys->public_key, want.public_key);
  EXPECT_EQ(keys->secret_key, want.secret_key);
  EXPECT_EQ(identity_file_text(some_seed()).substr(0, 27), std::string(kIdentityHeader) + "\n");
}

TEST_F(IdentityFileTest, RefusesAFileOthersMayRead) {
  for (const mode_t mode : {0644, 0640, 0604, 0660, 0602}) {
    SCOPED_TRACE(mode);
    write_file(identity_file_text(some_seed()), mode);
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode));
    expect_refused({path_, std::string("mode ") + text, "chmod 600"});
  }
  write_file(identity_file_text(some_seed()), 0400);  // owner read-only is fine
  EXPECT_TRUE(load_or_create_identity(path_).ok());
}

TEST_F(IdentityFileTest, RefusesWrongLengthOrFormat) {
  const std::string good = identity_file_text(some_seed());
  write_file(good.substr(0, good.size() - 2), 0600);
  expect_refused({path_, "bytes", "right file"});
  write_file(good + "\n", 0600);
  expect_refused({path_, "bytes"});
  write_file("", 0600);
  expect_refused({path_, "is 0 bytes"});

  std::string other_header = good;
  other_header[0] = 'K';
  write_file(other_header, 0600);
  expect_refused({path_, kIdentityHeader});

  std::string upper = good;
  upper[upper.size() - 2] = 'A';  // hex digits are lowercase
  write_file(upper, 0600);
  expect_refused({path_, "hex digit"});

  std::string no_newline = good;
  no_newline.back() = ' ';
  write_file(no_newline, 0600);
  expect_refused({path_, "right file"});
}

TEST_F(IdentityFileTest, RefusesADirectoryAndAMissingDirectory) {
  ASSERT_TRUE(fs::create_directory(path_));
  ASSERT_EQ(::chmod(path_.c_str(), 0700), 0);
  expect_refused({path_, "not a regular file"});
  path_ = dir_ + "/missing/peer.key";
  expect_refused({path_, "cannot create", "directory exists"});
}

}  // namespace
}  // namespace kittengrad

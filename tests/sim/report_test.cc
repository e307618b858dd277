// report_test.cc — `kittengrad report` on a run file, with a stand-in plotting module.
#include "kittengrad/sim/report.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "../runs/sample_run.h"
#include "kittengrad/runs/run_file.h"

namespace kittengrad::sim {
namespace {

namespace fs = std::filesystem;
using runs::write_run_file;
using runs::testing::populated;
using runs::testing::TempDirTest;

// Sets an environment variable for one test and restores it after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_.has_value()) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class ReportTest : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    ASSERT_TRUE(fs::exists("/usr/bin/python3")) << "no /usr/bin/python3 (apt-get install python3)";
    fs::create_directories(dir_ / "analysis" / "kittengrad");
    std::ofstream(dir_ / "analysis" / "kittengrad" / "__init__.py") << "";
    ASSERT_EQ(write_run_file(path("run.h5"), populated()), "");
  }
  void plots_module(const std::string& body) {
    std::ofstream(dir_ / "analysis" / "kittengrad" / "plots.py") << body;
  }
  int report(const std::string& out_dir) {
    out_.str("");
    err_.str("");
    ScopedEnv env("KG_ANALYSIS_DIR", (dir_ / "analysis").string());
    return run_report(path("run.h5"), out_dir, out_, err_);
  }
  std::ostringstream out_, err_;
};

TEST_F(ReportTest, PrintsTheSummaryAndThePlotsWritten) {
  plots_module(
      "import os, sys\n"
      "run, out = sys.argv[1], sys.argv[2]\n"
      "assert os.path.isfile(run) and os.path.isdir(out)\n"
      "for name in ['timeseries.png', 'latency.png']:\n"
      "    p = os.path.join(out, name)\n"
      "    open(p, 'wb').write(b'png')\n"
      "    print(p)\n");
  ASSERT_EQ(report(path("plots")), 0) << err_.str();
  const std::string text = out_.str();
  EXPECT_NE(text.find("lookup latency"), std::string::npos) << text;
  EXPECT_NE(text.find("wrote:\n  " + path("plots/timeseries.png") + "\n  " +
                      path("plots/latency.png") + "\n"),
            std::string::npos)
      << text;
  EXPECT_TRUE(fs::exists(path("plots/latency.png")));
}

TEST_F(ReportTest, DefaultFolderIsBesideTheRun) {
  plots_module("import sys\nprint(sys.argv[2])\n");
  ASSERT_EQ(report(""), 0) << err_.str();
  EXPECT_TRUE(fs::is_directory(path("run-report")));
  EXPECT_EQ(default_report_dir("runs/a.h5"), "runs/a-report");
}

TEST_F(ReportTest, FailingModuleShowsItsMessages) {
  plots_module("import sys\nsys.stderr.write('figure exploded\\n')\nsys.exit(3)\n");
  EXPECT_EQ(report(path("plots")), 1);
  EXPECT_NE(err_.str().find("status 3"), std::string::npos) << err_.str();
  EXPECT_NE(err_.str().find("figure exploded"), std::string::npos) << err_.str();
}

TEST_F(ReportTest, MissingMatplotlibSaysWhatToInstall) {
  plots_module("raise ModuleNotFoundError(\"No module named 'matplotlib'\")\n");
  EXPECT_EQ(report(path("plots")), 1);
  EXPECT_NE(err_.str().find("'matplotlib' is missing"), std::string::npos) << err_.str();
  EXPECT_NE(err_.str().find("apt-get install python3-matplotlib python3-h5py"), std::string::npos)
      << err_.str();
}

TEST_F(ReportTest, MissingModuleNamesKgAnalysisDir) {
  // No plots.py in the stand-in package.
  EXPECT_EQ(report(path("plots")), 1);
  EXPECT_NE(err_.str().find("KG_ANALYSIS_DIR"), std::string::npos) << err_.str();
}

TEST_F(ReportTest, MissingPythonSaysWhatToInstall) {
  plots_module("print('never')\n");
  ScopedEnv python("KG_PYTHON", path("no-such-python"));
  EXPECT_EQ(report(path("plots")), 1);
  EXPECT_NE(err_.str().find("apt-get install"), std::string::npos) << err_.str();
  EXPECT_NE(err_.str().find("KG_PYTHON"), std::string::npos) << err_.str();
}

TEST_F(ReportTest, BadRunFileOrOutputFolderIsBadInput) {
  std::ostringstream out, err;
  EXPECT_EQ(run_report(path("missing.h5"), path("plots"), out, err), 2);
  EXPECT_NE(err.str().find("missing.h5"), std::string::npos) << err.str();
  std::ofstream(path("a-file")) << "x";
  plots_module("print('never')\n");
  EXPECT_EQ(report(path("a-file")), 2);
  EXPECT_NE(err_.str().find("a-file"), std::string::npos) << err_.str();
}

}  // namespace
}  // namespace kittengrad::sim

"""Builds the kittengrad package: the Python files of analysis/kittengrad/ and the compiled
module kittengrad._native, which CMake builds (target kg_native).

The CMake build tree is KG_BUILD_DIR if set, else ./build when it is already configured
(after `make build` the module is up to date and installing takes seconds), else a fresh
tree under setuptools' temporary folder (a full build: minutes).
"""

import glob
import os
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = os.environ.get("KG_BUILD_DIR") or os.path.join(ROOT, "build")
        if not os.path.exists(os.path.join(build_dir, "CMakeCache.txt")):
            build_dir = os.path.join(os.path.abspath(self.build_temp), "cmake")
            subprocess.check_call([
                "cmake", "-S", ROOT, "-B", build_dir, "-G", "Ninja",
                "-DCMAKE_BUILD_TYPE=RelWithDebInfo", "-DKG_BUILD_BENCH=OFF",
                f"-DPython3_EXECUTABLE={sys.executable}"])
        subprocess.check_call(["cmake", "--build", build_dir, "--target", "kg_native",
                               "-j", str(os.cpu_count() or 1)])
        built = glob.glob(os.path.join(build_dir, "python", "kittengrad", "_native*.so"))
        if not built:
            raise RuntimeError(f"CMake built no kittengrad/_native*.so under {build_dir}")
        target = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(built[0], target)


setup(
    packages=["kittengrad"],
    package_dir={"kittengrad": "analysis/kittengrad"},
    ext_modules=[Extension("kittengrad._native", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
)

"""Builds the compiled half of the Python package (_nudge) with the project's CMake, for the
interpreter running this script, and puts it next to python/nudge/__init__.py in the wheel.
pyproject.toml holds the metadata. NUDGE_CMAKE_BUILD_DIR=<tree> reuses a configured tree (the
test suite's, so its wheel test does not compile the library twice); otherwise a tree of its
own under build/ is configured and only the module's target is built."""
import glob
import os
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))


class CMakeExtension(Extension):
    def __init__(self):
        super().__init__("nudge._nudge", sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        tree = os.environ.get("NUDGE_CMAKE_BUILD_DIR") or os.path.join(ROOT, "build", "pip")
        if not os.path.exists(os.path.join(tree, "CMakeCache.txt")):
            subprocess.run(["cmake", "-S", ROOT, "-B", tree, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
                            f"-DPython3_EXECUTABLE={sys.executable}", "-DNUDGE_BUILD_TESTS=OFF",
                            "-DNUDGE_BUILD_BENCH=OFF"], check=True)
        jobs = str(os.cpu_count() or 1)
        subprocess.run(["cmake", "--build", tree, "--target", "nudge_python", "-j", jobs], check=True)
        built = glob.glob(os.path.join(tree, "python", "nudge", "_nudge*.so"))
        if len(built) != 1:
            raise RuntimeError(f"nudge: expected one _nudge module in {tree}/python/nudge, found {built}")
        target = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(built[0], target)


setup(ext_modules=[CMakeExtension()], cmdclass={"build_ext": CMakeBuild})

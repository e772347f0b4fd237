"""Install-time build of the kernels compiled ahead of time (``sleepsignal._aot``).

Everything else about the package is in ``pyproject.toml``. ``build_ext`` compiles the
kernels listed in ``sleepsignal/_aot_signatures.txt`` with ``numba.pycc`` for this
machine's CPU (see ``sleepsignal/_aot_build.py``). It is optional: without a C compiler,
without ``numba.pycc`` (a future numba), or when anything in the export fails, it prints
one line and the pure package is installed, whose kernels compile just in time as
before. ``SLEEPSIGNAL_NO_AOT_BUILD=1`` skips it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent


class BuildAot(build_ext):
    """``build_ext`` that runs ``sleepsignal._aot_build.build`` instead of a C build."""

    def run(self) -> None:
        self._outputs: list[str] = []
        inplace = self.inplace or getattr(self, "editable_mode", False)
        out_dir = HERE / "sleepsignal" if inplace else Path(self.build_lib) / "sleepsignal"
        for old in [*out_dir.glob("_aot.*"), out_dir / "_aot_manifest.json"]:
            old.unlink(missing_ok=True)  # a previous build's (setuptools reuses build/)
        if os.environ.get("SLEEPSIGNAL_NO_AOT_BUILD", "") not in ("", "0"):
            print("sleepsignal: SLEEPSIGNAL_NO_AOT_BUILD is set: kernels will compile just in time")
            return
        try:
            # the build compiles each kernel (or loads it from a numba cache folder named
            # by the hash of the sources: a second install of the same sources loads),
            # then exports it; a stale line of the signature list is left out
            sys.path.insert(0, str(HERE))
            from sleepsignal._aot_build import build

            files = build(out_dir)
        except Exception as exc:  # any failure: the pure package
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            reason = (lines or [""])[0][:200]
            print(
                "sleepsignal: kernels not compiled ahead of time "
                f"({type(exc).__name__}: {reason}); installing the pure package "
                "(its kernels compile just in time)",
                file=sys.stderr,
            )
            return
        self._outputs = [str(f) for f in files]
        print(f"sleepsignal: kernels compiled ahead of time into {files[0].name}")

    def get_outputs(self) -> list[str]:
        return list(getattr(self, "_outputs", []))

    def get_output_mapping(self) -> dict[str, str]:
        return {}


if __name__ == "__main__":  # as setuptools runs it (tests import BuildAot alone)
    setup(
        # a placeholder: BuildAot builds the module (optional), so the wheel is
        # platform-specific
        ext_modules=[Extension("sleepsignal._aot", sources=[])],
        cmdclass={"build_ext": BuildAot},
    )

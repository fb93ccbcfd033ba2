"""Builds the compiled custody engine (core_ext/_engine.pyx) and its JSON Lines scanner
(core_ext/_linescan.pyx).

All metadata lives in pyproject.toml; this file exists only for the extensions. Without them
the pure-Python reference engine and the general decoder do the same work, slower.
"""

import os

from setuptools import Extension, setup

ext_modules = []
sources = [name for name in ("_engine", "_linescan") if os.path.exists(os.path.join("core_ext", f"{name}.pyx"))]
if sources:
    from Cython.Build import cythonize

    ext_modules = cythonize(
        [Extension(f"core_ext.{name}", [f"core_ext/{name}.pyx"], extra_compile_args=["-O3"]) for name in sources],
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    )

setup(ext_modules=ext_modules)

"""Builds the compiled custody engine (core_ext/_engine.pyx).

All metadata lives in pyproject.toml; this file exists only for the extension.
If the .pyx is absent (the Cython core not yet written) nothing is compiled and the
pure-Python reference engine is used.
"""
import os

from setuptools import Extension, setup

ext_modules = []
if os.path.exists(os.path.join("core_ext", "_engine.pyx")):
    from Cython.Build import cythonize

    ext_modules = cythonize(
        [Extension("core_ext._engine", ["core_ext/_engine.pyx"], extra_compile_args=["-O3"])],
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    )

setup(ext_modules=ext_modules)

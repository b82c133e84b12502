"""The compiled audit-row check (optional: without a compiler or OpenSSL's headers, `audit verify` runs in Python)."""

from setuptools import Extension, setup

AUDIT_FAST = Extension("manufacturing.core._audit_fast", ["manufacturing/core/_audit_fast.c"], libraries=["crypto"],
                       extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"], optional=True)

setup(ext_modules=[AUDIT_FAST])

"""Which llama.cpp build suits this CPU, and the cache key of that build.

On x86-64 we build *portable* (``GGML_NATIVE=OFF``): ggml then compiles for exactly SSE4.2, AVX, AVX2, BMI2,
FMA and F16C, i.e. x86-64-v3, which every x86 server CPU of the last ten years has. Compile time is the same
as a native build, and for a 270M model on a few threads decode speed is bound by memory, so AVX-512 gains
little; in exchange one cached wheel serves every AVX2 machine, and a CI runner on a different CPU model
still gets a cache hit. Elsewhere (no AVX2, ARM, ...) we fall back to ``GGML_NATIVE=ON`` and key the cache by
a hash of the CPU's feature flags, so a wheel is never installed on a CPU it would crash on.
"""

from __future__ import annotations

import hashlib
import platform
from dataclasses import dataclass
from pathlib import Path

from devservices.localmodels.config import platform_tag

# GGML_NATIVE=OFF turns on exactly these on x86 (ggml/CMakeLists.txt: SSE42 AVX AVX2 BMI2 FMA F16C).
PORTABLE_X86_FLAGS = frozenset({"sse4_2", "avx", "avx2", "bmi2", "fma", "f16c"})
_CPUINFO = Path("/proc/cpuinfo")


@dataclass(frozen=True)
class BuildVariant:
    """How to build llama.cpp for this machine and under which cache key to keep the wheel."""

    key: str
    cmake_args: tuple[str, ...]
    portable: bool


def cpu_flags(cpuinfo: Path = _CPUINFO) -> frozenset[str]:
    """The feature flags of the first CPU (``flags`` on x86, ``Features`` on ARM); empty if unknown."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() in ("flags", "features"):
            return frozenset(value.split())
    return frozenset()


def build_variant(flags: frozenset[str] | None = None, machine: str | None = None) -> BuildVariant:
    """The build for this CPU: portable x86-64-v3 where possible, else native keyed by the CPU's flags."""
    flags = cpu_flags() if flags is None else flags
    machine = (machine or platform.machine()).lower()
    tag = platform_tag()
    if machine in ("x86_64", "amd64") and flags >= PORTABLE_X86_FLAGS:
        return BuildVariant(key=f"{tag}-x86-64-v3", cmake_args=("-DGGML_NATIVE=OFF",), portable=True)
    digest = hashlib.sha256(" ".join(sorted(flags)).encode()).hexdigest()[:12]
    return BuildVariant(key=f"{tag}-native-{digest}", cmake_args=("-DGGML_NATIVE=ON",), portable=False)

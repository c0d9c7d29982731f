"""Make torchaudio from the package registry import next to CPU-only torch (Coqui needs it).

    python -m voices.engines.fix_torchaudio        # after `pip install -e '.[coqui]'`; idempotent

Why: `coqui-tts` imports torchaudio. The only torchaudio releases that accept torch 2.13 are 2.11.x
(py3-none wheels built for "torch 2.11 or newer"), and their C++ extension files (lib/*.so) are
linked against CUDA (libc10_cuda.so, libcudart.so.13), which the CPU build of torch does not ship,
so `import torchaudio` fails with "Could not load this library: .../_torchaudio.so". No CPU build of
torchaudio is on the registry. torchaudio treats absent extension files as "built without the
extension" and runs on pure Python: resampling, spectrograms and torchcodec-based file loading keep
working, only C++-only features (forced alignment, RNN-T loss, CTC decoder) are lost; Coqui's
VITS inference uses none of them.

So this step deletes the CUDA-linked files, and only those, only when torch has no CUDA libraries.
Undo with `pip install --force-reinstall --no-deps torchaudio`.
"""

from __future__ import annotations

import functools
import importlib.util
import subprocess
import sys
from pathlib import Path

# Libraries a CUDA build of a torch extension links against; a CPU torch has none of them.
CUDA_LIBRARIES = (b"libc10_cuda.so", b"libtorch_cuda.so", b"libcudart.so")


@functools.lru_cache(maxsize=1)
def cuda_linked_extensions() -> tuple[Path, ...]:
    """torchaudio's extension files that need CUDA libraries this torch does not have.

    Cheap (no torch import): the library names are plain strings in the ELF files.
    """
    torchaudio = importlib.util.find_spec("torchaudio")
    torch = importlib.util.find_spec("torch")
    if torchaudio is None or torch is None:
        return ()
    torch_lib = Path(torch.submodule_search_locations[0]) / "lib"
    if (torch_lib / "libc10_cuda.so").exists():
        return ()  # a CUDA torch: the extension can load, leave it alone
    lib = Path(torchaudio.submodule_search_locations[0]) / "lib"
    return tuple(path for path in sorted(lib.glob("*.so"))
                 if any(name in path.read_bytes() for name in CUDA_LIBRARIES))


def torchaudio_imports() -> tuple[bool, str]:
    """Whether `import torchaudio` works, tried in a fresh interpreter (a failed import taints this one)."""
    result = subprocess.run([sys.executable, "-c", "import torchaudio"], capture_output=True, text=True)
    lines = result.stderr.strip().splitlines()
    return result.returncode == 0, (lines[-1] if lines else "")


def main() -> int:
    """Remove the CUDA-linked extension files if needed, then check that torchaudio imports."""
    if importlib.util.find_spec("torchaudio") is None:
        print("torchaudio is not installed; nothing to do (the Coqui engine is optional).")
        return 0
    broken = cuda_linked_extensions()
    for path in broken:
        path.unlink()
        print(f"removed {path} (linked against CUDA; torch here is a CPU build)")
    cuda_linked_extensions.cache_clear()
    ok, error = torchaudio_imports()
    if not ok:
        print(f"torchaudio still does not import: {error}", file=sys.stderr)
        return 1
    print("torchaudio imports" + ("" if broken else "; nothing to change"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

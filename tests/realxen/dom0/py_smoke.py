"""dom0 can run the project's Python: the interpreter, the C extensions of the
runtime dependencies, and the stdlib modules the server needs."""
import importlib
import sys
import warnings

warnings.simplefilter("ignore", DeprecationWarning)  # argon2.__version__

MODULES = ["ssl", "sqlite3", "ctypes", "json", "asyncio", "hashlib", "zlib",
           "_cffi_backend", "cffi", "aiohttp", "defusedxml", "argon2", "cryptography",
           "cryptography.hazmat.bindings._rust"]
bad = []
for name in MODULES:
    try:
        mod = importlib.import_module(name)
        print(f"  import {name}: ok {getattr(mod, '__version__', '')}")
    except Exception as e:  # report every failure, not only the first
        print(f"  import {name}: FAILED {type(e).__name__}: {e}")
        bad.append(name)
print(f"  python {sys.version.split()[0]} prefix {sys.prefix}")
sys.exit(1 if bad else 0)

"""Fetches the originals' published wheels from PyPI and loads their modules, so the repository holds none of
their code: `pip download --no-deps` into a cache outside the repository, then a module file is read from the
wheel and imported (or a few named functions are compiled from it), with stand-ins only for the imports it
cannot have on a CPU-only machine.
"""

from __future__ import annotations

import ast
import glob
import importlib.util
import os
import subprocess
import sys
import types
import zipfile

CACHE = os.path.join(os.environ.get("DIFR_CACHE", os.path.expanduser("~/.cache/difr")), "conformance-wheels")


def wheel(name: str, version: str) -> str:
    """The path of `name`==`version`'s wheel, downloaded once (without its dependencies)."""
    folder = os.path.join(CACHE, f"{name}-{version}")
    found = glob.glob(os.path.join(folder, "*.whl"))
    if not found:
        os.makedirs(folder, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
             "--disable-pip-version-check", "-d", folder, f"{name}=={version}"],
            check=True,
        )
        found = glob.glob(os.path.join(folder, "*.whl"))
    if len(found) != 1:
        raise SystemExit(f"expected one wheel of {name}=={version} in {folder}, found {found}")
    return found[0]


def extract(whl: str, member: str) -> str:
    """One file of a wheel, written next to it (Triton reads a kernel's source with inspect, so modules must
    come from real files)."""
    dest = os.path.join(os.path.dirname(whl), "extracted", member)
    if not os.path.exists(dest):
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with zipfile.ZipFile(whl) as z:
            data = z.read(member)
        with open(dest, "wb") as f:
            f.write(data)
    return dest


def stand_in(name: str, **attrs) -> types.ModuleType:
    """Registers a module (and its parent packages) that provides only `attrs`."""
    parts = name.split(".")
    for i in range(1, len(parts)):
        parent = ".".join(parts[:i])
        if parent not in sys.modules:
            pkg = types.ModuleType(parent)
            pkg.__path__ = []
            sys.modules[parent] = pkg
    mod = types.ModuleType(name)
    mod.__dict__.update(attrs)
    sys.modules[name] = mod
    return mod


def load_module(path: str, name: str) -> types.ModuleType:
    """Imports a module file under a private name (several releases of one module can be loaded side by side)."""
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def load_functions(whl: str, member: str, names: list[str], module_name: str, env: dict) -> types.ModuleType:
    """Compiles only the named top-level functions of a wheel's module (with their decorators), in a module
    whose globals are `env`: for modules whose other imports pull in a whole serving stack."""
    src_path = extract(whl, member)
    with open(src_path) as f:
        source = f.read()
    tree = ast.parse(source)
    keep = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in names]
    missing = set(names) - {n.name for n in keep}
    if missing:
        raise SystemExit(f"{member} in {os.path.basename(whl)} has no {sorted(missing)}")
    # Keep the original line numbers so that tracebacks and inspect point into the extracted file.
    module = ast.Module(body=keep, type_ignores=[])
    mod = types.ModuleType(module_name)
    mod.__file__ = src_path
    mod.__dict__.update(env)
    sys.modules[module_name] = mod
    exec(compile(module, src_path, "exec"), mod.__dict__)
    return mod

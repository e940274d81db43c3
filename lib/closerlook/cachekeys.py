"""The on-disk cache: entries keyed by an explicit name and version, each checked against its checksum when read.

Two kinds of entries live under ``data.cache_dir()``:

* results of a function (DirectProbe fits, probe fits): ``cached(store, "directprobe_v1", func)`` keys an entry by
  that name and by a hash of the arguments (joblib's hash of the arguments by their names, the same folder names
  joblib.Memory gave them, so caches made before stay valid). Nothing is keyed by a function's source: joblib did
  that, re-read the source from the file at call time, and wiped a whole cache when lib/ was edited under a
  running kernel. When a change makes earlier results wrong, bump the version in the name (a new name is a new
  folder).
* files that other modules write (representations, fine-tuning runs): they call ``write_checksum`` (or keep a
  manifest of digests) when they write and ``verified`` when they read.

A file is hashed (sha256) once per process and version of the file (path, size, modification time), so the warm
path pays one read of each file it uses. An entry that fails its check, or does not load, is named, moved aside
to ``cache_dir()/corrupt/`` and computed again: a flipped block on disk gives a recomputed number, never a wrong
one. Files written before checksums existed get theirs on first read.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import os
import sys
import time
import weakref
from pathlib import Path


class CorruptCacheEntry(Exception):
    """A cache entry that fails its checksum or does not load; ``path`` is the entry, ``why`` says what is wrong."""

    def __init__(self, path, why: str):
        super().__init__(f"{path}: {why}")
        self.path, self.why = Path(path), why


# --- files and their checksums --------------------------------------------------------------------------------

def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


_digests: dict[tuple, str] = {}     # (path, size, mtime) -> sha256, for the files hashed in this process


def _digest(path: Path) -> str:
    """sha256 of ``path``, hashed once per process and version of the file."""
    st = os.stat(path)
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _digests:
        _digests[key] = sha256_file(path)
    return _digests[key]


def checksum_file(path: Path) -> Path:
    """Where the checksum of ``path`` is kept: beside it, as ``<name>.sha256``."""
    return path.with_name(path.name + ".sha256")


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old file or the new one, never a part (a full disk or a
    kill in the middle leaves the old one)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_checksum(path: Path, final: Path | None = None) -> str:
    """Hash ``path`` and keep the digest beside ``final`` (default: the file itself): a writer hashes its temporary
    file, writes the checksum for the final name, then renames the file into place."""
    digest = sha256_file(path)
    atomic_write_text(checksum_file(Path(final or path)), digest + "\n")
    return digest


def verified(path: Path, expected: str | None = None) -> bool:
    """Does ``path`` hold what was written? Against ``expected`` when given (a run's manifest), else against its
    checksum file; a file with neither (written before checksums existed) gets one now and counts as verified."""
    path = Path(path)
    if expected is None:
        side = checksum_file(path)
        try:
            expected = side.read_text().strip()
        except FileNotFoundError:
            try:
                atomic_write_text(side, _digest(path) + "\n")
            except OSError:   # a read-only cache: checked from now on in this process only
                pass
            return True
    return _digest(path) == expected


_set_aside = itertools.count()


def set_aside(path: Path, why: str) -> Path | None:
    """Move a failed entry (file or folder, with its checksum file) to ``cache_dir()/corrupt/`` and say so in one
    line. Returns where it went (None when another process moved it first)."""
    from .data import cache_dir
    path = Path(path)
    root = cache_dir()
    try:
        name = str(path.resolve().relative_to(root.resolve())).replace(os.sep, "__")
    except ValueError:
        name = path.name
    target = root / "corrupt" / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{next(_set_aside)}-{name}"
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(path, target)
    except FileNotFoundError:
        return None
    side = checksum_file(path)
    if side.exists():
        os.replace(side, target.with_name(target.name + ".sha256"))
    print(f"cache: {name.replace('__', '/')} {why}; moved to corrupt/{target.name} and computed again",
          file=sys.stdout, flush=True)
    return target


# --- manifests: the digests of a folder's files (a fine-tuning run) --------------------------------------------------

MANIFEST = "CHECKSUMS.json"


def write_manifest(folder: Path) -> None:
    """The digest of every file under ``folder`` (but the manifest itself), in ``folder/CHECKSUMS.json``."""
    folder = Path(folder)
    digests = {str(p.relative_to(folder)): _digest(p) for p in sorted(folder.rglob("*"))
               if p.is_file() and p.name != MANIFEST}
    atomic_write_text(folder / MANIFEST, json.dumps(digests, indent=0, sort_keys=True) + "\n")


_manifests: dict[tuple, dict] = {}   # (folder, mtime of its manifest) -> the manifest, read once per process


def _manifest(folder: Path) -> dict:
    """A folder's manifest (FileNotFoundError if it has none; ``CorruptCacheEntry`` if it does not parse). A snapshot
    is read hundreds of times per notebook: the manifest is parsed once."""
    manifest = folder / MANIFEST
    key = (str(manifest), os.stat(manifest).st_mtime_ns)
    if key not in _manifests:
        try:
            _manifests[key] = json.loads(manifest.read_text())
        except ValueError:
            raise CorruptCacheEntry(folder, f"has an unreadable {MANIFEST}") from None
    return _manifests[key]


def check_in_manifest(folder: Path, relative: str) -> None:
    """Raise ``CorruptCacheEntry`` (naming ``folder``) unless ``folder/relative`` matches the folder's manifest. A
    folder without one (written before manifests) gets one now."""
    folder = Path(folder)
    try:
        digests = _manifest(folder)
    except FileNotFoundError:
        try:
            write_manifest(folder)
        except OSError:
            return
        digests = _manifest(folder)
    path = folder / relative
    if relative not in digests:
        raise CorruptCacheEntry(folder, f"has no checksum for {relative}")
    if not path.is_file():
        raise CorruptCacheEntry(folder, f"lacks {relative}")
    if not verified(path, digests[relative]):
        raise CorruptCacheEntry(folder, f"{relative} fails its checksum")


def manifest_files(folder: Path, under: str = "") -> list[str]:
    """The files the manifest of ``folder`` names (those under ``under``)."""
    try:
        digests = _manifest(Path(folder))
    except (FileNotFoundError, CorruptCacheEntry):
        return []
    return sorted(k for k in digests if k.startswith(under))


class ArrayMemory:
    """Arrays read from the cache's files, kept in memory up to `limit` bytes (the least recently used go first),
    by a key that names the file's version (path, time, size) and what was taken from it. Kept read-only, so that
    a cached call on one is named by its identity rather than by hashing its contents at every call (_entries)."""

    def __init__(self, limit: int):
        from collections import OrderedDict
        self.limit, self.used, self.kept = limit, 0, OrderedDict()

    def get(self, key):
        if key in self.kept:
            self.kept.move_to_end(key)
            return self.kept[key]
        return None

    def put(self, key, array) -> None:
        if array.nbytes > self.limit:
            return
        self.kept[key] = array
        self.used += array.nbytes
        while self.used > self.limit:
            _, old = self.kept.popitem(last=False)
            self.used -= old.nbytes


# --- cached function results ---------------------------------------------------------------------------------------

# Where each entry's results lived before it had its own name (same arguments, so the same entry names).
LEGACY = {"directprobe_v1": "closerlook/experiments/_fit_directprobe",
          "clusters_with_twins_v1": "closerlook/experiments/_clusters_with_twins",
          "probe_v1": "closerlook/probes/_probe_result",
          "probe_torch_v1": "closerlook/probes/_probe_result_torch"}


# The entries named in this process, by the identity of their arguments. A chapter asks for the same DirectProbe
# fit of the same snapshot under each of its seven readings, and hashing the arrays (joblib's hash of a 26 MB
# matrix, ~50 ms) was a fifth of a forced run. Only arguments that cannot change are named by identity: arrays
# that are read-only down to the array that owns their memory, and plain values (numbers, strings, None, lists and
# tuples of them); a call with anything else is hashed as before. The hash itself, so the entry, is unchanged.
_entries: dict[tuple, tuple[list, Path]] = {}


def _owner(a):
    """The read-only array that owns the memory of the read-only array ``a``, or None where ``a`` or an array
    between them is writeable (a read-only view of something writeable can change)."""
    import numpy as np
    while isinstance(a, np.ndarray):
        if a.flags.writeable:
            return None
        if a.base is None:
            return a if a.flags.owndata else None
        a = a.base
    return None


def _unchangeable(a) -> bool:
    """A read-only array whose memory belongs to a read-only array (not a read-only view of something writeable)."""
    return _owner(a) is not None


def _plain(v) -> bool:
    if v is None or type(v) in (bool, int, float, str):
        return True
    return type(v) in (list, tuple) and all(_plain(x) for x in v)


def _identity(named: dict):
    """(tokens, arrays) naming a call's arguments without hashing their contents, or None (see _entries)."""
    import numpy as np
    tokens, arrays = [], []
    for k in sorted(named):
        v = named[k]
        if isinstance(v, np.ndarray):
            owner = _owner(v)
            if owner is None:
                return None
            # A view is named by its owner and where in the owner's memory it lies (X[0] of a cached stack is a
            # new view at each call, with the same numbers).
            where = v.__array_interface__["data"][0] - owner.__array_interface__["data"][0]
            tokens.append((k, "array", id(owner), type(v).__name__, where, v.shape, v.strides, v.dtype.str))
            arrays.append(owner)
        elif _plain(v):
            tokens.append((k, "value", repr(v)))
        else:
            return None
    return tuple(tokens), arrays


_as_str: dict[int, tuple] = {}   # id of a read-only label array -> (weakref to it, its labels as str)


def frozen_str(y):
    """Labels as a str array (``np.asarray(y).astype(str)``). For a read-only array (a task's labels), one read-only
    copy kept as long as ``y`` lives, so that the cached calls on it are named by identity (see _entries)."""
    import numpy as np
    if not _unchangeable(y):
        return np.asarray(y).astype(str)
    hit = _as_str.get(id(y))
    if hit is not None and hit[0]() is y:
        return hit[1]
    out = y.astype(str)
    out.flags.writeable = False

    def forget(ref, key=id(y)):
        if _as_str.get(key, (None,))[0] is ref:
            del _as_str[key]
    _as_str[id(y)] = (weakref.ref(y, forget), out)
    return out


class CachedCall:
    """``func`` with its results kept under ``cache_dir()/store/closerlook/cachekeys/name/<arguments' hash>/``."""

    def __init__(self, store: str, name: str, func, ignore=()):
        from .data import cache_dir
        self.name, self.func, self.ignore = name, func, list(ignore)
        root = cache_dir() / store
        self.folder = root / "closerlook" / "cachekeys" / name
        old = root / LEGACY.get(name, "-")
        if old.is_dir():   # entries of an older version (which may still be running) are moved in
            self.folder.mkdir(parents=True, exist_ok=True)
            for entry in old.iterdir():
                if entry.is_dir() and not (self.folder / entry.name).exists():
                    try:
                        entry.rename(self.folder / entry.name)
                    except OSError:   # another process moved it first
                        pass

    def _entry(self, args) -> Path:
        from joblib import hash as joblib_hash
        from joblib.func_inspect import filter_args
        named = filter_args(self.func, self.ignore, args, {})
        known = _identity(named)
        if known is not None:
            tokens, arrays = known
            hit = _entries.get((str(self.folder), tokens))
            if hit is not None and all(ref() is a for ref, a in zip(hit[0], arrays)):
                return hit[1]
        entry = self.folder / joblib_hash(named)
        if known is not None:
            _entries[(str(self.folder), tokens)] = ([weakref.ref(a) for a in arrays], entry)
        return entry

    def check_call_in_cache(self, *args) -> bool:
        return (self._entry(args) / "output.pkl").exists()

    def _read(self, entry: Path):
        """The stored result, or None (after setting a failed entry aside) when there is none to trust."""
        import joblib
        output = entry / "output.pkl"
        if not output.exists():
            return None
        why = None
        try:
            if verified(output):
                return (joblib.load(output),)
            why = "fails its checksum"
        except FileNotFoundError:
            return None
        except Exception as e:   # a file written before checksums that does not unpickle
            why = f"does not load ({type(e).__name__})"
        set_aside(entry, why)
        return None

    def __call__(self, *args):
        import joblib
        from filelock import FileLock
        entry = self._entry(args)
        if (found := self._read(entry)) is not None:
            return found[0]
        entry.parent.mkdir(parents=True, exist_ok=True)
        # One process computes; another asking for the same entry waits for it instead of doing the work twice.
        with FileLock(str(entry.parent / f"{entry.name}.lock")):
            if (found := self._read(entry)) is not None:
                return found[0]
            value = self.func(*args)
            entry.mkdir(parents=True, exist_ok=True)
            tmp = entry / f"output.pkl.tmp{os.getpid()}"
            try:
                joblib.dump(value, tmp)
                write_checksum(tmp, final=entry / "output.pkl")
                os.replace(tmp, entry / "output.pkl")
            finally:
                tmp.unlink(missing_ok=True)
        return value


def cached(store: str, name: str, func, ignore=()) -> CachedCall:
    """``func`` cached on disk under ``store`` as entry ``name`` (e.g. "directprobe_v1"): see the module's note."""
    return CachedCall(store, name, func, ignore)

"""The cost of encrypting contributions to the committee (age v1 through pyrage), against baselines measured
in the same process.

1. Throughput on one large file (default 200 MB of random bytes): `confidential.encrypt_file` (file to file,
   streamed) against a plain file copy (`shutil.copyfile`), and `confidential.decrypt_bytes` (bytes to bytes)
   against keccak256 of the same bytes (`eth_utils.keccak`, what fetch computes on every file); also
   pyrage's streamed `decrypt_io`, the Go `age` tool when it is on PATH, and `fetch_contribution` of that
   file, plaintext vs encrypted. MB = 10^6 bytes; the best of --repeat runs. Peak memory: ru_maxrss of a
   fresh process that runs the operation once (GNU time's %M), next to that of a process that only imports
   what the operation needs.
2. The fetch path at round scale (default 100,000 rows in 1,000 files, breast-cancer-like CSVs written as
   `bench_round.py` writes them): `fetch.fetch_contribution` of every file, plaintext vs encrypted to an
   epoch key, each with a fresh cache folder; then where the encrypted path's time goes (reading, keccak of
   the ciphertext, decrypting, keccak of the plaintext, writing the private cache).

    .venv/bin/python scripts/bench_confidential.py [--mb 200] [--files 1000 --rows 100000] [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

MB = 1_000_000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def best_of(repeat: int, run: Callable[[], object], before: Callable[[], object] | None = None) -> list[float]:
    times = []
    for _ in range(repeat):
        if before is not None:
            before()
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return times


# ----- one operation in a fresh process, for its peak memory

def _child(op: str, source: str, target: str, key: str) -> None:
    """Run `op` once (this process's ru_maxrss is its peak); `key` is an identity string or a recipient."""
    from eth_utils import keccak

    from openledger_chain import confidential

    src, dst = Path(source), Path(target)
    if op == "imports":
        return
    if op == "read":
        src.read_bytes()
    elif op == "keccak":
        keccak(src.read_bytes())
    elif op == "copy":
        shutil.copyfile(src, dst)
    elif op == "encrypt_file":
        confidential.encrypt_file(src, dst, key)
    elif op == "decrypt_bytes":
        confidential.decrypt_bytes(src.read_bytes(), [confidential.pyrage.x25519.Identity.from_str(key)])
    elif op == "decrypt_io":
        with src.open("rb") as reader, dst.open("wb") as writer:
            confidential.pyrage.decrypt_io(reader, writer, [confidential.pyrage.x25519.Identity.from_str(key)])
    elif op in ("fetch_plaintext", "fetch_encrypted"):
        from openledger_chain.fetch import FetchSettings, fetch_contribution

        *identity, content_hash = key.split()
        identities = tuple(confidential.pyrage.x25519.Identity.from_str(i) for i in identity)
        fetched = fetch_contribution(src.name, bytes.fromhex(content_hash),
                                     FetchSettings(base_dir=src.parent, cache_dir=dst, identities=identities))
        assert fetched.path is not None, fetched.excluded
    else:
        raise SystemExit(f"unknown op {op}")


def peak_mb(cmd: list[str]) -> float:
    """Peak resident memory of the process `cmd`, in MB (10^6 bytes), as GNU time reports it (%M: the child's own
    ru_maxrss from wait4). Without /usr/bin/time, wait4 here: a process started from this one by vfork inherits
    this process's peak at exec (Linux keeps the larger), so it is then an upper bound."""
    gnu_time = Path("/usr/bin/time")
    if gnu_time.exists():
        with tempfile.NamedTemporaryFile("r", suffix=".maxrss") as report:
            subprocess.run([str(gnu_time), "-f", "%M", "-o", report.name, *cmd], check=True, stdout=subprocess.DEVNULL)
            return int(report.read().split()[-1]) * 1024 / MB
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {process.returncode}")
    return usage.ru_maxrss * 1024 / MB


def python_peak(op: str, source: Path, target: Path, key: str) -> float:
    peak = peak_mb([sys.executable, __file__, "--child", op, str(source), str(target), key])
    if target.is_dir():
        shutil.rmtree(target)
    target.unlink(missing_ok=True)
    return peak


# ----- 1. one large file

def bench_file(folder: Path, size_mb: int, repeat: int) -> list[dict[str, object]]:
    from eth_utils import keccak

    from openledger_chain.confidential import (
        decrypt_bytes,
        encrypt_file,
        generate_identity,
        pyrage,
        recipient_of,
    )
    from openledger_chain.fetch import FetchSettings, fetch_contribution

    identity = generate_identity()
    recipient = recipient_of(identity)
    plain, sealed, out = folder / "big.bin", folder / "big.bin.age", folder / "out.bin"
    log(f"writing {size_mb} MB of random bytes")
    with plain.open("wb") as handle:
        for _ in range(size_mb):
            handle.write(os.urandom(MB))
    size = plain.stat().st_size
    encrypt_file(plain, sealed, recipient)
    key_file = folder / "identity.txt"
    key_file.write_text(f"{identity}\n")
    data = plain.read_bytes()
    ciphertext = sealed.read_bytes()
    assert decrypt_bytes(ciphertext, [identity]) == data

    def decrypt_streamed() -> None:
        with sealed.open("rb") as reader, out.open("wb") as writer:
            pyrage.decrypt_io(reader, writer, [identity])

    def remove_out() -> None:
        if out.is_dir():
            shutil.rmtree(out)
        out.unlink(missing_ok=True)

    content_hash = keccak(data)

    def fetch(source: Path, identities: tuple[object, ...]) -> None:
        fetched = fetch_contribution(source.name, content_hash,
                                     FetchSettings(base_dir=folder, cache_dir=out, identities=identities))
        assert fetched.path is not None, fetched.excluded

    log("timing: read, keccak, copy, encrypt_file, decrypt_bytes, decrypt_io, fetch_contribution")
    rows: list[dict[str, object]] = []
    times = {
        "read (Path.read_bytes)": best_of(repeat, plain.read_bytes),
        "keccak (eth_utils, in memory)": best_of(repeat, lambda: keccak(data)),
        "copy (shutil.copyfile)": best_of(repeat, lambda: shutil.copyfile(plain, out), remove_out),
        "encrypt_file (file to file)": best_of(repeat, lambda: encrypt_file(plain, out, recipient), remove_out),
        "decrypt_bytes (in memory)": best_of(repeat, lambda: decrypt_bytes(ciphertext, [identity])),
        "pyrage.decrypt_io (file to file)": best_of(repeat, decrypt_streamed, remove_out),
        "fetch_contribution, plaintext": best_of(repeat, lambda: fetch(plain, ()), remove_out),
        "fetch_contribution, encrypted (fresh cache)": best_of(repeat, lambda: fetch(sealed, (identity,)), remove_out),
    }
    del data, ciphertext
    baseline_of = {"encrypt_file (file to file)": "copy (shutil.copyfile)",
                   "decrypt_bytes (in memory)": "keccak (eth_utils, in memory)",
                   "pyrage.decrypt_io (file to file)": "copy (shutil.copyfile)",
                   "fetch_contribution, encrypted (fresh cache)": "fetch_contribution, plaintext"}
    child_op = {"read (Path.read_bytes)": ("read", plain, recipient),
                "keccak (eth_utils, in memory)": ("keccak", plain, recipient),
                "copy (shutil.copyfile)": ("copy", plain, recipient),
                "encrypt_file (file to file)": ("encrypt_file", plain, recipient),
                "decrypt_bytes (in memory)": ("decrypt_bytes", sealed, str(identity)),
                "pyrage.decrypt_io (file to file)": ("decrypt_io", sealed, str(identity)),
                "fetch_contribution, plaintext": ("fetch_plaintext", plain, content_hash.hex()),
                "fetch_contribution, encrypted (fresh cache)": ("fetch_encrypted", sealed,
                                                                f"{identity} {content_hash.hex()}")}
    age = shutil.which("age")
    if age:
        log("timing: the age CLI")
        age_cmds = {"age -r (Go CLI, file to file)": [age, "-r", recipient, "-o", str(out), str(plain)],
                    "age -d (Go CLI, file to file)": [age, "-d", "-i", str(key_file), "-o", str(out), str(sealed)]}
        for name, cmd in age_cmds.items():
            times[name] = best_of(repeat, lambda cmd=cmd: subprocess.run(cmd, check=True), remove_out)
            baseline_of[name] = "copy (shutil.copyfile)"
    log("peak memory: each operation once in a fresh process")
    idle = python_peak("imports", plain, out, recipient)
    for name, seconds in times.items():
        best = min(seconds)
        row: dict[str, object] = {"operation": name, "best_s": round(best, 3),
                                  "median_s": round(statistics.median(seconds), 3),
                                  "mb_per_s": round(size / MB / best, 1)}
        if name in baseline_of:
            row["baseline"] = baseline_of[name]
            row["ratio_to_baseline"] = round(best / min(times[baseline_of[name]]), 2)
        if name in child_op:
            op, source, key = child_op[name]
            row["peak_mb"] = round(python_peak(op, source, out, key))
        else:
            row["peak_mb"] = round(peak_mb(age_cmds[name]))
            remove_out()
        rows.append(row)
    rows.append({"operation": "(a process that only imports them)", "peak_mb": round(idle)})
    for path in (plain, sealed, out, key_file):
        path.unlink(missing_ok=True)
    return rows


# ----- 2. the fetch path at round scale

def bench_fetch(folder: Path, files: int, rows: int, repeat: int) -> dict[str, object]:
    from bench_round import write_contributions
    from eth_utils import keccak

    from openledger_chain.confidential import check_header, decrypt_bytes, encrypt_file, generate_identity, recipient_of
    from openledger_chain.fetch import FetchSettings, _write_atomically, fetch_contribution

    data_dir = folder / "data"
    data_dir.mkdir()
    log(f"writing {rows:,} rows in {files:,} files")
    paths = write_contributions(data_dir, files, rows)
    hashes = [keccak(p.read_bytes()) for p in paths]
    plain_bytes = sum(p.stat().st_size for p in paths)
    identity = generate_identity()
    recipient = recipient_of(identity)
    started = time.perf_counter()
    sealed = []
    for path in paths:
        target = path.with_name(path.name + ".age")
        encrypt_file(path, target, recipient)
        sealed.append(target)
    encrypt_all_s = time.perf_counter() - started
    sealed_bytes = sum(p.stat().st_size for p in sealed)

    caches = iter(range(10**6))

    def fetch_all(uris: list[Path], identities: tuple[object, ...], cache: Path | None = None) -> Path:
        cache = cache or folder / f"cache-{next(caches)}"
        settings = FetchSettings(base_dir=data_dir, cache_dir=cache, identities=identities)
        for uri, content_hash in zip(uris, hashes, strict=True):
            fetched = fetch_contribution(uri.name, content_hash, settings)
            if fetched.path is None:
                raise RuntimeError(f"{uri.name}: {fetched.excluded}")
        return cache

    log(f"fetching every file, plaintext and encrypted alternately, {repeat} times (fresh cache each)")
    plain_s, encrypted_s, warm_s = [], [], []
    for _ in range(repeat):
        started = time.perf_counter()
        fetch_all(paths, ())
        plain_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        cache = fetch_all(sealed, (identity,))
        encrypted_s.append(time.perf_counter() - started)
        started = time.perf_counter()  # the same cache again: what a second command on this machine pays
        fetch_all(sealed, (identity,), cache)
        warm_s.append(time.perf_counter() - started)

    # Where the encrypted path's time goes: each stage of _fetch/_open_encrypted over every file, alone.
    log("breakdown of the encrypted path")
    blobs = [p.read_bytes() for p in sealed]
    plaintexts = [decrypt_bytes(b, [identity]) for b in blobs]
    stage_cache = folder / "cache-stages"
    stages: dict[str, Callable[[], object]] = {
        "stat + read the .age file": lambda: [(p.is_file(), p.stat(), p.read_bytes()) for p in sealed],
        "keccak of the ciphertext (the mismatch that sends it to decryption)": lambda: [keccak(b) for b in blobs],
        "check_header + decrypt (pyrage, 1 identity)": lambda: [(check_header(b), decrypt_bytes(b, [identity]))
                                                               for b in blobs],
        "keccak of the plaintext": lambda: [keccak(t) for t in plaintexts],
        "write the private cache (mkdir, chmod, mkstemp, write, move)": lambda: [
            _write_atomically(stage_cache / h.hex(), t) for h, t in zip(hashes, plaintexts, strict=True)],
        "cache lookup that misses (is_file)": lambda: [(folder / "nowhere" / h.hex()).is_file() for h in hashes],
    }
    breakdown = {}
    for name, stage in stages.items():
        seconds = []
        for _ in range(repeat):
            shutil.rmtree(stage_cache, ignore_errors=True)
            started = time.perf_counter()
            stage()
            seconds.append(time.perf_counter() - started)
        breakdown[name] = round(min(seconds), 4)
    plain_stages = {"stat + read the plaintext file": lambda: [(p.is_file(), p.stat(), p.read_bytes()) for p in paths],
                    "keccak of the plaintext": lambda: [keccak(t) for t in plaintexts]}
    plain_breakdown = {name: round(min(best_of(repeat, stage)), 4) for name, stage in plain_stages.items()}
    return {"files": files, "rows": rows, "plaintext_mb": round(plain_bytes / MB, 2),
            "encrypted_mb": round(sealed_bytes / MB, 2), "encrypt_every_file_s": round(encrypt_all_s, 3),
            "fetch_plaintext_s": [round(s, 3) for s in plain_s],
            "fetch_encrypted_s": [round(s, 3) for s in encrypted_s],
            "fetch_encrypted_warm_cache_s": [round(s, 3) for s in warm_s],
            "ratio_best": round(min(encrypted_s) / min(plain_s), 2),
            "ratio_median": round(statistics.median(encrypted_s) / statistics.median(plain_s), 2),
            "extra_s_best": round(min(encrypted_s) - min(plain_s), 3),
            "encrypted_breakdown_s": breakdown, "plaintext_breakdown_s": plain_breakdown}


def print_tables(file_rows: list[dict[str, object]] | None, fetch: dict[str, object] | None, size_mb: int) -> None:
    if file_rows:
        print(f"\none file of {size_mb} MB (MB = 10^6 bytes; best of the runs; peak = ru_maxrss of a fresh process)")
        print("| operation | best s | median s | MB/s | vs baseline | peak MB |")
        print("|---|---:|---:|---:|---|---:|")
        for row in file_rows:
            versus = f"{row['ratio_to_baseline']}x {row['baseline']}" if "baseline" in row else ""
            cells = [row.get("best_s", ""), row.get("median_s", ""), row.get("mb_per_s", ""), versus, row["peak_mb"]]
            print(f"| {row['operation']} | " + " | ".join(str(c) for c in cells) + " |")
    if fetch:
        print(f"\nfetch_contribution of every file: {fetch['rows']:,} rows in {fetch['files']:,} files "
              f"({fetch['plaintext_mb']} MB plaintext, {fetch['encrypted_mb']} MB encrypted; encrypting them all "
              f"took {fetch['encrypt_every_file_s']} s)")
        print("| variant | best s | median s | runs |")
        print("|---|---:|---:|---|")
        for label, key in (("plaintext (fresh cache)", "fetch_plaintext_s"),
                           ("encrypted (fresh cache)", "fetch_encrypted_s"),
                           ("encrypted (cache already filled)", "fetch_encrypted_warm_cache_s")):
            runs = fetch[key]
            assert isinstance(runs, list)
            print(f"| {label} | {min(runs)} | {round(statistics.median(runs), 3)} | {', '.join(map(str, runs))} |")
        print(f"encrypted / plaintext: {fetch['ratio_best']}x (best), {fetch['ratio_median']}x (median); "
              f"{fetch['extra_s_best']} s more for {fetch['files']:,} files")
        print("\nwhere the time goes, every file once (best of the runs)")
        print("| stage | seconds |")
        print("|---|---:|")
        for prefix, key in (("encrypted: ", "encrypted_breakdown_s"), ("plaintext: ", "plaintext_breakdown_s")):
            stages = fetch[key]
            assert isinstance(stages, dict)
            for name, seconds in stages.items():
                print(f"| {prefix}{name} | {seconds} |")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(*sys.argv[2:6])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=200, help="size of the large file, MB (10^6 bytes)")
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=100_000, help="total rows over --files")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-file", action="store_true", help="only the fetch path")
    parser.add_argument("--skip-fetch", action="store_true", help="only the large file")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-confidential-"))
    try:
        file_rows = None if args.skip_file else bench_file(folder, args.mb, args.repeat)
        fetch = None if args.skip_fetch else bench_fetch(folder, args.files, args.rows, args.repeat)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    load = os.getloadavg()
    if args.json:
        print(json.dumps({"file_mb": args.mb, "file": file_rows, "fetch": fetch, "cpus": os.cpu_count(),
                          "loadavg": [round(x, 2) for x in load]}, indent=2))
        return
    print_tables(file_rows, fetch, args.mb)
    print(f"\n{os.cpu_count()} cores; load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} at the end")


if __name__ == "__main__":
    main()

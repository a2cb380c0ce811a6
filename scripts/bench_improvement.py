"""What the improvement emission policy's second engine run (U_before) adds to `round propose`: the engine on
this round's rows (U_now) and again on the previous final round's rows (U_before), timed, at the demo's size and,
with any argument, at 100,000 previous rows plus 10,000 new ones (synthetic, written to a temporary
folder). One-off measurement: `python scripts/bench_improvement.py [big]`."""
import csv, json, sys, tempfile, time
from pathlib import Path
import numpy as np
from openledger_chain.attribution import attribute

EX = Path(__file__).resolve().parents[1] / "examples" / "attribution"
spec = json.loads((EX / "spec.json").read_text())

def run(manifest, eval_path, base):
    t = time.perf_counter(); r = attribute(spec, manifest, eval_path, base_dir=base); return time.perf_counter() - t, r

# demo size: round 2 of the improvement model
m_now = [{"id": "1", "contributor": "0x" + "01" * 20, "kind": "data", "path": "alice.csv"},
         {"id": "2", "contributor": "0x" + "02" * 20, "kind": "data", "path": "copycat.csv"}]
for _ in range(2):
    t_now, _ = run(m_now, EX / "eval2.csv", EX); t_before, _ = run(m_now[:1], EX / "eval2.csv", EX)
print(f"demo size: U_now run {t_now:.2f}s, U_before run {t_before:.2f}s")

if len(sys.argv) > 1:
    rng = np.random.default_rng(0)
    d = Path(tempfile.mkdtemp()); cols = [f"f{i}" for i in range(10)]
    s2 = {"label": "y", "classes": ["0", "1"]}
    def write(path, n, shift=0.0):
        x = rng.normal(size=(n, 10)) + shift; y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.5, size=n) > 0).astype(int)
        with path.open("w", newline="") as f:
            w = csv.writer(f); w.writerow(cols + ["y"]); w.writerows([list(map(lambda v: f"{v:.6f}", r)) + [str(c)] for r, c in zip(x, y)])
    write(d / "eval.csv", 1000)
    before = []
    for i in range(100):
        write(d / f"c{i}.csv", 1000); before.append({"id": str(i + 1), "contributor": "0x" + f"{i + 1:040x}", "kind": "data", "path": f"c{i}.csv"})
    now = before + []
    for i in range(100, 110):
        write(d / f"c{i}.csv", 1000); now.append({"id": str(i + 1), "contributor": "0x" + f"{i + 1:040x}", "kind": "data", "path": f"c{i}.csv"})
    spec = s2
    t0 = time.perf_counter(); r_now = attribute(spec, now, d / "eval.csv", base_dir=d); t_now = time.perf_counter() - t0
    t0 = time.perf_counter(); r_b = attribute(spec, before, d / "eval.csv", base_dir=d); t_b = time.perf_counter() - t0
    print(f"100,000 rows before / 110,000 now (100 + 10 contributors x 1,000 rows, 10 features, 1,000 eval rows): "
          f"U_now run {t_now:.1f}s, U_before run {t_b:.1f}s; U_now {r_now.utility['all']:.6f}, U_before {r_b.utility['all']:.6f}")

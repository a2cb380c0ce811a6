"""Claim gas at 100,000 leaves (depth 17), no fees paid: the same set-up as scripts/bench_gas.py's row."""
import sys
from pathlib import Path
repo = Path(sys.argv[1])
sys.path.insert(0, str(repo / "tests" / "contracts"))
from eth_utils import keccak, to_checksum_address
from _round_helpers import build_round, run_round
from openledger_chain.chain import connect, dev_accounts
from openledger_chain.deployments import ensure_deployment
from openledger_chain.types import ModelParams

a = dev_accounts()
chain = connect("embedded")
dep, _ = ensure_deployment(chain, a[0], oracles=[o.address for o in a[1:4]], threshold=2, challenge_window=3600,
                           min_challenge_window=600)
from openledger_chain.contracts import OpenLedger
ledger = OpenLedger(chain, dep)
params = ModelParams(b"\x5e" * 32, "ipfs://s", ledger.dev_payment_token, 3000, 10**21, 10**24, "S", "S")
model = ledger.register_model(a[4], params)[0]
alloc = {to_checksum_address(keccak(text=f"u{i}")[-20:]): 10**20 for i in range(10)}
extra = {to_checksum_address(keccak(text=f"x{i}")[-20:]): 10**18 + i for i in range(99_990)}
built = build_round(model.model_id, 1, alloc, extra_leaves=extra)
run_round(ledger, built, a[1:3], a[8])
gas = []
for who in list(extra)[:3]:
    account, amount, proof = built.leaf(who)
    r = chain.transact(ledger.distributor.functions.claim(model.model_id, account, amount, proof), a[9])
    gas.append(int(r["gasUsed"]))
print("claim gas at 100,000 leaves:", gas, "proof depth", len(proof))

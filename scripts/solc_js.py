"""The `solc` command line that slither (crytic-compile) needs, answered by the project's compiler.

    solc-js --version                         "Version: 0.8.28+commit...", like solc
    solc-js --standard-json [--allow-paths P] standard-JSON input on stdin, output on stdout

Run it through `scripts/solc-js`. The input's sources are read by unit name from the project root,
and their imports followed the way `openledger_chain.build.compiler` does (relative imports next to
the importer, package imports such as `@openzeppelin/...` from node_modules/). The settings are
the project's `compiler_settings()` (evmVersion cancun, optimizer 200 runs, no metadata hash), so
slither analyses exactly what the project deploys; only `outputSelection` is taken from the input,
because the caller needs the AST and source maps. Other settings in the input are ignored.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from openledger_chain.build.compiler import collect_sources, compiler_settings, compiler_version, run_compiler
from openledger_chain.errors import CompileError

ROOT = Path(__file__).resolve().parent.parent
USAGE = "usage: solc-js --version | solc-js --standard-json [--allow-paths PATHS] < input.json"


def standard_json(request: dict) -> dict:
    if request.get("language", "Solidity") != "Solidity":
        raise CompileError(f"only Solidity is supported, not {request['language']!r}")
    units = list(request.get("sources", {}))
    settings = compiler_settings()
    if "outputSelection" in request.get("settings", {}):
        settings["outputSelection"] = request["settings"]["outputSelection"]
    compiler_input = {
        "language": "Solidity",
        "sources": {unit: {"content": content} for unit, content in collect_sources(ROOT, units).items()},
        "settings": settings,
    }
    output, _version = run_compiler(compiler_input, ROOT)
    return output


def main(argv: list[str]) -> int:
    if argv == ["--version"]:
        print("solc, the solidity compiler commandline interface")
        print(f"Version: {compiler_version(ROOT)}")
        return 0
    if argv[:1] == ["--standard-json"] and (len(argv) == 1 or (len(argv) == 3 and argv[1] == "--allow-paths")):
        try:
            output = standard_json(json.load(sys.stdin))
        except (CompileError, ValueError, OSError) as error:  # ValueError: bad JSON on stdin
            print(f"solc-js: {error}", file=sys.stderr)
            return 1
        json.dump(output, sys.stdout)
        sys.stdout.write("\n")
        return 0
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Contract build: compile `contracts/` and read the committed artifacts."""

from openledger_chain.build.artifacts import Artifact, ARTIFACTS_DIR, load_artifact

__all__ = ["Artifact", "ARTIFACTS_DIR", "load_artifact"]

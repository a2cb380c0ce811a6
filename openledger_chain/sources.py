"""Where the reads come from: a model's rounds and its contributions, from a chain scan or from an index.

The oracle, the claims and the views are handed an :class:`EventSource` by their caller and never ask the
indexer themselves (as web3.py hands a provider to ``Web3``). The CLI builds one from ``--db``:
:class:`openledger_chain.indexer.reads.IndexSource` (the index where it has caught up with the chain, else a
chain scan) when an index is named, else :class:`ChainSource`. So the indexer depends on the history module
and nothing here depends on the indexer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from openledger_chain.contracts import OpenLedger
from openledger_chain.history import RoundRecord, round_history
from openledger_chain.types import Contribution

__all__ = ["ChainSource", "EventSource", "chain_unless_given"]


class EventSource(Protocol):
    """One source of a deployment's events, read as rounds and contributions."""

    def rounds(self, model_id: int) -> list[RoundRecord]:
        """Every submission of the model's rounds, oldest first, with its published list and status
        (:func:`openledger_chain.history.round_history`)."""
        ...

    def contributions(self, model_id: int | None) -> list[Contribution]:
        """Every registered contribution (of one model if given), oldest first, with its withdrawals and
        displacements (:meth:`openledger_chain.contracts.OpenLedger.contributions`)."""
        ...


@dataclass(frozen=True)
class ChainSource:
    """The events as a chain scan reads them (the default, and the fallback of an index that lags)."""

    ledger: OpenLedger

    def rounds(self, model_id: int) -> list[RoundRecord]:
        return round_history(self.ledger, model_id)

    def contributions(self, model_id: int | None) -> list[Contribution]:
        return self.ledger.contributions(model_id)


def chain_unless_given(ledger: OpenLedger, source: EventSource | None) -> EventSource:
    """`source`, or a chain scan of `ledger` when None."""
    return ChainSource(ledger) if source is None else source

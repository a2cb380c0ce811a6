"""OpenLedger Chain: on-chain attribution of AI-model contributions."""

__version__ = "0.1.0"

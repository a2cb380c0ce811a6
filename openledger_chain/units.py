"""Token amounts as people read them: base units scaled by the token's decimals.

The library's messages and the CLI's tables use the same rendering, so an amount in an error reads like the
same amount in `openledger status`.
"""

from __future__ import annotations

from decimal import Decimal

#: Every model's stake token has 18 decimals (OpenZeppelin's ERC-20 default).
STAKE_DECIMALS = 18
#: Decimals shown (at least, with `exact`) in token amounts.
SHOWN_DECIMALS = 6


def format_amount(amount: int, decimals: int = STAKE_DECIMALS, *, exact: bool = False) -> str:
    """`amount` base units in token units, with thousands separators and 6 decimals:
    268829484992267457269 -> '268.829485'.

    `exact` keeps every digit beyond the sixth that is not zero (268.829484992267457269; 1,000.000000 stays
    so): for errors, where one base unit over a limit, or short of it, must show.
    """
    shown = min(decimals, SHOWN_DECIMALS)
    if not exact:
        return f"{Decimal(amount) / (Decimal(10) ** decimals):,.{shown}f}"
    whole, fraction = divmod(amount, 10**decimals)
    digits = f"{fraction:0{decimals}d}".rstrip("0").ljust(shown, "0") if decimals else ""
    return f"{whole:,}" + (f".{digits}" if digits else "")

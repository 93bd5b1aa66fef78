"""Validation of integer fields of frozen configs, with one wording for every config.

`check_count("SelfPlayConfig", "batch_size", value)` raises
"SelfPlayConfig.batch_size must be a positive integer, got 0"; `minimum=0` says
"non-negative"; `optional=True` also accepts None ("must be None or a positive integer").
Booleans are refused although Python counts them as integers.
"""

from __future__ import annotations

from typing import Any


def check_count(
    owner: str, name: str, value: Any, *, minimum: int = 1, optional: bool = False
) -> None:
    """Raises ValueError naming `owner.name` unless `value` is an int >= `minimum` (or None).

    Args:
      owner: the config's class name, for the message.
      name: the field's name.
      value: the value to check.
      minimum: 0 or 1 (the messages say "non-negative" or "positive"), or any other bound.
      optional: None is accepted too.

    Raises:
      ValueError: naming the field, the accepted values and the bad value.
    """
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        kind = {0: "a non-negative integer", 1: "a positive integer"}.get(
            minimum, f"an integer >= {minimum}"
        )
        accepted = f"None or {kind}" if optional else kind
        raise ValueError(f"{owner}.{name} must be {accepted}, got {value!r}")

"""Command-line overrides of typed configs."""

import dataclasses

import pytest

from detente.experiments.overrides import apply_overrides


@dataclasses.dataclass(frozen=True)
class Inner:
    rate: float = 0.1
    steps: int = 3

    def __post_init__(self):
        if self.rate <= 0:
            raise ValueError(f"Inner.rate must be > 0, got {self.rate}")


@dataclasses.dataclass(frozen=True)
class Outer:
    name: str = "x"
    names: tuple[str, ...] = ("a",)
    sizes: tuple[int, ...] = (1, 2)
    limit: int | None = None
    flag: bool = False
    inner: Inner = dataclasses.field(default_factory=Inner)

    def __post_init__(self):
        if self.name == "z" and self.limit is None:
            raise ValueError("Outer.name='z' needs a limit")


def test_overrides_parse_types():
    config = apply_overrides(
        Outer(),
        [
            "name=y",
            "names=kuhn_poker;goofspiel(players=3,num_cards=4)",
            "sizes=4,5",
            "limit=7",
            "flag=true",
            "inner.rate=0.5",
            "inner.steps=9",
        ],
    )
    assert config == Outer(
        name="y",
        names=("kuhn_poker", "goofspiel(players=3,num_cards=4)"),
        sizes=(4, 5),
        limit=7,
        flag=True,
        inner=Inner(rate=0.5, steps=9),
    )
    assert apply_overrides(config, ["limit=none"]).limit is None


@pytest.mark.parametrize(
    "override, message",
    [
        ("nmae=y", r"unknown config key 'nmae'; accepted keys: flag, inner.rate"),
        ("inner.steps=many", r"inner.steps='many' is not an integer"),
        ("flag=perhaps", r"not a boolean"),
        ("inner.rate=-1", r"rejected: Inner.rate must be > 0"),
        ("noequals", r"not of the form key=value"),
    ],
)
def test_bad_overrides(override, message):
    with pytest.raises(ValueError, match=message):
        apply_overrides(Outer(), [override])


def test_overrides_are_validated_together():
    # One field's accepted values depend on another's: either order works.
    for overrides in (["name=z", "limit=3"], ["limit=3", "name=z"]):
        assert apply_overrides(Outer(), overrides) == Outer(name="z", limit=3)
    assert apply_overrides(Outer(), ["limit=3", "limit=4", "inner.steps=5"]).limit == 4
    with pytest.raises(ValueError, match=r"overrides \['name=z', 'inner.steps=5'\] rejected: "):
        apply_overrides(Outer(), ["name=z", "inner.steps=5"])

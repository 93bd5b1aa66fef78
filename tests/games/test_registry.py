"""The game registry: names, parameters and their errors."""

import pytest

from detente import games


@pytest.mark.parametrize(
    "name, players",
    [
        ("kuhn_poker", 2),
        ("goofspiel(players=3,num_cards=5)", 3),
        ("python_kuhn_poker", 2),  # an OpenSpiel game written in Python
        ("turn_based_simultaneous_game(game=goofspiel(num_cards=3))", 2),  # nested parameters
    ],
)
def test_load(name, players):
    assert games.load(name).num_players() == players


def test_list_games_has_kinds():
    infos = {info.name: info for info in games.list_games()}
    assert infos["kuhn_poker"].dynamics == "sequential"
    assert infos["goofspiel"].dynamics == "simultaneous"
    assert infos["kuhn_poker"].chance == "explicit_stochastic"
    assert infos["kuhn_poker"].utility == "zero_sum"
    assert infos["kuhn_poker"].source == "openspiel"
    assert infos["kuhn_poker"].parameters == {"players": 2}
    assert len(infos) > 100


@pytest.mark.parametrize(
    "name, message",
    [
        ("kuhn_pokr", r"unknown game 'kuhn_pokr'; did you mean kuhn_poker"),
        ("no_such_thing", r"unknown game 'no_such_thing'"),
        ("kuhn_poker(foo=1)", r"no parameter 'foo'; accepted parameters: players"),
        ("kuhn_poker(players=x)", r"players='x' is not an integer"),
        ("kuhn_poker(players=40)", r"players=40 is out of range; it accepts 2 to 10"),
        ("goofspiel(imp_info=maybe)", r"imp_info='maybe' is not a boolean"),
        ("kuhn_poker(players=2", r"malformed game string"),
        ("kuhn_poker(players)", r"malformed parameter 'players'"),
        ("kuhn_poker(players=2,players=3)", r"given twice"),
        ("", r"non-empty string"),
    ],
)
def test_bad_names_and_parameters(name, message):
    with pytest.raises(ValueError, match=message):
        games.load(name)


def test_rejected_by_the_game_itself():
    # Type-correct but refused by the game's own checks: the game's message is passed on.
    with pytest.raises(ValueError, match=r"could not be created"):
        games.load("goofspiel(points_order=weird)")

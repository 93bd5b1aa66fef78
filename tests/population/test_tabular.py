"""Exact tabular members: tables, profile values, reach-weighted mixtures, NashConv."""

import functools

import jax
import numpy as np
import pytest
from open_spiel.python import policy as openspiel_policy
from open_spiel.python.algorithms import exploitability, policy_aggregator

from detente.agents import make_policy_value_network
from detente.agents.policy_fn import make_policy_fn
from detente.games import load
from detente.lib import env_spec_for, evaluate, to_openspiel_policy
from detente.population import Member, TabularMembers


@functools.lru_cache
def _network(game_name):
    # One network per game, so its jitted apply compiles once for the whole module.
    return make_policy_value_network(env_spec_for(load(game_name)), hidden_sizes=(8,))


def _setup(game_name, count):
    game = load(game_name)
    network = _network(game_name)
    members = [
        [
            Member.create(
                f"p{p}_{m}",
                jax.tree.map(lambda x: 100.0 * x, network.init(jax.random.key(10 * p + m))),
            )
            for m in range(count)
        ]
        for p in range(game.num_players())
    ]
    return game, network, TabularMembers(game, network), members


def test_tables_and_profile_values_match_lib_exact_eval():
    game, network, tabular, members = _setup("kuhn_poker(players=3)", 1)
    member = members[0][0]
    reference = to_openspiel_policy(game, make_policy_fn(network, member.params))
    np.testing.assert_allclose(tabular.table(member), reference.action_probability_array, atol=1e-6)
    profile = [members[p][0] for p in range(3)]
    expected = evaluate(game, [make_policy_fn(network, m.params) for m in profile])
    np.testing.assert_allclose(tabular.profile_values(profile), expected.policy_values, atol=1e-6)
    table = tabular.combine([tabular.table(m) for m in profile])
    assert tabular.evaluate(table).nash_conv == pytest.approx(expected.nash_conv, abs=1e-6)


@pytest.mark.parametrize("game_name", ["kuhn_poker", "kuhn_poker(players=3)"])
def test_mixture_is_reach_weighted_like_openspiel_policy_aggregator(game_name):
    game, _, tabular, members = _setup(game_name, 3)
    num_players = game.num_players()
    weights = [np.array([0.5, 0.3, 0.2])] * num_players
    ours = tabular.mixture_nash_conv(members, weights).nash_conv
    # The reference: OpenSpiel's PolicyAggregator on the same tables.
    policies = []
    for p in range(num_players):
        row = []
        for member in members[p]:
            table = openspiel_policy.TabularPolicy(game)
            values = tabular.table(member)
            for key, index in tabular.template.state_lookup.items():
                table.action_probability_array[table.state_lookup[key]] = values[index]
            row.append(table)
        policies.append(row)
    aggregated = policy_aggregator.PolicyAggregator(game).aggregate(
        list(range(num_players)), policies, [list(w) for w in weights]
    )
    assert ours == pytest.approx(exploitability.nash_conv(game, aggregated), abs=1e-9)
    # Averaging action probabilities per information state is a different (wrong) policy.
    naive = tabular.combine(
        [
            sum(w * tabular.table(m) for w, m in zip(weights[p], members[p], strict=True))
            for p in range(num_players)
        ]
    )
    assert abs(tabular.evaluate(naive).nash_conv - ours) > 1e-3


def test_mixture_value_equals_the_meta_game_expectation():
    # Kuhn's theorem: the mixture's value is the sigma-weighted mean of the profile values.
    game, _, tabular, members = _setup("kuhn_poker", 2)
    sigma = [np.array([0.7, 0.3]), np.array([0.4, 0.6])]
    expected = sum(
        sigma[0][i] * sigma[1][j] * tabular.profile_values([members[0][i], members[1][j]])
        for i in range(2)
        for j in range(2)
    )
    mixture = tabular.mixture([[tabular.table(m) for m in ms] for ms in members], sigma)
    np.testing.assert_allclose(tabular.values(mixture), expected, atol=1e-12)


def test_uniform_kuhn_nash_conv_known_value():
    # NashConv of the uniform policy in 2-player Kuhn poker is 11/12 (OpenSpiel tests).
    game, _, tabular, _ = _setup("kuhn_poker", 1)
    uniform = np.where(tabular.legal, 1.0, 0.0)
    uniform /= uniform.sum(axis=1, keepdims=True)
    assert tabular.evaluate(uniform).nash_conv == pytest.approx(11 / 12)


def test_bad_mixture_input():
    _, _, tabular, members = _setup("kuhn_poker", 2)
    tables = [[tabular.table(m) for m in ms] for ms in members]
    with pytest.raises(ValueError, match="one list of tables and one distribution per player"):
        tabular.mixture(tables[:1], [[1.0]])
    with pytest.raises(ValueError, match=r"weights\[1\] must be a probability distribution"):
        tabular.mixture(tables, [[0.5, 0.5], [0.9, 0.9]])
    with pytest.raises(ValueError, match="player 0: 2 tables but weights of shape"):
        tabular.mixture(tables, [[1.0], [0.5, 0.5]])

"""Exact best responses on `RealpolitikEnv`'s own rules agree with the OpenSpiel game's NashConv.

The K-slot environment is what learned best responses play (`approximate_nash_conv`). Here the
best response to the uniform policy (each slot uniform over its legal entries, as
`uniform_params` plays) is computed exactly by recursion over positions, through the rules the
environment steps with (`RealpolitikRules.advance`, `phase_slots`, `orders_from_actions`,
`game_status`). With the board fully observable and a memoryless opponent, a best response
needs only the position, so this must equal OpenSpiel's NashConv of the uniform policy on the
turn-based game over information states (0.6224166666666667, test_realpolitik_openspiel_game).
"""

import functools
import itertools
import json

import numpy as np

from detente.games.realpolitik import RealpolitikEnv
from detente.games.realpolitik.actions import orders_from_actions, phase_slots
from detente.games.realpolitik.engine import initial_position
from detente.games.realpolitik.scoring import game_status


def _exact_nash_conv(env: RealpolitikEnv) -> tuple[np.ndarray, np.ndarray]:
    """(uniform policy's values [P], each player's best-response value [P])."""
    rules = env.rules
    board, num_p = rules.map, rules.num_players
    no_welfare = np.zeros(num_p)

    def joint_orders(position):
        slots = phase_slots(rules.tables, position)
        return [
            [
                orders_from_actions(rules.tables, slots, p, combo)
                for combo in itertools.product(*slots.legal[p])
            ]
            if slots.locations[p]
            else [None]
            for p in range(num_p)
        ]

    def final(position):
        status = game_status(board, position, rules.horizon)
        if status.over:
            return rules.returns(position, no_welfare, True)
        return None

    def expected(position, choices, value_of):
        total = np.zeros(num_p)
        profiles = list(itertools.product(*choices))
        for profile in profiles:
            orders = {board.powers[q]: o for q, o in enumerate(profile) if o is not None}
            nxt, _ = rules.advance(position, orders, no_welfare)
            total += value_of(json.dumps(nxt, sort_keys=True))
        return total / len(profiles)

    @functools.cache
    def uniform(key: str) -> np.ndarray:
        position = json.loads(key)
        end = final(position)
        return end if end is not None else expected(position, joint_orders(position), uniform)

    def best_response(player: int):
        @functools.cache
        def value(key: str) -> np.ndarray:
            position = json.loads(key)
            end = final(position)
            if end is not None:
                return end
            choices = joint_orders(position)
            options = [
                expected(position, choices[:player] + [[own]] + choices[player + 1 :], value)
                for own in choices[player]
            ]
            return max(options, key=lambda v: v[player])

        return value

    start = json.dumps(initial_position(board), sort_keys=True)
    policy = uniform(start)
    br = np.array([best_response(p)(start)[p] for p in range(num_p)])
    return policy, br


def test_exact_best_responses_on_the_env_rules_equal_openspiel_nash_conv():
    env = RealpolitikEnv("duel", batch_size=1, max_years=1)
    policy, br = _exact_nash_conv(env)
    np.testing.assert_allclose(policy, [0.5453365079365080, 0.4546634920634921], atol=1e-12)
    np.testing.assert_allclose(br - policy, [0.2859134920634920, 0.3365031746031746], atol=1e-12)
    np.testing.assert_allclose(np.sum(br - policy), 0.6224166666666667, atol=1e-12)

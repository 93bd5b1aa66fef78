"""JAX engine == reference environment on random play (fast version; the large run is
`python bench/bench_realpolitik_jax.py --equivalence`).

Random legal actions from the masks, 20 games (seeds) per board, compared after every phase:
position (units, dislodged units and attacker origins, standoffs, centres, phase), masks,
observations, acting powers, rewards, terminated and truncated.
"""

import pytest

from detente.games.realpolitik_jax._check import compare_with_reference

# (board, phases per game): small boards are played long, the classic board a few phases only
# (its step takes the longest to compile and the reference env is slow there).
_PLAN = [("duel", 40), ("triad", 40), ("quartet", 30), ("classic", 6)]


@pytest.mark.parametrize(("board", "phases"), _PLAN, ids=[b for b, _ in _PLAN])
def test_random_play_matches_reference(board, phases):
    result = compare_with_reference(board, num_games=20, num_phases=phases, seed=7)
    assert result["mismatches"] == 0, result["first"]
    assert result["unsupported"] == 0
    assert result["phases"] >= 20 * min(phases, 5)


def test_welfare_and_draw_size_scoring_match_reference():
    for scoring in ("welfare", "draw_size"):
        result = compare_with_reference(
            "duel", num_games=8, num_phases=24, seed=3, scoring=scoring, max_years=3
        )
        assert result["mismatches"] == 0, result["first"]

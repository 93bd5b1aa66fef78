"""Exact tabular views of population members in small games: profile values, mixtures, NashConv.

`TabularMembers` tabulates members' network policies on every information state of a small
OpenSpiel game (the same views `OpenSpielEnv` gives them, through
`lib.exact_eval.to_openspiel_policy`), then computes, exactly and without sampling:

* the expected returns of a seat assignment (`profile_values`), the "exact" payoff estimator
  of PSRO;
* the behaviour policy of a meta-strategy mixture (`mixture`). A mixture of policies in an
  extensive-form game is not the per-information-state average of their action probabilities:
  by Kuhn's theorem the behaviourally equivalent policy weights member m at information state
  I of player p by sigma_m * x_m(I), where x_m(I) is the probability that m's own actions lead
  to I (its sequence-form reach), pi(a | I) = sum_m sigma_m x_m(I) pi_m(a | I) / sum_m sigma_m
  x_m(I). This is what OpenSpiel's `policy_aggregator.PolicyAggregator` computes; a test checks
  that both agree;
* the exact NashConv of the profile of per-player mixtures (`mixture_nash_conv`), the number
  PSRO reports per iteration (Lanctot et al. 2017, Sec. 3).

Dimension names: R rows (information states of all players, turn-based game), A actions,
N players, S_p members of player p's population.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import pyspiel

from detente.agents import Network
from detente.lib.exact_eval import DEFAULT_MAX_INFO_STATES, ExactEvaluation, to_openspiel_policy
from detente.lib.policy import uniform_policy_fn
from detente.population.members import Member


def _softmax(logits: np.ndarray, legal: np.ndarray) -> np.ndarray:
    """Softmax over legal actions (float64); illegal actions get exactly 0."""
    logits = np.where(legal, logits, -np.inf)
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


class TabularMembers:
    """Members of one network family tabulated on every information state of a small game.

    Args:
      game: a small sequential or simultaneous pyspiel game (simultaneous games are walked
        in their turn-based form, as in `lib.exact_eval`).
      network: the network the members' params belong to.
      max_info_states: fail if the game has more information states than this.

    Raises:
      ValueError: the game is too large or has no information-state strings.
    """

    def __init__(
        self,
        game: pyspiel.Game,
        network: Network,
        *,
        max_info_states: int = DEFAULT_MAX_INFO_STATES,
    ):
        self.network = network
        self.game = game
        self.num_players = game.num_players()
        captured: dict[int, tuple[np.ndarray, np.ndarray]] = {}

        def recorder(player):
            def policy_fn(observation, legal_mask):
                captured[player] = (np.array(observation), np.array(legal_mask))
                return uniform_policy_fn(observation, legal_mask)

            return policy_fn

        # One enumeration of the game; the recorders capture each seat's views in the row
        # order `to_openspiel_policy` uses (its states_per_player order).
        template = to_openspiel_policy(
            game,
            [recorder(p) for p in range(self.num_players)],
            max_info_states=max_info_states,
        )
        self.template = template
        self.walked = template.game
        self.legal = template.legal_actions_mask.astype(bool)  # [R, A]
        self.num_rows = self.legal.shape[0]
        self.player_of_row = np.full(self.num_rows, -1, np.int64)
        self._seat_rows: dict[int, np.ndarray] = {}
        self._inputs = captured
        for player in range(self.num_players):
            keys = template.states_per_player[player]
            rows = np.array([template.state_lookup[k] for k in keys], np.int64)
            self._seat_rows[player] = rows
            self.player_of_row[rows] = player
        self._keys = [None] * self.num_rows
        for key, row in template.state_lookup.items():
            self._keys[row] = key
        self._cache: dict[str, np.ndarray] = {}
        self._previous = self._own_predecessors()

    # ------------------------------------------------------------------------- tables
    def table(self, member: Member) -> np.ndarray:
        """float64 [R, A]: the member's action probabilities at every row (cached by hash)."""
        cached = self._cache.get(member.hash)
        if cached is not None:
            return cached
        # `network.apply` is jitted with the params as an argument, so tabulating a new
        # member compiles nothing (a per-member closure would recompile every time).
        probs = np.zeros(self.legal.shape, np.float64)
        for player, rows in self._seat_rows.items():
            if not rows.size:
                continue
            observation, legal_mask = self._inputs[player]
            logits, _ = self.network.apply(member.params, observation, legal_mask)
            probs[rows] = _softmax(np.asarray(logits, np.float64)[:, 0], self.legal[rows])
        self._cache[member.hash] = probs
        return probs

    def combine(self, seat_tables: Sequence[np.ndarray]) -> np.ndarray:
        """float64 [R, A]: seat p's rows taken from `seat_tables[p]`."""
        if len(seat_tables) != self.num_players:
            raise ValueError(
                f"expected one table per seat ({self.num_players}), got {len(seat_tables)}"
            )
        combined = np.zeros(self.legal.shape, np.float64)
        for player, rows in self._seat_rows.items():
            combined[rows] = seat_tables[player][rows]
        return combined

    def _policy_dict(self, table: np.ndarray) -> dict[str, list[tuple[int, float]]]:
        result = {}
        for row, key in enumerate(self._keys):
            legal = np.flatnonzero(self.legal[row])
            result[key] = [(int(a), float(table[row, a])) for a in legal]
        return result

    # ------------------------------------------------------------------------- values
    def values(self, table: np.ndarray) -> np.ndarray:
        """float64 [N]: every player's expected return when all follow `table` [R, A]."""
        policy = pyspiel.TabularPolicy(self._policy_dict(table))
        root = self.walked.new_initial_state()
        return np.asarray(pyspiel.expected_returns(root, policy, -1, True), np.float64)

    def profile_values(self, members: Sequence[Member]) -> np.ndarray:
        """float64 [N]: exact expected returns with `members[p]` at seat p."""
        return self.values(self.combine([self.table(m) for m in members]))

    def evaluate(self, table: np.ndarray) -> ExactEvaluation:
        """Exact NashConv (and per-player gains) of the profile `table` [R, A]."""
        start = time.perf_counter()
        policy_dict = self._policy_dict(table)
        root = self.walked.new_initial_state()
        policy_values = np.asarray(
            pyspiel.expected_returns(root, pyspiel.TabularPolicy(policy_dict), -1, True),
            np.float64,
        )
        best_response_values = np.array(
            [
                pyspiel.TabularBestResponse(self.walked, p, policy_dict).value_from_state(root)
                for p in range(self.num_players)
            ]
        )
        gains = best_response_values - policy_values
        return ExactEvaluation(
            nash_conv=float(gains.sum()),
            exploitability=float(gains.sum()) / self.num_players,
            per_player=tuple(float(g) for g in gains),
            game=str(self.game),
            seconds=time.perf_counter() - start,
            policy_values=tuple(float(v) for v in policy_values),
            best_response_values=tuple(float(v) for v in best_response_values),
            num_info_states=self.num_rows,
        )

    # ------------------------------------------------------------------------- mixtures
    def _own_predecessors(self) -> np.ndarray:
        """int64 [R, 2]: (row, action) of the acting player's previous own decision, or -1.

        With perfect recall this is the same for every history of an information state.
        """
        previous = np.full((self.num_rows, 2), -2, np.int64)
        lookup = self.template.state_lookup
        stack = [(self.walked.new_initial_state(), (None,) * self.num_players)]
        while stack:
            state, last = stack.pop()
            if state.is_terminal():
                continue
            if state.is_chance_node():
                stack.extend((state.child(a), last) for a, _ in state.chance_outcomes())
                continue
            player = state.current_player()
            row = lookup[state.information_state_string(player)]
            before = last[player] if last[player] is not None else (-1, -1)
            if previous[row, 0] == -2:
                previous[row] = before
            elif tuple(previous[row]) != before:
                raise ValueError(
                    f"{self.game}: information state {self._keys[row]!r} is reached after "
                    "different own histories; mixtures need a perfect-recall game"
                )
            for action in state.legal_actions():
                child_last = last[:player] + ((row, action),) + last[player + 1 :]
                stack.append((state.child(action), child_last))
        previous[previous[:, 0] == -2] = -1  # unreachable rows (none in practice)
        return previous

    def own_reach(self, tables: Sequence[np.ndarray]) -> np.ndarray:
        """float64 [M, R]: x_m(I), each table's own-action reach of every row (its player's).

        Args:
          tables: M tables float [R, A].
        """
        tables = np.asarray(tables, np.float64)
        reach = np.zeros((tables.shape[0], self.num_rows))
        done = np.zeros(self.num_rows, bool)

        def resolve(row: int) -> None:
            chain = []
            while row >= 0 and not done[row]:
                chain.append(row)
                row = int(self._previous[row, 0])
            for r in reversed(chain):
                parent, action = self._previous[r]
                reach[:, r] = 1.0 if parent < 0 else reach[:, parent] * tables[:, parent, action]
                done[r] = True

        for row in range(self.num_rows):
            resolve(row)
        return reach

    def mixture(
        self, member_tables: Sequence[Sequence[np.ndarray]], weights: Sequence[Sequence[float]]
    ) -> np.ndarray:
        """float64 [R, A]: the behaviour policy of independent per-player mixtures.

        Player p plays table `member_tables[p][m]` with probability `weights[p][m]`, chosen
        once at the start of the game; the result is the reach-weighted behaviour policy
        (module docstring), equal in value to the mixed strategy against any opponents.

        Args:
          member_tables: N lists; list p holds S_p tables float [R, A].
          weights: N distributions, weights[p] float [S_p].
        """
        if len(member_tables) != self.num_players or len(weights) != self.num_players:
            raise ValueError(
                f"expected one list of tables and one distribution per player "
                f"({self.num_players}), got {len(member_tables)} and {len(weights)}"
            )
        seat_tables = []
        for player in range(self.num_players):
            tables = np.asarray(member_tables[player], np.float64)
            sigma = np.asarray(weights[player], np.float64)
            if tables.ndim != 3 or sigma.shape != (tables.shape[0],):
                raise ValueError(
                    f"player {player}: {tables.shape[0] if tables.ndim == 3 else '?'} tables "
                    f"but weights of shape {sigma.shape}"
                )
            if np.any(sigma < -1e-9) or abs(sigma.sum() - 1.0) > 1e-6:
                raise ValueError(
                    f"weights[{player}] must be a probability distribution, got {sigma.tolist()}"
                )
            sigma = np.maximum(sigma, 0.0) / np.maximum(sigma, 0.0).sum()
            reach = self.own_reach(tables)  # [M, R]
            weight = sigma[:, None] * reach  # [M, R]
            total = weight.sum(axis=0)  # [R]
            fallback = total <= 1e-300  # unreachable under every member: any average will do
            weight[:, fallback] = sigma[:, None]
            total = np.where(fallback, 1.0, total)
            seat_tables.append(np.einsum("mr,mra->ra", weight, tables) / total[:, None])
        return self.combine(seat_tables)

    def member_mixture(
        self, members: Sequence[Sequence[Member]], weights: Sequence[Sequence[float]]
    ) -> np.ndarray:
        """float64 [R, A]: `mixture` of the members' tables, player p mixing `members[p]`."""
        tables = [[self.table(m) for m in player_members] for player_members in members]
        return self.mixture(tables, weights)

    def mixture_nash_conv(
        self, members: Sequence[Sequence[Member]], weights: Sequence[Sequence[float]]
    ) -> ExactEvaluation:
        """Exact NashConv of player p mixing `members[p]` with `weights[p]`, for every p."""
        return self.evaluate(self.member_mixture(members, weights))

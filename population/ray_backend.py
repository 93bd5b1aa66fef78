"""A Ray executor: a population loop's match batches and learners as Ray tasks.

`RayExecutor.map(fn, tasks)` submits one Ray task per element of `tasks` and returns the
results in order, so it is a drop-in for `InProcessExecutor` (see `population.execution` for
the contract tasks follow). Every task, a match batch or a whole learner's training, is a Ray
*task* (a remote function), not an actor: tasks hold no state between calls, so a task whose
worker process died (killed, out of memory, node lost) is simply run again, from its
arguments, up to `max_retries` times, and gives the same result as its first try would have.
Exceptions raised by the task's own code are not retried (they would fail again) and
propagate from `map`.

Data: task arguments and results (numpy parameter pytrees, member populations, match returns)
travel through Ray's object store with Ray's in-memory serialisation (pickle protocol 5 with
zero-copy numpy buffers); nothing of ours is pickled to disk. Checkpoints stay pickle-free.

Ray is imported lazily, inside `RayExecutor` only: importing this module does not import Ray,
and constructing a `RayExecutor` without Ray installed raises an ImportError naming the extra
to install (`pip install 'detente[ray]'`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from detente.population.execution import _check_map_args

T = TypeVar("T")
R = TypeVar("R")

INSTALL_HINT = "pip install 'detente[ray]'"


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as error:
        raise ImportError(
            f"the Ray executor needs Ray, which is not installed: {INSTALL_HINT} (or use the "
            "default in-process executor)"
        ) from error
    return ray


def _call(fn: Callable[[T], R], task: T) -> R:
    """The body of every Ray task: `fn(task)` on the worker."""
    return fn(task)


class RayExecutor:
    """Runs every task of `map` as a Ray task on a Ray cluster; results in task order.

    Ray is initialised on first use, unless the process already called `ray.init` (then that
    connection is used and left open by `close`).

    Args:
      address: where the cluster is: None (`ray.init()`: the cluster named by the
        RAY_ADDRESS environment variable, otherwise a new local instance using this machine's
        CPUs), "auto" (the cluster this machine joined with `ray start`), "ray://HOST:PORT"
        (Ray Client) or "HOST:PORT" (a cluster's GCS address).
      max_retries: times a task is re-run after its worker process died (Ray's
        `max_retries`); exceptions raised by the task itself are not retried.
      num_cpus: CPUs each task reserves (Ray scheduling; JAX may still use more threads).
      num_gpus: GPUs each task reserves; 0 keeps tasks on CPU (Ray hides GPUs from tasks
        that reserve none).
      init_kwargs: extra keyword arguments of `ray.init` (e.g. `runtime_env`,
        `include_dashboard`, `_temp_dir`).

    Raises:
      ImportError: Ray is not installed (the message names the `ray` extra).
      ValueError: a bad retry count or resource amount.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        max_retries: int = 3,
        num_cpus: float = 1,
        num_gpus: float = 0,
        init_kwargs: Mapping[str, Any] | None = None,
    ):
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be a non-negative integer, got {max_retries!r}")
        for name, value in (("num_cpus", num_cpus), ("num_gpus", num_gpus)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a non-negative number, got {value!r}")
        if address is not None and (not isinstance(address, str) or not address.strip()):
            raise ValueError(f"address must be None or a Ray address string, got {address!r}")
        self._ray = _import_ray()
        self.address = address
        self.max_retries = max_retries
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self.init_kwargs = dict(init_kwargs or {})
        self._started = False
        self._remote = None

    def _ensure_started(self) -> Any:
        ray = self._ray
        if not ray.is_initialized():
            ray.init(address=self.address, **self.init_kwargs)
            self._started = True
        if self._remote is None:
            self._remote = ray.remote(
                num_cpus=self.num_cpus, num_gpus=self.num_gpus, max_retries=self.max_retries
            )(_call)
        return ray

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> list[R]:
        """Runs `fn(task)` for every task as a Ray task; returns the results in order.

        Raises:
          Exception: the first failing task's own exception (Ray wraps it in a subclass of
            both `ray.exceptions.RayTaskError` and the original type), or a Ray error once a
            task's worker died more than `max_retries` times. Tasks still running are then
            cancelled.
        """
        tasks = _check_map_args(fn, tasks)
        if not tasks:
            return []
        ray = self._ensure_started()
        refs = [self._remote.remote(fn, task) for task in tasks]
        try:
            return ray.get(refs)
        except BaseException:
            # Cancel only the tasks not finished yet: cancelling a finished task races with its
            # reply in Ray's core worker, which can abort the whole process (a RAY_CHECK on
            # "Tried to complete task that was not pending", seen at `ray.shutdown`).
            _, running = ray.wait(refs, num_returns=len(refs), timeout=0)
            for ref in running:
                try:
                    ray.cancel(ref)
                except Exception:  # noqa: BLE001 - best effort: a task may finish meanwhile
                    pass
            raise

    def close(self) -> None:
        """Shuts Ray down if this executor started it; otherwise leaves it running."""
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()
        self._started = False
        self._remote = None

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"RayExecutor(address={self.address!r}, max_retries={self.max_retries}, "
            f"num_cpus={self.num_cpus}, num_gpus={self.num_gpus})"
        )

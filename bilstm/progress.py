"""A training progress bar (rich) that is silent when nobody is watching a terminal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class _Bar:
    def __init__(self, progress: Progress | None, epochs: int, steps: int) -> None:
        self._progress, self._steps = progress, steps
        self._task = progress.add_task("epoch 1", total=epochs * steps) if progress else None

    def skip_epochs(self, epochs: int) -> None:
        if self._progress and epochs:
            self._progress.update(
                self._task, advance=epochs * self._steps, description=f"resumed at {epochs}"
            )

    def advance(self) -> None:
        if self._progress:
            self._progress.update(self._task, advance=1)

    def epoch_done(self, epoch: int, train_loss: float, val_loss: float) -> None:
        if self._progress:
            text = f"epoch {epoch} train {train_loss:.4f} val {val_loss:.4f}"
            self._progress.update(self._task, description=text)


@contextmanager
def epoch_progress(show: bool, epochs: int, steps: int) -> Iterator[_Bar]:
    """A bar over `epochs * steps` batches, showing the last epoch's losses; a no-op when not `show`."""
    if not show:
        yield _Bar(None, epochs, steps)
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
        yield _Bar(progress, epochs, steps)

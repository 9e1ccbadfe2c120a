import pytest

from groklab.run import train
from groklab.train import TrainingInterrupted


@pytest.fixture
def train_until():
    """train(spec, store, **kwargs) interrupted as by Ctrl-C once it has evaluated `step`."""

    def run(spec, store, step: int, **kwargs) -> None:
        def interrupt(event):
            if event.step == step:
                raise KeyboardInterrupt

        with pytest.raises(TrainingInterrupted) as info:
            train(spec, store, progress=interrupt, **kwargs)
        assert info.value.step == step

    return run

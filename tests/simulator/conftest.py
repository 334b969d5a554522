import pytest

from tests.e2e.stack import Stack


@pytest.fixture(scope="session")
def simulator_stack(tmp_path_factory):
    """One real running assistant (Rasa server + action server, fresh SQLite) for every simulated conversation."""
    running = Stack(tmp_path_factory.mktemp("simulator-stack")).start()
    yield running
    running.stop()

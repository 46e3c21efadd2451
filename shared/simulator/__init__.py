"""The project's OpenAI-compatible LLM simulator, for tests and benchmarks (never a default backend)."""

from shared.simulator.app import SimState, create_app
from shared.simulator.config import SimConfig
from shared.simulator.server import RunningServer, run_in_thread

__all__ = ["RunningServer", "SimConfig", "SimState", "create_app", "run_in_thread"]

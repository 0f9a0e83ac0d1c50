"""Microsoft Graph + identity platform emulator (HTTPS on loopback) for tests, the demo and benchmarks."""

from .server import EmulatorServer

__all__ = ["EmulatorServer"]

"""The benchmark harness (``make bench``, ``o365-pipeline bench``): scenarios, limits and targets.

:mod:`.harness` starts the emulator as its own process and runs every scenario in a fresh child process
(:mod:`.child`), then writes ``bench/results.json`` (CONTRACT section 6) and prints a Markdown table
(:mod:`.report`).
"""

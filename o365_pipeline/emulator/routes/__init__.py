"""Graph route modules. Every module here with a `register(emu)` function is loaded at start."""

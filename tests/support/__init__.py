"""The test kit: events, Lambda contexts, engine launchers, fakes of the ports, servers and the CLI.

Tests and the bench import from here, never from a test module or a conftest.
"""

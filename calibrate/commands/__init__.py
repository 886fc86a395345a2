"""The subcommands of ``calibrate``, one module per stage; :func:`calibrate.cli.main` imports them all.

A command module decorates its functions with ``@cli.command()`` (importing :data:`calibrate.cli.cli`),
imports heavy libraries inside the function, and returns an exit code (0 ok, 1 a check failed).
"""

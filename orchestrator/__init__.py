"""pystack: a Compose-compatible orchestrator that is its own container engine.

The package is laid out as the stages a stack file goes through on its way to running
containers: ``spec`` (file → model), ``plan`` (model + state → actions), ``reconcile``
(actions → engine calls), and the edges that touch the kernel: ``images``, ``storage``,
``network``, ``runtime``, ``cgroups``; ``state`` keeps what exists, ``cli`` is the command line.
"""

__version__ = "0.1.0"

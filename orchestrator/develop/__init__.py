"""``pystack watch``: how the files a developer edits reach the running containers.

The service's ``develop.watch`` rules (:mod:`.rules`, pure) say what a changed host path means: a
copy into the containers (:mod:`.sync`), a restart, a rebuild or an exec. :mod:`.inotify` reports
the changes as the kernel sees them, and :mod:`.watcher` gathers them into batches and hands each
batch, routed by the rules, to the command that acts on it.
"""

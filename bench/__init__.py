"""The side-by-side benchmark harness (``make bench``): pystack measured beside crun, runc, podman and Docker."""

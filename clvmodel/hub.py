"""Publish the model (artifacts and card) or the whole app as a Space to the Hugging Face Hub.

clvmodel-hub --repo-id OWNER/NAME --dry-run          # list what a model push uploads
clvmodel-hub --repo-id OWNER/NAME --space --dry-run  # ... or a Space push
HF_TOKEN=hf_... clvmodel-hub --repo-id OWNER/NAME [--space]   # push

(``clvmodel-hub`` is ``python -m clvmodel.cli.hub``; this module only plans and pushes.)

The upload is planned first (:func:`plan_upload`): a list of ``(path_in_repo, local_path,
size_bytes)``. A dry run lists exactly that (:func:`format_plan`) and touches no network; a
push turns the same list into one commit (:func:`push`), so what the dry run shows is what
gets uploaded.

- Model repo: everything under ``artifacts/`` (skops models, ``metadata.json``,
  ``metrics.json``, plots) keeps its ``artifacts/`` prefix, so the card's relative plot
  links work on the Hub, and ``model_card.md`` (which carries the Hub's YAML metadata)
  becomes the repo's ``README.md``.
- Space repo: the whole project as it is on disk (``app.py``, ``requirements.txt``,
  ``README.md`` with its Space header, ``clvmodel/``, ``data/``, ``artifacts/``,
  ``model_card.md``, ...) except tests, benchmarks, hidden files and folders (``.git``,
  ``.ci``, caches) and local output (``screenshots/``, ``tmp/``, ``build/``,
  ``dist/``, ``__pycache__``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.repocard import metadata_load

__all__ = [
    "PlannedFile",
    "format_plan",
    "format_size",
    "plan_upload",
    "push",
    "token_from_env",
]

ARTIFACTS_DIR = "artifacts"
MODEL_CARD = "model_card.md"
TOKEN_VARIABLE = "HF_TOKEN"

# What a Space cannot run without; checked before anything is uploaded.
SPACE_REQUIRED = ("app.py", "requirements.txt", "README.md")
# Folder names left out of a Space push wherever they appear (hidden ones always are).
SPACE_EXCLUDED_DIRS = frozenset(
    {
        "tests",
        "benchmarks",
        "screenshots",
        "tmp",
        "flagged",
        "build",
        "dist",
        "__pycache__",
        "node_modules",
    }
)
SPACE_EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".egg-info")


class PlannedFile(NamedTuple):
    """One file of an upload: where it goes in the repo, where it is, its size in bytes."""

    path_in_repo: str
    local_path: Path
    size_bytes: int


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _planned(root: Path, path: Path, path_in_repo: str | None = None) -> PlannedFile:
    rel = path_in_repo or path.relative_to(root).as_posix()
    return PlannedFile(rel, path, path.stat().st_size)


def _front_matter(path: Path, what: str, needed: str) -> dict:
    """The YAML header of a markdown file, or a ValueError saying what to add."""
    meta = metadata_load(path)
    if not meta:
        raise ValueError(
            f"{path} has no YAML front matter (a block between '---' lines at the top); "
            f"the Hub needs it on {what}. {needed}"
        )
    return meta


def _space_excluded(rel: PurePosixPath) -> bool:
    if any(part.startswith(".") for part in rel.parts):
        return True
    if any(part in SPACE_EXCLUDED_DIRS for part in rel.parts[:-1]):
        return True
    return any(part.endswith(SPACE_EXCLUDED_SUFFIXES) for part in rel.parts)


def plan_upload(root: str | os.PathLike[str], *, space: bool) -> list[PlannedFile]:
    """The files a push of the model (or of the whole Space) would upload, sorted by path.

    Parameters
    ----------
    root : str or path
        The project folder (the one holding ``artifacts/`` and ``model_card.md``).
    space : bool
        False: the model repo (``artifacts/**`` and ``model_card.md`` as ``README.md``).
        True: the Space (every project file except tests, benchmarks, hidden and cache
        folders and local output; see the module docstring).

    Returns
    -------
    list of PlannedFile
        ``(path_in_repo, local_path, size_bytes)`` per file, sorted by ``path_in_repo``;
        ``path_in_repo`` uses ``/`` separators.

    Raises
    ------
    ValueError
        If `root` is not a folder, the artifacts or the model card are missing (train
        first), the card has no YAML metadata, or, for a Space, ``app.py``,
        ``requirements.txt`` or a ``README.md`` with a Space header (``sdk: gradio``) is
        missing.

    Examples
    --------
    >>> plan = plan_upload(".", space=False)  # doctest: +SKIP
    >>> [f.path_in_repo for f in plan][:2]  # doctest: +SKIP
    ['README.md', 'artifacts/metadata.json']
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"The 'root' parameter must be the project folder; got {str(root)!r}.")
    artifacts = root / ARTIFACTS_DIR
    card = root / MODEL_CARD
    train_first = "Train first with `python train.py`, which writes both."
    if not (artifacts / "metadata.json").is_file():
        raise ValueError(f"{artifacts / 'metadata.json'} not found: no artifacts. {train_first}")
    if not card.is_file():
        raise ValueError(f"{card} not found: no model card. {train_first}")
    _front_matter(card, "a model card", "Regenerate it with `python train.py`.")

    if not space:
        plan = [_planned(root, card, "README.md")]
        plan += [_planned(root, p) for p in _files_under(artifacts)]
        return sorted(plan)

    missing = [name for name in SPACE_REQUIRED if not (root / name).is_file()]
    if missing:
        raise ValueError(
            f"A Space needs {', '.join(SPACE_REQUIRED)} at the top of {root}; "
            f"missing: {', '.join(missing)}."
        )
    header = _front_matter(
        root / "README.md",
        "a Space README",
        "Start README.md with a Space header such as '---\\nsdk: gradio\\napp_file: app.py\\n---'.",
    )
    if header.get("sdk") != "gradio":
        raise ValueError(
            f"The Space header of {root / 'README.md'} must say 'sdk: gradio'; "
            f"got sdk={header.get('sdk')!r}."
        )
    plan = []
    for path in _files_under(root):
        rel = PurePosixPath(path.relative_to(root).as_posix())
        if not _space_excluded(rel):
            plan.append(_planned(root, path))
    return sorted(plan)


def format_size(n_bytes: int) -> str:
    """A human-readable size: ``'512 B'``, ``'1.5 kB'``, ``'23.4 MB'`` (powers of 1000)."""
    size = float(n_bytes)
    for unit in ("B", "kB", "MB"):
        if size < 1000:
            return f"{n_bytes} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.2f} GB"


def format_plan(plan: Sequence[PlannedFile], *, repo_id: str, space: bool) -> str:
    """The dry-run listing: one line per file (size, path in repo, source if renamed), total."""
    kind = "Space" if space else "model repo"
    lines = [f"Dry run: a push to {kind} {repo_id} would upload {len(plan)} files:", ""]
    width = max((len(f.path_in_repo) for f in plan), default=0)
    for f in plan:
        source = f.local_path.as_posix()
        same = source == f.path_in_repo or source.endswith("/" + f.path_in_repo)
        renamed = "" if same else f"  <- {source}"
        line = f"{format_size(f.size_bytes):>10}  {f.path_in_repo:<{width}}{renamed}"
        lines.append(line.rstrip())
    total = sum(f.size_bytes for f in plan)
    lines += ["", f"{format_size(total):>10}  total ({len(plan)} files, {total:,} bytes)"]
    return "\n".join(lines)


def token_from_env(environ: dict[str, str] | None = None) -> str:
    """The Hub token from ``HF_TOKEN``; a ValueError saying how to set it if it is absent."""
    token = (os.environ if environ is None else environ).get(TOKEN_VARIABLE, "").strip()
    if not token:
        raise ValueError(
            f"{TOKEN_VARIABLE} is not set: a push needs a Hugging Face token with write "
            "access (create one at https://huggingface.co/settings/tokens), e.g. "
            f"`{TOKEN_VARIABLE}=hf_... python -m clvmodel.cli.hub --repo-id OWNER/NAME`. "
            "Use --dry-run to list the files without pushing."
        )
    return token


def push(
    repo_id: str,
    plan: Iterable[PlannedFile],
    *,
    space: bool,
    token: str,
    commit_message: str | None = None,
) -> object:
    """Create the repo if needed and upload every planned file in one commit.

    Parameters
    ----------
    repo_id : str
        ``"OWNER/NAME"``.
    plan : iterable of PlannedFile
        What :func:`plan_upload` returned.
    space : bool
        Push to a Gradio Space (``repo_type="space"``) instead of a model repo.
    token : str
        A Hub token with write access (see :func:`token_from_env`).
    commit_message : str, optional
        Defaults to "Upload clvmodel model" or "Upload clvmodel Space".

    Returns
    -------
    huggingface_hub.CommitInfo
        What ``HfApi.create_commit`` returned (it has ``commit_url``).

    Raises
    ------
    ValueError
        If `repo_id` is not ``OWNER/NAME`` or `plan` is empty.
    huggingface_hub.errors.HfHubHTTPError
        If the Hub refuses (bad token, no write access, ...).
    """
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise ValueError(f"The 'repo_id' parameter must look like OWNER/NAME; got {repo_id!r}.")
    operations = [
        CommitOperationAdd(path_in_repo=f.path_in_repo, path_or_fileobj=str(f.local_path))
        for f in plan
    ]
    if not operations:
        raise ValueError("Nothing to upload: the plan is empty.")
    repo_type = "space" if space else "model"
    api = HfApi(token=token)
    api.create_repo(
        repo_id,
        repo_type=repo_type,
        space_sdk="gradio" if space else None,
        exist_ok=True,
    )
    return api.create_commit(
        repo_id,
        operations=operations,
        commit_message=commit_message or f"Upload clvmodel {'Space' if space else 'model'}",
        repo_type=repo_type,
    )

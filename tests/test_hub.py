"""Publishing: the upload plan, the dry run (no network) and the push with the Hub mocked."""

from pathlib import Path
from unittest import mock

import pytest
from huggingface_hub import CommitOperationAdd
from huggingface_hub.errors import OfflineModeIsEnabled

from clvmodel import hub
from clvmodel.cli import hub as hub_cli

CARD = "---\nlicense: mit\nlibrary_name: skops\n---\n\n# clvmodel\n\n![p](artifacts/plots/a.png)\n"
SPACE_README = (
    "---\ntitle: clvmodel\nsdk: gradio\nsdk_version: 6.31.0\napp_file: app.py\n---\n\n# x\n"
)

# Every file of the fake project, and its content (so sizes are known exactly).
FILES = {
    "artifacts/models/total.skops": b"\x00" * 1234,
    "artifacts/models/purchase.skops": b"\x01" * 321,
    "artifacts/metadata.json": b'{"model_version": "t"}',
    "artifacts/metrics.json": b"{}",
    "artifacts/plots/a.png": b"\x89PNG" + b"\x00" * 96,
    "model_card.md": CARD.encode(),
    "README.md": SPACE_README.encode(),
    "app.py": b"import gradio as gr\n",
    "requirements.txt": b"gradio==6.31.0\n",
    "train.py": b"# train\n",
    "clvmodel/__init__.py": b"",
    "clvmodel/prediction.py": b"# predict\n",
    "clvmodel/__pycache__/prediction.cpython-311.pyc": b"\x00" * 50,
    "data/customer_details.csv.gz": b"\x1f\x8b" + b"\x00" * 500,
    "docs/screenshot.png": b"\x89PNG" + b"\x00" * 10,
    # never part of a Space
    "tests/test_app.py": b"def test(): pass\n",
    "benchmarks/app_speed.py": b"# bench\n",
    "screenshots/lookup.png": b"\x89PNG",
    ".git/HEAD": b"ref: refs/heads/main\n",
    ".gitignore": b"__pycache__/\n",
    ".pytest_cache/README.md": b"cache\n",
    ".ci/run": b"#!/bin/sh\n",
    "clvmodel.egg-info/PKG-INFO": b"Name: clvmodel\n",
}

MODEL_PATHS = {
    "README.md": "model_card.md",
    "artifacts/metadata.json": "artifacts/metadata.json",
    "artifacts/metrics.json": "artifacts/metrics.json",
    "artifacts/models/purchase.skops": "artifacts/models/purchase.skops",
    "artifacts/models/total.skops": "artifacts/models/total.skops",
    "artifacts/plots/a.png": "artifacts/plots/a.png",
}
SPACE_PATHS = [
    "README.md",
    "app.py",
    "artifacts/metadata.json",
    "artifacts/metrics.json",
    "artifacts/models/purchase.skops",
    "artifacts/models/total.skops",
    "artifacts/plots/a.png",
    "clvmodel/__init__.py",
    "clvmodel/prediction.py",
    "data/customer_details.csv.gz",
    "docs/screenshot.png",
    "model_card.md",
    "requirements.txt",
    "train.py",
]


@pytest.fixture
def project(tmp_path) -> Path:
    """A fake project tree: a trained model, an app, and files a push must leave out."""
    for rel, content in FILES.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return tmp_path


@pytest.fixture
def no_hub(monkeypatch):
    """Fail the test if anything constructs a Hub client."""

    def refuse(*args, **kwargs):
        raise AssertionError("HfApi must not be constructed here")

    monkeypatch.setattr(hub, "HfApi", refuse)


@pytest.fixture
def fake_api(monkeypatch):
    """A mocked HfApi class; ``fake_api.return_value`` is the client instance."""
    api_class = mock.MagicMock(name="HfApi")
    api_class.return_value.create_commit.return_value = mock.Mock(
        commit_url="https://huggingface.co/o/n/commit/abc"
    )
    monkeypatch.setattr(hub, "HfApi", api_class)
    return api_class


def test_model_plan_is_artifacts_and_card_as_readme(project):
    plan = hub.plan_upload(project, space=False)

    assert plan == [
        (repo_path, project / local, len(FILES[local])) for repo_path, local in MODEL_PATHS.items()
    ]


def test_space_plan_is_the_project_without_tests_benchmarks_or_caches(project):
    plan = hub.plan_upload(project, space=True)

    assert [f.path_in_repo for f in plan] == SPACE_PATHS
    for f in plan:
        assert f.local_path == project / f.path_in_repo
        assert f.size_bytes == len(FILES[f.path_in_repo])


@pytest.mark.parametrize("space", [False, True], ids=["model", "space"])
def test_plan_without_artifacts_says_train_first(project, space):
    (project / "artifacts" / "metadata.json").unlink()

    with pytest.raises(ValueError, match=r"no artifacts\. Train first with `python train.py`"):
        hub.plan_upload(project, space=space)


def test_plan_refuses_a_card_without_yaml_metadata(project):
    (project / "model_card.md").write_text("# just a title\n")

    with pytest.raises(ValueError, match=r"model_card\.md has no YAML front matter"):
        hub.plan_upload(project, space=False)


def test_space_plan_needs_app_and_a_gradio_readme_header(project):
    (project / "app.py").unlink()
    with pytest.raises(ValueError, match=r"missing: app\.py"):
        hub.plan_upload(project, space=True)

    (project / "app.py").write_text("")
    (project / "README.md").write_text("---\nsdk: docker\n---\n# x\n")
    with pytest.raises(ValueError, match="must say 'sdk: gradio'; got sdk='docker'"):
        hub.plan_upload(project, space=True)


@pytest.mark.parametrize("space", [False, True], ids=["model", "space"])
def test_dry_run_lists_every_file_with_sizes_and_no_network(
    project, no_hub, monkeypatch, capsys, space
):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    argv = ["--repo-id", "o/n", "--dry-run", "--root", str(project)]

    assert hub_cli.main([*argv, "--space"] if space else argv) == 0

    out = capsys.readouterr().out
    plan = hub.plan_upload(project, space=space)
    lines = out.splitlines()
    assert lines[0] == (
        f"Dry run: a push to {'Space' if space else 'model repo'} o/n would upload "
        f"{len(plan)} files:"
    )
    listed = lines[2:-2]
    assert len(listed) == len(plan)
    for line, f in zip(listed, plan, strict=True):
        assert line.split()[:3] == [*hub.format_size(f.size_bytes).split(), f.path_in_repo]
    total = sum(f.size_bytes for f in plan)
    assert (
        lines[-1].strip() == f"{hub.format_size(total)}  total ({len(plan)} files, {total:,} bytes)"
    )
    if not space:
        readme = next(line for line in lines if " README.md " in line)
        assert readme.endswith(f"<- {(project / 'model_card.md').as_posix()}")
        assert out.count("model_card.md") == 1


def test_format_size():
    assert [hub.format_size(n) for n in (0, 999, 1234, 23_456_789, 3 * 10**9)] == [
        "0 B",
        "999 B",
        "1.2 kB",
        "23.5 MB",
        "3.00 GB",
    ]


@pytest.mark.parametrize(
    ("space", "repo_type", "sdk"),
    [(False, "model", None), (True, "space", "gradio")],
    ids=["model", "space"],
)
def test_push_sends_the_planned_files_in_one_commit(
    project, fake_api, monkeypatch, capsys, space, repo_type, sdk
):
    monkeypatch.setenv("HF_TOKEN", "hf_test")
    argv = ["--repo-id", "o/n", "--root", str(project)]

    assert hub_cli.main([*argv, "--space"] if space else argv) == 0

    fake_api.assert_called_once_with(token="hf_test")
    api = fake_api.return_value
    api.create_repo.assert_called_once_with(
        "o/n", repo_type=repo_type, space_sdk=sdk, exist_ok=True
    )
    api.create_commit.assert_called_once()
    args, kwargs = api.create_commit.call_args
    assert args == ("o/n",)
    assert kwargs["repo_type"] == repo_type
    operations = kwargs["operations"]
    assert all(isinstance(op, CommitOperationAdd) for op in operations)
    plan = hub.plan_upload(project, space=space)
    assert [(op.path_in_repo, Path(op.path_or_fileobj)) for op in operations] == [
        (f.path_in_repo, f.local_path) for f in plan
    ]
    if not space:
        readme = next(op for op in operations if op.path_in_repo == "README.md")
        assert Path(readme.path_or_fileobj) == project / "model_card.md"
    assert "https://huggingface.co/o/n/commit/abc" in capsys.readouterr().out


def test_push_without_token_says_how_to_set_it(project, no_hub, monkeypatch, capsys):
    monkeypatch.delenv("HF_TOKEN", raising=False)

    assert hub_cli.main(["--repo-id", "o/n", "--space", "--root", str(project)]) == 1

    err = capsys.readouterr().err
    assert err.startswith("error: HF_TOKEN is not set")
    assert "https://huggingface.co/settings/tokens" in err and "--dry-run" in err


def test_hub_failure_is_one_clear_line_and_exit_1(project, fake_api, monkeypatch, capsys):
    monkeypatch.setenv("HF_TOKEN", "hf_test")
    fake_api.return_value.create_repo.side_effect = OfflineModeIsEnabled("HF_HUB_OFFLINE=1")

    assert hub_cli.main(["--repo-id", "o/n", "--root", str(project)]) == 1

    assert capsys.readouterr().err.startswith("error: the push to o/n failed: HF_HUB_OFFLINE=1")
    fake_api.return_value.create_commit.assert_not_called()


def test_multi_line_hub_error_is_printed_on_one_line(project, fake_api, monkeypatch, capsys):
    monkeypatch.setenv("HF_TOKEN", "hf_test")
    fake_api.return_value.create_commit.side_effect = OSError("403 Forbidden\n\n  no write access")

    assert hub_cli.main(["--repo-id", "o/n", "--root", str(project)]) == 1

    err = capsys.readouterr().err
    assert err == "error: the push to o/n failed: 403 Forbidden no write access\n"


@pytest.mark.parametrize("repo_id", ["noslash", "a/b/c", "/name"])
def test_push_refuses_a_malformed_repo_id(project, no_hub, repo_id):
    plan = hub.plan_upload(project, space=False)

    with pytest.raises(ValueError, match=f"must look like OWNER/NAME; got '{repo_id}'"):
        hub.push(repo_id, plan, space=False, token="hf_test")


def test_library_module_has_no_command_line_code():
    assert not hasattr(hub, "main")
    assert not hasattr(hub, "format_parser")
    assert "argparse" not in vars(hub)

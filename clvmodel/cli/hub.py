"""Publish the model (artifacts and card) or the whole app as a Space to the Hugging Face Hub.

clvmodel-hub --repo-id OWNER/NAME --dry-run          # list what a model push uploads
clvmodel-hub --repo-id OWNER/NAME --space --dry-run  # ... or a Space push
HF_TOKEN=hf_... clvmodel-hub --repo-id OWNER/NAME [--space]   # push

(or ``python -m clvmodel.cli.hub ...``). What goes where: :mod:`clvmodel.hub`.
"""

from __future__ import annotations

import argparse
import sys

from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

from clvmodel import hub
from clvmodel.cli import one_line


def format_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """Add this command's arguments to `parser` (a new one if None) and return it."""
    parser = parser or argparse.ArgumentParser(
        prog="clvmodel-hub",
        description="Publish the model, or the whole app as a Space, to the Hugging Face Hub.",
    )
    parser.add_argument("--repo-id", required=True, help="OWNER/NAME on the Hugging Face Hub")
    parser.add_argument("--space", action="store_true", help="push the whole app as a Gradio Space")
    parser.add_argument(
        "--dry-run", action="store_true", help="list the files and sizes; no network, no token"
    )
    parser.add_argument("--root", default=".", help="project folder (default: current folder)")
    parser.add_argument("--message", default=None, help="commit message")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command; 0 on success, 1 (with one line on stderr) on any error."""
    args = format_parser().parse_args(argv)
    try:
        plan = hub.plan_upload(args.root, space=args.space)
        if args.dry_run:
            print(hub.format_plan(plan, repo_id=args.repo_id, space=args.space))
            return 0
        token = hub.token_from_env()
        info = hub.push(
            args.repo_id, plan, space=args.space, token=token, commit_message=args.message
        )
    except ValueError as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 1
    except (HfHubHTTPError, OfflineModeIsEnabled, OSError) as exc:
        print(f"error: the push to {args.repo_id} failed: {one_line(exc)}", file=sys.stderr)
        return 1
    total = sum(f.size_bytes for f in plan)
    url = getattr(info, "commit_url", None) or args.repo_id
    print(f"pushed {len(plan)} files ({hub.format_size(total)}) to {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

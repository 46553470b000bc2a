"""Train clvmodel on a folder of retail tables and write artifacts and the model card.

A shim kept where it always was: the command lives in :mod:`clvmodel.cli.train` (also
``clvmodel-train`` once installed). ``python train.py --help`` lists the options.
"""

from clvmodel.cli.train import main

if __name__ == "__main__":
    raise SystemExit(main())

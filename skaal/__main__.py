"""``python -m skaal``: the same commands as the ``skaal`` script, for an
environment whose scripts folder is not on ``PATH``."""

from skaal.cli.main import main

if __name__ == "__main__":
    main()

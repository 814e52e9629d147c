"""Allow ``python -m sklearn_deepfake`` as a synonym of ``sklearn-deepfake``."""

import sys

from sklearn_deepfake.cli import main

if __name__ == "__main__":
    sys.exit(main())

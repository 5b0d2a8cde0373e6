"""Author a synthetic recording from a declarative description (see psbridge.replay.synthetic)."""

from psbridge.replay.synthetic import main

if __name__ == "__main__":
    raise SystemExit(main())

"""Author a synthetic recording from a declarative description.

A PSRP recording (see psbridge.replay.synthetic), or, for a source with `interactions`, a Graph HTTP
cassette (see psbridge.replay.graph_http.author_graph_cassette):

    python scripts/author_recording.py SOURCE -o OUTPUT
"""

from psbridge.replay.synthetic import main

if __name__ == "__main__":
    raise SystemExit(main())

"""The tile mazes of the continuous T-maze (:mod:`tasks.tmaze`): maps, goals, rangefinders.

A maze is a tile map (:data:`MAZES`); positions are kept as integers in
tenths of a tile (:data:`SCALE`), so the rangefinder readings of every
lattice point and heading are precomputed once per process (:func:`maze`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

#: Tile maps: '#' wall, '.' corridor, 'S' start, 'G' goal.  Row 0 is north; outside the map is wall.
MAZES = {
    "double": (
        "#########",
        "#G#####G#",
        "#.......#",
        "#G##.##G#",
        "####.####",
        "####.####",
        "####S####",
    ),
    "single": (
        "#########",
        "#G.....G#",
        "####.####",
        "####.####",
        "####S####",
    ),
}
#: Goal tiles (x, y) in goal order (the turns that lead there, left = 0, first turn first).
GOALS = {
    "double": ((1, 3), (1, 1), (7, 1), (7, 3)),
    "single": ((1, 1), (7, 1)),
}
#: Headings: 0 north, 1 east, 2 south, 3 west; (dx, dy) with y growing southwards.
HEADINGS = np.array([(0, -1), (1, 0), (0, 1), (-1, 0)], dtype=np.int64)
SENSOR_CUTOFF = 3.0
STEP = 0.1  # tiles per move (positions are integers in these units)
SCALE = 10


@dataclass(frozen=True)
class Maze:
    """A tile maze with its precomputed sensor readings (see :func:`maze`)."""

    kind: str
    wall: np.ndarray
    """(H, W) bool."""
    goal_of: np.ndarray
    """(H, W) int: the goal index of a tile, -1 for others."""
    junction: np.ndarray
    """(H, W) bool: open tiles with at least three open neighbours."""
    corridor_junction: np.ndarray
    """(H, W) bool: corridor tiles with at least three corridor neighbours, goal and start tiles not counted
    (the authors' turn signal, ``TMaze.MazeMap.isIntersection``)."""
    start: tuple
    """(x, y) start tile."""
    sensors: np.ndarray
    """(W*10+1, H*10+1, 4 headings, 3) rangefinder readings in [0, 1] at every lattice point."""

    @property
    def width(self) -> int:
        return self.wall.shape[1]

    @property
    def height(self) -> int:
        return self.wall.shape[0]

    def junctions(self, rule: str) -> np.ndarray:
        """The tiles a ``junction`` input marks under ``rule`` (``TMazeTask.junction_rule``): ``open`` or
        ``corridor``."""
        return self.junction if rule == "open" else self.corridor_junction

    def start_position(self) -> tuple[int, int]:
        """The start tile's centre in tenths of a tile."""
        return self.start[0] * SCALE + SCALE // 2, self.start[1] * SCALE + SCALE // 2


@lru_cache(maxsize=None)
def maze(kind: str) -> Maze:
    """The maze ``kind`` (``single`` or ``double``), sensors precomputed (cached per process)."""
    rows = MAZES[kind]
    H, W = len(rows), len(rows[0])
    grid = np.array([list(r) for r in rows])
    wall = grid == "#"
    goal_of = np.full((H, W), -1, dtype=np.int64)
    for i, (x, y) in enumerate(GOALS[kind]):
        assert grid[y, x] == "G"
        goal_of[y, x] = i
    corridor = grid == "."
    sy, sx = np.argwhere(grid == "S")[0]
    return Maze(kind=kind, wall=wall, goal_of=goal_of, junction=~wall & (_neighbours(~wall) >= 3),
                corridor_junction=corridor & (_neighbours(corridor) >= 3), start=(int(sx), int(sy)),
                sensors=_sensor_table(wall))


def _neighbours(tiles: np.ndarray) -> np.ndarray:
    """(H, W) int: how many of each tile's four neighbours are in ``tiles`` (outside the map: none)."""
    padded = np.pad(tiles, 1, constant_values=False)
    return padded[:-2, 1:-1].astype(int) + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:]


def _is_wall(wall: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Whether the points (x, y) in tiles lie in a wall tile (outside the map counts as wall)."""
    H, W = wall.shape
    tx, ty = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    inside = (tx >= 0) & (tx < W) & (ty >= 0) & (ty < H)
    return ~inside | wall[np.clip(ty, 0, H - 1), np.clip(tx, 0, W - 1)]


def rangefinder(wall: np.ndarray, x, y, dx: float, dy: float, cutoff: float = SENSOR_CUTOFF) -> np.ndarray:
    """Distance (tiles) from points (x, y) along the unit direction (dx, dy) to the first wall, capped at ``cutoff``.

    Exact for a tile map: the ray can only enter a wall where it crosses a tile
    boundary, so only those crossings are checked.
    """
    x = np.asarray(x, dtype=np.float64)
    return _distances(wall, x, np.asarray(y, dtype=np.float64), np.full(x.shape, float(dx)),
                      np.full(x.shape, float(dy)), cutoff)


def rangefinder_rows(wall: np.ndarray, x, y, dx, dy, cutoff: float = SENSOR_CUTOFF) -> np.ndarray:
    """Like :func:`rangefinder` with one unit direction per point (``dx``, ``dy`` arrays like ``x``), scaled
    to [0, 1] by ``cutoff``: the readings of the real-valued agent (``steering = "angle"``)."""
    return _distances(wall, *(np.asarray(a, dtype=np.float64) for a in (x, y, dx, dy)), cutoff) / cutoff


def _distances(wall, x, y, dx, dy, cutoff):
    x, y, dx, dy = x[..., None], y[..., None], dx[..., None], dy[..., None]
    span = np.arange(-int(cutoff) - 2, int(cutoff) + 3)
    cands = [np.zeros_like(x)]
    with np.errstate(divide="ignore", invalid="ignore"):
        for p, d in ((x, dx), (y, dy)):  # a direction parallel to an axis crosses none of its boundaries
            t = (np.floor(p) + span - p) / np.where(d == 0, np.nan, d)
            cands.append(np.where(np.isfinite(t), t, -1.0))
    t = np.concatenate(cands, axis=-1)
    valid = (t >= 0) & (t <= cutoff)
    t = np.where(valid, t, 0.0)
    eps = 1e-9
    hit = _is_wall(wall, x + (t + eps) * dx, y + (t + eps) * dy) & valid
    d = np.where(hit, t, np.inf).min(axis=-1)
    return np.minimum(d, cutoff)


def sensor_directions(heading: int) -> list[tuple[float, float]]:
    """Unit directions of the -45, 0 and +45 degree rangefinders for a heading (y grows southwards)."""
    fx, fy = HEADINGS[heading]
    lx, ly = fy, -fx  # 90 degrees to the left (counter-clockwise on the map)
    r = 1 / np.sqrt(2)
    return [((fx + lx) * r, (fy + ly) * r), (float(fx), float(fy)), ((fx - lx) * r, (fy - ly) * r)]


def _sensor_table(wall: np.ndarray) -> np.ndarray:
    H, W = wall.shape
    ix, iy = np.meshgrid(np.arange(W * SCALE + 1), np.arange(H * SCALE + 1), indexing="ij")
    x, y = ix / SCALE, iy / SCALE
    table = np.empty((W * SCALE + 1, H * SCALE + 1, 4, 3))
    for h in range(4):
        for s, (dx, dy) in enumerate(sensor_directions(h)):
            table[:, :, h, s] = rangefinder(wall, x, y, dx, dy) / SENSOR_CUTOFF
    return table

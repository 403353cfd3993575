"""The reward tasks' environments compiled (numba), for the fused closed loop (:mod:`entm.closed_kernel`).

Each environment of :mod:`entm.tasks.tmaze` and :mod:`entm.tasks.season` is
re-stated here as a step of its running rows: :func:`env_observe` writes their
task inputs, :func:`env_act` consumes their task outputs and advances them one
step — for each row the same operations, in the same order, in float64, as the
numpy environment's ``observe`` and ``act`` do.  The numpy environment
stays the reference and the owner of the state: :func:`pack_env` copies its
state into flat arrays, the kernel steps them, :func:`unpack_env` writes them
back, after which the environment is exactly where its own loop would have
left it (scores, fitness and terms are then computed by the task as always).

The state of a row is a row of ``S`` (integers: the ``TM_*`` or ``SE_*``
columns below) and of ``F`` (floats); per-deployment data (the goal pairs and
the switch round, or the season's food schedule) a row of ``D``; the task's
settings the vectors ``ip`` (the ``P_*`` entries) and ``fp`` (``FP_*``).

Adding a task parameter: give it an ``ip``/``fp`` entry (or a column), fill it
in :func:`pack_env`, use it in the row step, and name it in :data:`SUPPORTED`
(with the values the compiled step implements).  Until then a task that has
the parameter runs in the numpy loop (:func:`env_supported` says no), so a new
parameter can never be silently ignored.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from entm.jit import njit
from entm.tasks import maze as maze_module
from entm.tasks import maze_logic
from entm.tasks import season as season_module
from entm.tasks import tmaze as tmaze_module

# environment kinds
TMAZE_DISCRETE, TMAZE_CONTINUOUS, SEASON, TMAZE_STEERING = 0, 1, 2, 3

# ip entries
(P_KIND, P_ROUNDS, P_DEPTH, P_MAX_STEPS, P_START_X, P_START_Y, P_SCALE, P_SPF, P_DECISION, P_FOODS, P_ITEMS, P_JUNCTION,
 P_FEEDBACK, P_ARGMAX) = range(14)
N_IP = 14
# fp entries
FP_HIGH, FP_LOW, FP_EAT, FP_AVOID, FP_STEER_MAX, FP_START_X, FP_START_Y, FP_CUTOFF = range(8)
# S columns, T-maze: the MazeEnv's state (``tried`` as a bit mask), then the variant's
TM_ACTIVE, TM_ROUND, TM_REWARDING, TM_KNOWN, TM_TRIED, TM_RIGHT, TM_REACHED = range(7)
TM_DEPTH, TM_PATH = 7, 8  # discrete
TM_IX, TM_IY, TM_HEADING, TM_MOVES = 7, 8, 9, 10  # continuous (steering: TM_MOVES only)
# F columns, T-maze: the reward, then the steering agent's real position and heading (radians)
F_REWARD, F_X, F_Y, F_ANGLE = range(4)
# S columns, season
SE_ACTIVE, SE_T, SE_LENGTH, SE_RIGHT, SE_SCORED = range(5)
# D, T-maze: the high goal per round (MazeDeployments.schedule); season: food | poison | scored,
# ip[P_ITEMS] columns each

#: per task class: the dataclass fields the compiled environment knows, each with the test its value
#: must pass (None: any value).  A field not named here (a parameter added later) sends the task to
#: the numpy loop.
SUPPORTED = {
    tmaze_module.TMazeTask: {"variant": None, "maze": None, "rounds": None, "switch_spread": None,
                             "max_steps": None, "goal_bonus": None, "steering": None, "steer_max": None,
                             "junction_input": None, "junction_rule": None, "swap_fraction": None,
                             "swap_fix": None, "swaps": None, "goal_set": None,  # the moves are drawn before
                             # the loop: the kernel reads the high goal per round from D
                             "lexicase_cases": None,  # the search's cases, read off the goals afterwards
                             "stages": None},  # a curriculum's stage is a task of its own
    season_module.SeasonTask: {name: None for name in (
        "years", "seasons", "min_days", "max_days", "foods", "poisonous", "steps_per_food", "gen_min_days",
        "gen_max_days", "foods_per_season", "season_days", "feedback", "feedback_length", "credit", "showings",
        "foods_shown", "stages", "memory_term", "lexicase_cases")},  # the credit is the fitness; the showings,
    # the foods shown and the stages the schedule; the cases are read off the decisions afterwards: no step
    # depends on them; the memory term's reads are summed by season_reads
}
#: the environment classes the compiled step re-states (exact classes: a subclass may step differently)
ENVIRONMENTS = {tmaze_module.DiscreteMazeEnv: TMAZE_DISCRETE, tmaze_module.ContinuousMazeEnv: TMAZE_CONTINUOUS,
                tmaze_module.SteeringMazeEnv: TMAZE_STEERING, season_module.SeasonEnv: SEASON}


def env_supported(task, env) -> bool:
    """Whether the compiled step reproduces ``env`` (an environment of ``task``) exactly: a known
    environment class, every task parameter known and supported, nothing recorded."""
    known = SUPPORTED.get(type(task))
    if known is None or type(env) not in ENVIRONMENTS or not dataclasses.is_dataclass(task):
        return False
    for f in dataclasses.fields(task):
        if f.name not in known:
            return False
        test = known[f.name]
        if test is not None and not test(getattr(task, f.name)):
            return False
    return getattr(env, "log", None) is None and getattr(env, "decisions", None) is None


def pack_env(env, B: int):
    """(ip, fp, S, F, D, sensors, grid, LI, LF) for the kernel: ``env``'s state (G*B rows) as arrays;
    ``grid`` = (wall, goal of, junction) tiles and ``sensors`` the rangefinder table (continuous maze);
    ``LI`` the T-maze's goal of every round, ``LF`` the season task's decision of every item."""
    kind = ENVIRONMENTS[type(env)]
    task = env.task
    N = env.batch
    ip = np.zeros(N_IP, np.int64)
    ip[P_KIND] = kind
    fp = np.array([maze_logic.HIGH_REWARD, maze_logic.LOW_REWARD, season_module.EAT, season_module.AVOID,
                   0.0, 0.0, 0.0, maze_module.SENSOR_CUTOFF])
    sensors = np.zeros((1, 1, 4, 3))
    grid = np.zeros((3, 1, 1), np.int64)
    LI, LF = np.zeros((1, 1), np.int64), np.zeros((1, 1))
    if kind == SEASON:
        S = np.zeros((N, 5), np.int64)
        S[:, SE_ACTIVE] = env.active
        S[:, SE_T] = env.t
        S[:, SE_LENGTH] = env.length
        S[:, SE_RIGHT] = env.right_count
        S[:, SE_SCORED] = env.scored_count
        F = env.feedback.astype(np.float64, copy=True)
        ip[P_SPF], ip[P_DECISION], ip[P_FOODS] = task.steps_per_food, task.decision_step, task.food_inputs
        ip[P_ITEMS] = env.food.shape[1]
        ip[P_FEEDBACK] = 1 if task.feedback == "right" else 0
        D = np.ascontiguousarray(np.concatenate([env.food_input[:B], env.poison[:B], env.scored[:B]], axis=1),
                                 dtype=np.int64)
        LF = np.ascontiguousarray(env.eaten, dtype=np.float64)
        return ip, fp, S, F, D, sensors, grid, LI, LF
    S = np.zeros((N, 11), np.int64)
    S[:, TM_ACTIVE] = env.active
    S[:, TM_ROUND] = env.round
    S[:, TM_REWARDING] = env.rewarding
    S[:, TM_KNOWN] = env.known
    S[:, TM_TRIED] = (env.tried.astype(np.int64) << np.arange(env.tried.shape[1])).sum(axis=1)
    S[:, TM_RIGHT] = env.right
    S[:, TM_REACHED] = env.reached
    ip[P_ROUNDS], ip[P_DEPTH], ip[P_MAX_STEPS] = env.rounds, task.depth, task.max_steps
    ip[P_JUNCTION] = task.junction_input
    LI = np.ascontiguousarray(env.goal_log, dtype=np.int64)
    F = np.ascontiguousarray(env.reward[:, None], dtype=np.float64)
    if kind == TMAZE_DISCRETE:
        S[:, TM_DEPTH] = env.depth
        S[:, TM_PATH] = env.path
    else:
        mz = env.maze
        grid = np.ascontiguousarray(np.stack([mz.wall, mz.goal_of, env.junctions]), dtype=np.int64)
        S[:, TM_MOVES] = env.moves
    if kind == TMAZE_CONTINUOUS:
        S[:, TM_IX], S[:, TM_IY], S[:, TM_HEADING] = env.ix, env.iy, env.heading
        ip[P_START_X], ip[P_START_Y] = env.start
        ip[P_SCALE] = maze_module.SCALE
        sensors = np.ascontiguousarray(mz.sensors, dtype=np.float64)
    elif kind == TMAZE_STEERING:
        F = np.ascontiguousarray(np.stack([env.reward, env.x, env.y, env.angle], axis=1), dtype=np.float64)
        fp[FP_STEER_MAX] = env.steer_max
        ip[P_ARGMAX] = task.steering == "argmax"
        fp[FP_START_X], fp[FP_START_Y] = env.start
    D = np.ascontiguousarray(env.schedule[:B], dtype=np.int64)
    return ip, fp, S, F, D, sensors, grid, LI, LF


def unpack_env(env, S: np.ndarray, F: np.ndarray, LI: np.ndarray, LF: np.ndarray, steps: int) -> None:
    """Write the kernel's final state back into ``env`` (``steps``: the loop's steps until all rows
    finished), leaving it as the numpy loop leaves it."""
    kind = ENVIRONMENTS[type(env)]
    if kind == SEASON:
        env.eaten[:] = LF
        env.right_count[:] = S[:, SE_RIGHT]
        env.scored_count[:] = S[:, SE_SCORED]
        env.t = env.t + steps
        env.active = env.t < env.length
        feedback = F.copy()
        # the numpy loop clears every row's feedback at each decision step, the finished rows' too
        spf, dec = env.task.steps_per_food, env.task.decision_step
        if env.t > dec:
            last = (env.t - 1 - dec) // spf * spf + dec  # the last decision step the loop ran
            feedback[env.length <= last] = 0.0
        env.feedback[:] = feedback
        return
    env.goal_log[:] = LI
    env.active[:] = S[:, TM_ACTIVE] != 0
    env.round[:] = S[:, TM_ROUND]
    env.rewarding[:] = S[:, TM_REWARDING] != 0
    env.known[:] = S[:, TM_KNOWN]
    env.tried[:] = (S[:, TM_TRIED][:, None] >> np.arange(env.tried.shape[1])) & 1 != 0
    env.right[:] = S[:, TM_RIGHT]
    env.reached[:] = S[:, TM_REACHED]
    env.reward[:] = F[:, 0]
    if kind == TMAZE_DISCRETE:
        env.depth[:] = S[:, TM_DEPTH]
        env.path[:] = S[:, TM_PATH]
    elif kind == TMAZE_CONTINUOUS:
        env.ix[:], env.iy[:], env.heading[:], env.moves[:] = (S[:, TM_IX], S[:, TM_IY], S[:, TM_HEADING],
                                                              S[:, TM_MOVES])
    else:
        env.x[:], env.y[:], env.angle[:], env.moves[:] = F[:, F_X], F[:, F_Y], F[:, F_ANGLE], S[:, TM_MOVES]


# -- the steering agent's geometry (entm.tasks.maze) --------------------------------------

@njit(cache=True, error_model="numpy")
def tile_of(grid, x, y):
    """The tile (x, y) of a real point, clipped to the map (``SteeringMazeEnv._tiles``)."""
    W, H = grid.shape[2], grid.shape[1]
    return int(min(max(np.floor(x), 0.0), W - 1)), int(min(max(np.floor(y), 0.0), H - 1))


@njit(cache=True, error_model="numpy")
def _in_wall(grid, x, y):
    """``entm.tasks.maze._is_wall`` for one point: outside the map counts as wall."""
    W, H = grid.shape[2], grid.shape[1]
    tx, ty = int(np.floor(x)), int(np.floor(y))
    return tx < 0 or tx >= W or ty < 0 or ty >= H or grid[0, ty, tx] != 0


@njit(cache=True, error_model="numpy")
def ray_distance(grid, x, y, dx, dy, cutoff):
    """``entm.tasks.maze._distances`` for one point and unit direction: the same candidate distances
    (0 and the crossings of the tile boundaries within floor(p) - int(cutoff) - 2 ... + int(cutoff) + 2 on
    either axis, the axis skipped where the direction is parallel to it), computed by the same float64
    operations, the nearest one whose point just past it lies in a wall, capped at ``cutoff``.

    An axis's candidates are visited nearest first (t = (floor(p) + k - p) / d grows with k when d > 0
    and falls when d < 0; the float operations keep that order), so the scan stops at its first wall or
    past ``cutoff`` or the other axis's hit: the same minimum with a fraction of the wall look-ups."""
    eps = 1e-9
    if _in_wall(grid, x + (0.0 + eps) * dx, y + (0.0 + eps) * dy):
        return min(0.0, cutoff)
    best = np.inf
    n = int(cutoff)
    for axis in range(2):
        p = x if axis == 0 else y
        d = dx if axis == 0 else dy
        if d == 0:
            continue
        fl = np.floor(p)
        # the first candidate not behind the point: t >= 0 exactly when floor(p) + k - p has d's sign
        # (or is 0), which the rounding of that difference keeps
        if d > 0:
            step, k, last = 1, (0 if p == fl else 1), n + 2
        else:
            step, k, last = -1, 0, -n - 2
        for _ in range(abs(last - k) + 1):
            t = (fl + k - p) / d
            k += step
            if t > cutoff or t >= best:  # +inf included: every later candidate is farther
                break
            if _in_wall(grid, x + (t + eps) * dx, y + (t + eps) * dy):
                best = t
                break
    return min(best, cutoff)


@njit(cache=True, error_model="numpy")
def _argmax3(Y, j):
    """The argmax of (left, straight, right) = ``Y[:3, j]``, the first on a tie (``np.argmax``)."""
    o = 0
    m = Y[0, j]
    if Y[1, j] > m:
        o = 1
        m = Y[1, j]
    if Y[2, j] > m:
        o = 2
    return o


# -- the compiled step ---------------------------------------------------------------
# One call steps every running row (numba increments an array's reference count, atomically, each time
# it is passed to a function: a call per row would spend more on that than on the step itself).

@njit(cache=True, error_model="numpy")
def env_observe(ip, fp, S, F, D, sensors, grid, rid, nb, base, V):
    """The task inputs of this step of rows ``base + rid[j]`` (deployment ``rid[j]``), j < ``nb``, into
    ``V[:, j]`` (the first input slots)."""
    kind = ip[P_KIND]
    if kind == TMAZE_DISCRETE:
        depth = ip[P_DEPTH]
        for j in range(nb):
            r = base + rid[j]
            for d in range(depth):
                V[d, j] = 0.0
            if S[r, TM_REWARDING] == 0 and S[r, TM_ACTIVE] != 0:
                V[S[r, TM_DEPTH], j] = 1.0
            V[depth, j] = F[r, 0]
    elif kind == TMAZE_CONTINUOUS:
        scale = ip[P_SCALE]
        for j in range(nb):
            r = base + rid[j]
            ix, iy, h = S[r, TM_IX], S[r, TM_IY], S[r, TM_HEADING]
            for s in range(3):
                V[s, j] = sensors[ix, iy, h, s]
            V[3, j] = F[r, 0]
            if ip[P_JUNCTION] != 0:
                junction = grid[2, iy // scale, ix // scale] != 0 and S[r, TM_REWARDING] == 0
                V[4, j] = 1.0 if junction else 0.0
    elif kind == TMAZE_STEERING:  # entm.tasks.tmaze.SteeringMazeEnv.observe
        cutoff = fp[FP_CUTOFF]
        for j in range(nb):
            r = base + rid[j]
            x, y, angle = F[r, F_X], F[r, F_Y], F[r, F_ANGLE]
            for s in range(3):  # left, ahead, right
                a = angle + (np.pi / 4 if s == 0 else 0.0 if s == 1 else -np.pi / 4)
                V[s, j] = ray_distance(grid, x, y, np.cos(a), -np.sin(a), cutoff) / cutoff
            V[3, j] = F[r, F_REWARD]
            if ip[P_JUNCTION] != 0:
                tx, ty = tile_of(grid, x, y)
                V[4, j] = 1.0 if grid[2, ty, tx] != 0 and S[r, TM_REWARDING] == 0 else 0.0
    else:
        foods, spf, items = ip[P_FOODS], ip[P_SPF], ip[P_ITEMS]
        for j in range(nb):
            b = rid[j]
            r = base + b
            t = S[r, SE_T]
            for f in range(foods + 2):
                V[f, j] = 0.0
            if S[r, SE_ACTIVE] != 0:
                V[D[b, min(t // spf, items - 1)], j] = 1.0
            if t % spf > ip[P_DECISION]:
                V[foods, j] = F[r, 0]
                V[foods + 1, j] = F[r, 1]


@njit(cache=True, error_model="numpy")
def season_reads(ip, S, D, rid, nb, base, reads, sums, KR, g, DR):
    """The season task's reads (before :func:`env_act`), as :meth:`entm.tasks.season.SeasonEnv.see_reads`
    takes them: with ``sums`` (the memory term), rows ``base + rid[j]`` at a scored decision add the reads
    they saw (``reads[rid[j]]``) to ``KR[row, poison]`` and count it in its last column; at every decision
    of genome ``g``'s first ``DR.shape[1]`` deployments the reads go to ``DR[g, deployment, item]``."""
    spf, dec, n = ip[P_SPF], ip[P_DECISION], ip[P_ITEMS]
    R = reads.shape[1]
    first = DR.shape[1]
    for j in range(nb):
        b = rid[j]
        r = base + b
        t = S[r, SE_T]
        if t % spf != dec:
            continue
        if b < first:
            for i in range(R):
                DR[g, b, t // spf, i] = reads[b, i]
        if sums and D[b, 2 * n + t // spf] != 0:
            p = 1 if D[b, n + t // spf] != 0 else 0
            for i in range(R):
                KR[r, p, i] += reads[b, i]
            KR[r, p, R] += 1.0


@njit(cache=True, error_model="numpy")
def env_act(ip, fp, S, F, D, grid, headings, rid, nb, base, Y, ended, goals, LI, LF):
    """Rows ``base + rid[j]``, j < ``nb``, consume their task outputs ``Y[:, j]`` (finite) and advance one
    step; ``ended``, ``goals`` (nb,) are scratch for the T-maze's rounds that end; the T-maze's goal of
    each round goes to ``LI[row, round]``, the season task's decision of each item to ``LF[row, item]``."""
    kind = ip[P_KIND]
    if kind == SEASON:
        spf, dec, n = ip[P_SPF], ip[P_DECISION], ip[P_ITEMS]
        for j in range(nb):
            b = rid[j]
            r = base + b
            t = S[r, SE_T]
            if t % spf == dec:
                item = t // spf
                y = Y[0, j]
                ate = y > fp[FP_EAT]
                avoided = y < fp[FP_AVOID]
                poison = D[b, n + item] != 0
                scored = D[b, 2 * n + item] != 0
                right = (ate and not poison) or (avoided and poison)
                if right and scored:
                    S[r, SE_RIGHT] += 1
                if scored:
                    S[r, SE_SCORED] += 1
                if ip[P_FEEDBACK] == 1:  # "right": reward after a right decision, punishment after a wrong one
                    F[r, 0] = 1.0 if right else 0.0
                    F[r, 1] = 0.0 if right else 1.0
                else:  # "eaten": after eating good food, after eating poison
                    F[r, 0] = 1.0 if ate and not poison else 0.0
                    F[r, 1] = 1.0 if ate and poison else 0.0
                LF[r, item] = y
            S[r, SE_T] = t + 1
            S[r, SE_ACTIVE] = 1 if t + 1 < S[r, SE_LENGTH] else 0
        return
    n_ended = 0
    scale = ip[P_SCALE]
    H, W = grid.shape[1], grid.shape[2]
    for j in range(nb):
        r = base + rid[j]
        if S[r, TM_REWARDING] != 0:  # the reward step: on to the next round, or finished
            S[r, TM_REWARDING] = 0
            F[r, 0] = 0.0
            S[r, TM_ROUND] += 1
            S[r, TM_ACTIVE] = 1 if S[r, TM_ROUND] < ip[P_ROUNDS] else 0
            if kind == TMAZE_DISCRETE:
                S[r, TM_DEPTH] = 0
                S[r, TM_PATH] = 0
            elif kind == TMAZE_STEERING:
                F[r, F_X] = fp[FP_START_X]
                F[r, F_Y] = fp[FP_START_Y]
                F[r, F_ANGLE] = np.pi / 2
                S[r, TM_MOVES] = 0
            else:
                S[r, TM_IX] = ip[P_START_X]
                S[r, TM_IY] = ip[P_START_Y]
                S[r, TM_HEADING] = 0
                S[r, TM_MOVES] = 0
            continue
        if kind == TMAZE_DISCRETE:
            S[r, TM_PATH] = 2 * S[r, TM_PATH] + (1 if Y[1, j] > Y[0, j] else 0)
            S[r, TM_DEPTH] += 1
            if S[r, TM_DEPTH] == ip[P_DEPTH]:
                ended[n_ended] = j
                goals[n_ended] = S[r, TM_PATH]
                n_ended += 1
            continue
        if kind == TMAZE_STEERING:  # entm.tasks.tmaze.SteeringMazeEnv.act
            if ip[P_ARGMAX] != 0:
                o = _argmax3(Y, j)
                a = F[r, F_ANGLE] + (1 - o) * fp[FP_STEER_MAX]
            else:
                a = F[r, F_ANGLE] + (2 * Y[0, j] - 1) * fp[FP_STEER_MAX]
            F[r, F_ANGLE] = a
            fx = F[r, F_X] + 0.1 * np.cos(a)
            fy = F[r, F_Y] - 0.1 * np.sin(a)  # y grows southwards
            inside = fx >= 0 and fx < W and fy >= 0 and fy < H
            txc, tyc = tile_of(grid, fx, fy)
            crash = not inside or grid[0, tyc, txc] != 0
            if not crash:
                F[r, F_X] = fx
                F[r, F_Y] = fy
        else:
            h = (S[r, TM_HEADING] + _argmax3(Y, j) + 3) % 4
            S[r, TM_HEADING] = h
            nx = S[r, TM_IX] + headings[h, 0]
            ny = S[r, TM_IY] + headings[h, 1]
            tx, ty = nx // scale, ny // scale
            inside = tx >= 0 and tx < W and ty >= 0 and ty < H
            txc, tyc = min(max(tx, 0), W - 1), min(max(ty, 0), H - 1)
            crash = not inside or grid[0, tyc, txc] != 0
            if not crash:
                S[r, TM_IX] = nx
                S[r, TM_IY] = ny
        S[r, TM_MOVES] += 1
        goal = -1 if crash else grid[1, tyc, txc]
        if crash or goal >= 0 or S[r, TM_MOVES] >= ip[P_MAX_STEPS]:
            ended[n_ended] = j
            goals[n_ended] = goal
            n_ended += 1
    everything = (1 << (1 << ip[P_DEPTH])) - 1
    for q in range(n_ended):  # entm.tasks.tmaze.MazeEnv.end_round: score, reward, the ideal agent's knowledge
        b = rid[ended[q]]
        r = base + b
        goal = goals[q]
        known = S[r, TM_KNOWN]
        tried = S[r, TM_TRIED]
        at_goal = goal >= 0
        g = goal if at_goal else 0
        untried = (tried >> g) & 1 == 0
        right = at_goal and (goal == known if known >= 0 else untried)
        high = D[b, S[r, TM_ROUND]]
        got_high = at_goal and goal == high
        F[r, 0] = fp[FP_HIGH] if got_high else (fp[FP_LOW] if at_goal else 0.0)
        LI[r, S[r, TM_ROUND]] = goal
        if right:
            S[r, TM_RIGHT] += 1
        if at_goal:
            S[r, TM_REACHED] += 1
        moved = at_goal and not got_high and known >= 0 and goal == known
        if got_high:
            S[r, TM_KNOWN] = goal
        elif moved:
            S[r, TM_KNOWN] = -1
        if moved:
            tried = 0
        if at_goal and not got_high:
            tried |= 1 << g
        if tried == everything:  # every goal tried without the high reward: search again
            tried = 1 << g
        S[r, TM_TRIED] = tried
        S[r, TM_REWARDING] = 1

"""Running a task's curriculum (:mod:`entm.tasks.curriculum`) in the evolution loop.

A run whose task has a ``curriculum`` starts at stage 0; after every
generation, while the run is short of the last stage, :class:`CurriculumReporter`
looks at the generation's evaluation: when its best genome is perfect on at
least the schedule's ``advance`` share of the generation's episodes, or the
stage has had the schedule's ``after`` generations, the next generation is
drawn from the next stage.  With the schedule's ``restart`` instead, a stage
short of the last that has had that many generations sends the run back to the
first stage: the next generation is a new random population (as
``--restart-every`` makes one, :func:`entm.evolution.restart.restart_population`)
evaluated at stage 0.  The stage is part of the loop's state
(:class:`~entm.evolution.reporters.LoopState` ``curriculum``: the stage, the
generations at which each stage was left, and after a restart the generation the
curriculum started again at, ``start``), so checkpoints hold it and a resumed
run goes on exactly as an uninterrupted one; ``metrics.jsonl`` records the stage
each generation was evaluated at (``stage``), and the champion the stage it was
chosen at.  The champion of a stage the run leaves stays in the run directory
as ``champion-stage-K.json`` (K counted from 1, as the progress bar counts
stages): the next stage starts its champion afresh, and without the file what
an easier stage found (a two-vector memory on the way to three, say) would be
lost with it (after a restart they stay until the new pass leaves those stages
in its turn).  Its ``task_params`` are the stage's, so ``entm evaluate FILE``
measures it on the episodes it was evolved on (the run's are kept beside them,
``run_task_params``).

What a stage changes for the rest of the loop:

* the evaluator draws the stage's episodes (:meth:`Stages.retarget`: the
  evaluator's task parameters become the stage's);
* the champion is the fittest genome of the current stage: a new stage starts
  the comparison afresh (fitness on an easier stage is no measure on a harder one);
* the solved check needs the last stage, the full task (a genome perfect on an
  easier stage is not a solution), and validates on the full task's batch;
* neat-python's ``fitness_threshold`` stops a run only at the last stage;
* novelty search's archive starts afresh (:meth:`NoveltySearch.reset`: an empty
  archive, its first threshold, the best score): a stage changes the behaviours
  (the reads descriptor's length with the item size, the outputs with the
  lengths), so the last stage's archive is no measure of what is new in this
  one; the phase and the generation count are the run's.
"""

from __future__ import annotations

from pathlib import Path

from neat.reporting import BaseReporter

from entm.evolution.reporters import submit_write, write_champion
from entm.tasks.curriculum import Schedule, describe

STAGE_CHAMPION = "champion-stage-{}.json"
"""The champion of a stage the run has left, in the run directory (the stage counted from 1)."""


def stage_champion_name(stage: int) -> str:
    """The file, in the run directory, of the champion of 0-based ``stage`` once the run has left it."""
    return STAGE_CHAMPION.format(stage + 1)


def stage_files(curriculum: dict) -> int:
    """How many stage champion files the run has written (stages left in this pass, or in an earlier one
    a restart ended: those files stay)."""
    return max(len(curriculum.get("left", [])), curriculum.get("kept", 0))


def rewind_stage_champions(run_dir, state) -> None:
    """A resume from a checkpoint: remove the files of stages not yet left then (the run writes them again,
    the same, when it leaves them: a run is a function of its settings)."""
    left = stage_files(state.curriculum or {})
    for path in Path(run_dir).glob(STAGE_CHAMPION.format("*")):
        number = path.stem.rsplit("-", 1)[-1]
        if number.isdigit() and int(number) > left:
            path.unlink()


class Stages:
    """The run's position in its curriculum, kept in ``state.curriculum`` ({"stage", "left"})."""

    def __init__(self, task, schedule: Schedule, state, config, search=None):
        """``search``: the run's search object (novelty search, lexicase; None: the objective), reset when a
        stage is left."""
        self.task, self.schedule, self.state, self.config = task, schedule, state, config
        self.search = search
        if state.curriculum is None:
            state.curriculum = {"stage": 0, "left": []}
        self.threshold_stop = not config.no_fitness_termination
        self.target = None  # the stage the evaluator was last pointed at

    @property
    def stage(self) -> int:
        return int(self.state.curriculum["stage"])

    @property
    def last(self) -> int:
        """The last stage (0-based): the full task."""
        return len(self.schedule.stages) - 1

    @property
    def final(self) -> bool:
        return self.stage == self.last

    def task_params(self, stage: int | None = None) -> dict:
        """The task parameters of the current stage, or of 0-based ``stage`` (the full task's at the last)."""
        stage = self.stage if stage is None else stage
        if stage == self.last:
            return self.task.params()
        return self.task.stage_task(self.schedule.stages[stage]).params()

    def label(self) -> str:
        """E.g. ``stage 2/5 (max_items=3)``."""
        return f"stage {self.stage + 1}/{len(self.schedule.stages)} ({describe(self.schedule)[self.stage]})"

    def retarget(self, evaluator) -> None:
        """Point the evaluator at the current stage (if it is not yet), and let neat-python's fitness
        threshold stop the run only at the last stage."""
        if self.target != self.stage:
            evaluator.retarget(task_params=dict(self.task_params()))
            self.target = self.stage
        self.config.no_fitness_termination = not (self.final and self.threshold_stop)

    def advance(self, evaluation) -> bool:
        """After a generation: move to the next stage when its best genome met the criterion, or when the
        stage has had the schedule's ``after`` generations; or, with the schedule's ``restart``, when the
        stage has had that many, mark the next generation to start the curriculum again (False: no stage
        was left)."""
        if self.final:
            return False
        curriculum = self.state.curriculum
        left = curriculum["left"]
        generation = int(evaluation.generation)
        best = max(r.perfect for r in evaluation.results.values())
        spent = generation - (left[-1] + 1 if left else curriculum.get("start", 0)) + 1
        limit = self.schedule.after or self.schedule.restart
        if best < self.schedule.advance and (limit is None or spent < limit):
            return False
        if best < self.schedule.advance and self.schedule.restart:
            self.state.curriculum = {"stage": 0, "left": [], "start": generation + 1,
                                     "kept": stage_files(curriculum)}
            self._afresh()
            return False
        self.state.curriculum = {**curriculum, "stage": self.stage + 1, "left": [*left, generation]}
        self._afresh()
        return True

    def _afresh(self) -> None:
        # the champion is compared within a stage: the next stage's first generation sets it afresh
        self.state.champion_fitness = None
        if self.search is not None:
            self.search.reset()

    def restart_due(self, generation: int) -> bool:
        """Whether ``generation`` is the first of a curriculum started again by ``restart`` and its new
        population is not made yet (a run resumed from the checkpoint before it makes it the same way)."""
        return (self.state.curriculum.get("start") == generation and self.stage == 0
                and generation not in (self.state.restarts or []))


class CurriculumReporter(BaseReporter):
    """The curriculum's step of a generation (after the champion and the metrics line); the champion of a
    stage left goes to :func:`stage_champion_name` through ``writer`` (the run's writer; None: at once)."""

    def __init__(self, evaluate, stages: Stages, run_dir=None, writer=None):
        self.evaluate, self.stages, self.run_dir, self.writer = evaluate, stages, run_dir, writer

    def post_evaluate(self, config, population, species, best_genome):
        stage, champion = self.stages.stage, self.stages.state.champion_json
        if self.stages.advance(self.evaluate.latest) and champion is not None and self.run_dir is not None:
            submit_write(self.writer, write_champion, self.run_dir, self.stage_champion(champion, stage),
                         stage_champion_name(stage))

    def stage_champion(self, champion: dict, stage: int) -> dict:
        """The champion chosen at ``stage`` as its file keeps it: its ``task_params`` are the stage's (what it
        was evolved and chosen on, so ``entm evaluate FILE`` measures it there), the run's full task's are
        in ``run_task_params``."""
        meta = champion["metadata"]["entm"]
        return {**champion, "metadata": {**champion["metadata"], "entm": {
            **meta, "task_params": self.stages.task_params(stage), "run_task_params": meta["task_params"]}}}
